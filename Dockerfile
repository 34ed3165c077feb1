# syntax=docker/dockerfile:1
# scimflow's production image: serve, worker, migrate and the operator
# commands in one static binary, built with -tags nodev so that it carries
# neither the embedded dev Temporal server nor its web UI (`dev` refuses
# to start in it). The runtime image has no shell, no package manager and
# runs as an unprivileged user; container health checks run
# `/scimflow healthcheck [serve|worker]` (see docker-compose.yml).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags nodev -ldflags="-s -w" -o /out/scimflow ./cmd/scimflow

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimflow /scimflow
USER nonroot:nonroot
# 8080: serve's API and admin UI (SCIMFLOW_HTTP_ADDR); 9090: the worker's
# /healthz, /readyz and /metrics (SCIMFLOW_OPS_ADDR).
EXPOSE 8080 9090
ENTRYPOINT ["/scimflow"]
CMD ["serve"]

# Shortcuts; the README's commands work without make too.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: dev test lint bench fuzz

dev:
	go run ./cmd/scimflow dev

test:
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) go test ./...

lint:
	gofmt -l . | (! grep .) && go vet ./... && go vet -tags nodev ./cmd/... && go mod tidy -diff
	go run honnef.co/go/tools/cmd/staticcheck@latest ./...
	go run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...

bench:
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) go test -run '^$$' -bench . -benchtime 3x -timeout 60m ./...

fuzz:
	go test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/scim/filter

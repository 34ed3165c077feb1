-- +goose Up
-- Provisioning health, recorded cheaply: the API adds up each SCIM token's
-- requests and errors in memory and adds them here every few seconds, one
-- row per token and hour (an upsert), never a row per request.
CREATE TABLE scim_traffic (
    token_id text NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    hour     datetime NOT NULL,
    org_id   text NOT NULL,
    requests integer NOT NULL DEFAULT 0,
    errors   integer NOT NULL DEFAULT 0,
    last_at  datetime NOT NULL,
    PRIMARY KEY (token_id, hour)
);
CREATE INDEX scim_traffic_org ON scim_traffic (org_id, hour);

-- The latest failed SCIM requests of each token: a ring of a few slots per
-- token (slot = seq modulo its size), overwritten in place, so it never
-- grows.
CREATE TABLE scim_failures (
    token_id  text NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    slot      integer NOT NULL,
    seq       integer NOT NULL,
    org_id    text NOT NULL,
    at        datetime NOT NULL,
    method    text NOT NULL,
    path      text NOT NULL,
    status    integer NOT NULL,
    scim_type text NOT NULL DEFAULT '',
    detail    text NOT NULL DEFAULT '',
    PRIMARY KEY (token_id, slot)
);

-- The recalculations page lists an org's latest recalculations.
CREATE INDEX recalculations_org_created ON recalculations (org_id, created_at);

-- +goose Down
DROP INDEX recalculations_org_created;
DROP TABLE scim_failures;
DROP TABLE scim_traffic;

-- +goose Up
CREATE TABLE groups (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    display_name text NOT NULL,
    external_id  text,
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX groups_org_display_name ON groups (org_id, lower(display_name));
CREATE UNIQUE INDEX groups_org_external_id ON groups (org_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_org_created ON groups (org_id, created_at, id);

-- One row per (group, user): membership changes are per-member inserts and
-- deletes, never a rewrite of the whole list.
CREATE TABLE group_members (
    group_id   text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- recalc_outbox records, in the same transaction as the change, every user
-- whose effective permissions may have changed (membership added or
-- removed, user (de)activated or deleted, group deleted). The
-- recalculation engine consumes it in id order; duplicates are coalesced
-- there. No foreign key: a deleted user still needs their rows cleaned.
CREATE TABLE recalc_outbox (
    id         bigserial PRIMARY KEY,
    org_id     text NOT NULL,
    user_id    text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX recalc_outbox_org ON recalc_outbox (org_id, id);

-- +goose Down
DROP TABLE recalc_outbox;
DROP TABLE group_members;
DROP TABLE groups;

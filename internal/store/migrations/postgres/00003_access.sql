-- +goose Up
-- The entry point roles, ordered: each includes every permission of the
-- roles below it. rank orders them; the SQL takes max(rank).
CREATE TABLE roles (
    name text PRIMARY KEY,
    rank integer NOT NULL UNIQUE
);
INSERT INTO roles (name, rank) VALUES
    ('viewer', 1), ('contributor', 2), ('reporter', 3), ('approver', 4), ('admin', 5);

CREATE TABLE entry_points (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX entry_points_org_name ON entry_points (org_id, lower(name));

-- A group's mappings: (group, entry point, role). Keyed by the group's id,
-- so renaming a group changes nothing and a new group of the same name
-- inherits nothing.
CREATE TABLE group_mappings (
    group_id       text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    entry_point_id text NOT NULL REFERENCES entry_points (id) ON DELETE CASCADE,
    role           text NOT NULL REFERENCES roles (name),
    PRIMARY KEY (group_id, entry_point_id)
);
CREATE INDEX group_mappings_entry_point ON group_mappings (entry_point_id);

-- Bumped in the same transaction as every mapping change: the
-- recalculation engine coalesces on it.
ALTER TABLE groups ADD COLUMN mapping_version bigint NOT NULL DEFAULT 0;

-- The materialised effective role of each (user, entry point): the highest
-- mapped role over the groups the user is an active member of.
CREATE TABLE effective_roles (
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entry_point_id text NOT NULL REFERENCES entry_points (id) ON DELETE CASCADE,
    org_id         text NOT NULL,
    role           text NOT NULL REFERENCES roles (name),
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, entry_point_id)
);
CREATE INDEX effective_roles_entry_point ON effective_roles (entry_point_id, user_id);

-- One row per "Update Group" (and per other recalculation request).
CREATE TABLE recalculations (
    id                   text PRIMARY KEY,
    org_id               text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    group_id             text,
    kind                 text NOT NULL,
    status               text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    mapping_version      bigint NOT NULL DEFAULT 0,
    -- entry points whose roles may change: old mapping ∪ new mapping (JSON array)
    entry_points         text NOT NULL DEFAULT '[]',
    total                bigint NOT NULL DEFAULT 0,
    processed            bigint NOT NULL DEFAULT 0,
    changed              bigint NOT NULL DEFAULT 0,
    error                text NOT NULL DEFAULT '',
    workflow_id          text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    started_at           timestamptz,
    finished_at          timestamptz
);
CREATE INDEX recalculations_group ON recalculations (org_id, group_id, created_at);
CREATE INDEX recalculations_status ON recalculations (status, created_at);

-- +goose Down
DROP TABLE recalculations;
DROP TABLE effective_roles;
ALTER TABLE groups DROP COLUMN mapping_version;
DROP TABLE group_mappings;
DROP TABLE entry_points;
DROP TABLE roles;

-- +goose Up
-- The audit trail: one row per change that can move access or trust,
-- written in the transaction of the change. No foreign keys to the
-- targets: an event outlives the user, group or token it is about.
CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    org_id      text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    time        timestamptz NOT NULL,
    type        text NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL DEFAULT '',
    actor_name  text NOT NULL DEFAULT '',
    target_type text NOT NULL,
    target_id   text NOT NULL,
    target_name text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'
);
-- Newest first per org, and the filters of GET /api/v1/audit-events.
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_org_type ON audit_events (org_id, type, id);
CREATE INDEX audit_events_target ON audit_events (org_id, target_id, id);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, id);
-- Retention prunes by time.
CREATE INDEX audit_events_time ON audit_events (time);

-- Every mapping a group has had, numbered by its mapping version: what
-- History lists and Restore reapplies.
CREATE TABLE group_mapping_versions (
    group_id     text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    version      bigint NOT NULL,
    org_id       text NOT NULL,
    created_at   timestamptz NOT NULL,
    actor_type   text NOT NULL,
    actor_id     text NOT NULL DEFAULT '',
    actor_name   text NOT NULL DEFAULT '',
    -- [{"id", "name", "role"}], the entry point names as they were then
    entry_points jsonb NOT NULL,
    PRIMARY KEY (group_id, version)
);

-- The mappings groups have now are their first recorded version.
INSERT INTO group_mapping_versions (group_id, version, org_id, created_at, actor_type, actor_name, entry_points)
SELECT g.id, g.mapping_version, g.org_id, g.updated_at, 'system', 'scimflow',
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name, 'role', m.role) ORDER BY lower(e.name), e.id)
                 FROM group_mappings m JOIN entry_points e ON e.id = m.entry_point_id
                 WHERE m.group_id = g.id), '[]'::jsonb)
FROM groups g WHERE g.mapping_version > 0;

-- +goose Down
DROP TABLE group_mapping_versions;
DROP TABLE audit_events;

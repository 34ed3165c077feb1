-- +goose Up
-- The audit trail: one row per change that can move access or trust,
-- written in the transaction of the change. No foreign keys to the
-- targets: an event outlives the user, group or token it is about.
CREATE TABLE audit_events (
    id          integer PRIMARY KEY AUTOINCREMENT,
    org_id      text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    time        datetime NOT NULL,
    type        text NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL DEFAULT '',
    actor_name  text NOT NULL DEFAULT '',
    target_type text NOT NULL,
    target_id   text NOT NULL,
    target_name text NOT NULL DEFAULT '',
    details     text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_org_type ON audit_events (org_id, type, id);
CREATE INDEX audit_events_target ON audit_events (org_id, target_id, id);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, id);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TABLE group_mapping_versions (
    group_id     text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    org_id       text NOT NULL,
    created_at   datetime NOT NULL,
    actor_type   text NOT NULL,
    actor_id     text NOT NULL DEFAULT '',
    actor_name   text NOT NULL DEFAULT '',
    entry_points text NOT NULL,
    PRIMARY KEY (group_id, version)
);

INSERT INTO group_mapping_versions (group_id, version, org_id, created_at, actor_type, actor_name, entry_points)
SELECT g.id, g.mapping_version, g.org_id, g.updated_at, 'system', 'scimflow',
       (SELECT coalesce(json_group_array(json_object('id', x.id, 'name', x.name, 'role', x.role)), '[]')
        FROM (SELECT e.id, e.name, m.role FROM group_mappings m JOIN entry_points e ON e.id = m.entry_point_id
              WHERE m.group_id = g.id ORDER BY lower(e.name), e.id) x)
FROM groups g WHERE g.mapping_version > 0;

-- +goose Down
DROP TABLE group_mapping_versions;
DROP TABLE audit_events;

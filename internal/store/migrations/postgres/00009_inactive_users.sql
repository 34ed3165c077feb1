-- +goose Up
-- Deactivated users of an org, found without reading the active ones: the
-- impact preview counts a group's members without joining users, then
-- takes off its deactivated members (usually few) found here.
CREATE INDEX users_inactive ON users (org_id, id) WHERE NOT active;

-- +goose Down
DROP INDEX users_inactive;

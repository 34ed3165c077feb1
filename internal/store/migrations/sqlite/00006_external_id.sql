-- +goose Up
-- externalId is the client's identifier and RFC 7643 §3.1 gives it no
-- uniqueness: real directories reuse it (Entra ID's default mapping fills it
-- from mailNickname, which Entra does not keep unique). Users stay unique by
-- userName, groups by displayName. The unique indexes become plain ones, so
-- that `externalId eq` filters are still served by an index; no row changes.
DROP INDEX users_org_external_id;
CREATE INDEX users_org_external_id ON users (org_id, external_id) WHERE source = 'scim' AND external_id IS NOT NULL;
DROP INDEX groups_org_external_id;
CREATE INDEX groups_org_external_id ON groups (org_id, external_id) WHERE external_id IS NOT NULL;

-- +goose Down
-- Fails, changing nothing, when two users (or groups) of an org share an
-- externalId: going back must not delete either of them.
DROP INDEX groups_org_external_id;
CREATE UNIQUE INDEX groups_org_external_id ON groups (org_id, external_id) WHERE external_id IS NOT NULL;
DROP INDEX users_org_external_id;
CREATE UNIQUE INDEX users_org_external_id ON users (org_id, external_id) WHERE source = 'scim' AND external_id IS NOT NULL;

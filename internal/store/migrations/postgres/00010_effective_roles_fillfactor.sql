-- +goose Up
-- A recalculation rewrites the role of rows in effective_roles; role and
-- updated_at are in no index, so with room left on each page Postgres
-- updates the row in place (a HOT update) instead of adding an entry to
-- both indexes for every changed row. New pages keep 20 % free; existing
-- pages get the room as they are rewritten (VACUUM FULL or a rebuild).
ALTER TABLE effective_roles SET (fillfactor = 80);

-- +goose Down
ALTER TABLE effective_roles RESET (fillfactor);

-- +goose Up
-- Postgres only (page fill factor for in-place updates); nothing to do
-- in SQLite. Kept so both dialects share version numbers.
SELECT 1;

-- +goose Down
SELECT 1;

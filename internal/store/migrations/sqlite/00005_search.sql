-- +goose Up
-- SQLite has no trigram indexes: substring filters scan the org, as
-- before. The column keeps both dialects' users rows alike (see the
-- Postgres migration): every email value of a user, one per line.
ALTER TABLE users ADD COLUMN email_search text NOT NULL DEFAULT '';
UPDATE users SET email_search = COALESCE((
    SELECT group_concat(value, char(10)) FROM (
        SELECT value FROM user_values v
        WHERE v.user_id = users.id AND v.attr = 'emails' ORDER BY v.ord)), '');

-- +goose Down
ALTER TABLE users DROP COLUMN email_search;

-- +goose Up
-- Substring filters (co, sw, ew) on the attributes people search by, served
-- by trigram indexes (pg_trgm; btree_gin lets org_id share the index). Both
-- extensions are trusted: the database owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Every email value of a user, one per line: user_values has no org_id, so
-- an index there would find the matches of every org. Written with the
-- user's row (toUserRow); filters on it only narrow the candidates, the
-- exact test is still made on user_values.
ALTER TABLE users ADD COLUMN email_search text NOT NULL DEFAULT '';
UPDATE users u SET email_search = e.v
FROM (SELECT user_id, string_agg(value, E'\n' ORDER BY ord) AS v
      FROM user_values WHERE attr = 'emails' GROUP BY user_id) e
WHERE e.user_id = u.id;

-- The org comes first, so that a search reads its own org's matches only.
-- Its collation is "C" on purpose, and the index is not partial: a search
-- query compares org_id and source in collation "C", which no other index
-- serves, so that the planner cannot start from those, even on tables never
-- analyzed (see pinned in query.go).
-- fastupdate off: without autovacuum the pending list would only grow, and
-- every search would read it.
CREATE INDEX users_search ON users USING gin (
    org_id COLLATE "C",
    lower(user_name) gin_trgm_ops,
    lower(display_name) gin_trgm_ops,
    lower(name_formatted) gin_trgm_ops,
    lower(name_given_name) gin_trgm_ops,
    lower(name_family_name) gin_trgm_ops,
    lower(email_search) gin_trgm_ops
) WITH (fastupdate = off);

CREATE INDEX groups_search ON groups USING gin (
    org_id COLLATE "C",
    lower(display_name) gin_trgm_ops
) WITH (fastupdate = off);

-- +goose Down
DROP INDEX groups_search;
DROP INDEX users_search;
ALTER TABLE users DROP COLUMN email_search;

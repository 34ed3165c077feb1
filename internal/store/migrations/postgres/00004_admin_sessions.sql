-- +goose Up
-- Admin UI sessions. A session is bound to the admin token it was opened
-- with: revoking or expiring that token ends the session (the lookup joins
-- api_tokens), and deleting it (sign-out) ends it at once. Only a SHA-256
-- of the session secret is stored, as for tokens.
CREATE TABLE admin_sessions (
    secret_hash text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    token_id    text NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX admin_sessions_token ON admin_sessions (token_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- +goose Down
DROP TABLE admin_sessions;

-- +goose Up
CREATE TABLE orgs (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    plan        text NOT NULL CHECK (plan IN ('free', 'business', 'enterprise')),
    scim_groups boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- users holds both SCIM-provisioned users (source 'scim') and users created
-- locally to bootstrap an org (source 'local', e.g. its first Org Admin).
-- SCIM endpoints only ever see source = 'scim'.
CREATE TABLE users (
    id                    text PRIMARY KEY,
    org_id                text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    source                text NOT NULL CHECK (source IN ('scim', 'local')),
    org_role              text NOT NULL DEFAULT 'member' CHECK (org_role IN ('member', 'org_admin')),
    user_name             text NOT NULL,
    external_id           text,
    active                boolean NOT NULL DEFAULT true,
    display_name          text NOT NULL DEFAULT '',
    nick_name             text NOT NULL DEFAULT '',
    profile_url           text NOT NULL DEFAULT '',
    title                 text NOT NULL DEFAULT '',
    user_type             text NOT NULL DEFAULT '',
    preferred_language    text NOT NULL DEFAULT '',
    locale                text NOT NULL DEFAULT '',
    timezone              text NOT NULL DEFAULT '',
    name_formatted        text NOT NULL DEFAULT '',
    name_family_name      text NOT NULL DEFAULT '',
    name_given_name       text NOT NULL DEFAULT '',
    name_middle_name      text NOT NULL DEFAULT '',
    name_honorific_prefix text NOT NULL DEFAULT '',
    name_honorific_suffix text NOT NULL DEFAULT '',
    enterprise            boolean NOT NULL DEFAULT false,
    employee_number       text NOT NULL DEFAULT '',
    cost_center           text NOT NULL DEFAULT '',
    organization          text NOT NULL DEFAULT '',
    division              text NOT NULL DEFAULT '',
    department            text NOT NULL DEFAULT '',
    manager_value         text NOT NULL DEFAULT '',
    manager_ref           text NOT NULL DEFAULT '',
    manager_display_name  text NOT NULL DEFAULT '',
    version               bigint NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

-- userName is unique per org, case-insensitively (RFC 7643 §4.1.1); the
-- same expression serves `userName eq` lookups.
CREATE UNIQUE INDEX users_org_user_name ON users (org_id, lower(user_name)) WHERE source = 'scim';
CREATE UNIQUE INDEX users_org_external_id ON users (org_id, external_id) WHERE source = 'scim' AND external_id IS NOT NULL;
CREATE INDEX users_org_created ON users (org_id, created_at, id);

-- user_values holds the multi-valued attributes of a user (emails,
-- phoneNumbers, ims, photos, addresses, entitlements, roles,
-- x509Certificates), one row per element, so filters on them are SQL.
CREATE TABLE user_values (
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attr           text NOT NULL,
    ord            integer NOT NULL,
    value          text NOT NULL DEFAULT '',
    display        text NOT NULL DEFAULT '',
    type           text NOT NULL DEFAULT '',
    is_primary     boolean NOT NULL DEFAULT false,
    formatted      text NOT NULL DEFAULT '',
    street_address text NOT NULL DEFAULT '',
    locality       text NOT NULL DEFAULT '',
    region         text NOT NULL DEFAULT '',
    postal_code    text NOT NULL DEFAULT '',
    country        text NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, attr, ord)
);
-- A prefix: values such as x509Certificates can exceed what an index entry
-- holds. Equality filters compare the prefix first, then the whole value.
CREATE INDEX user_values_attr_value ON user_values (attr, lower(substr(value, 1, 200)));

CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      text REFERENCES users (id) ON DELETE CASCADE,
    scope        text NOT NULL CHECK (scope IN ('scim', 'admin')),
    name         text NOT NULL DEFAULT '',
    -- SHA-256 of the secret: tokens are 256-bit random, so a plain hash is
    -- enough and allows an indexed lookup.
    secret_hash  text NOT NULL UNIQUE,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX api_tokens_org ON api_tokens (org_id, scope);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE user_values;
DROP TABLE users;
DROP TABLE orgs;

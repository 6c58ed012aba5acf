-- Initial schema. Timestamps are ISO-8601 UTC strings ("2026-11-28T23:48:53Z").
-- Text that SCIM compares case-insensitively (userName, emails, displayName) is declared
-- COLLATE NOCASE so that `=` and the unique indexes fold case and the indexes stay usable.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,                 -- UUID, the SCIM id
    user_name     TEXT NOT NULL COLLATE NOCASE,     -- SCIM userName (an email, per the seed)
    external_id   TEXT,                             -- SCIM externalId (caseExact)
    email         TEXT COLLATE NOCASE,              -- primary email, else first, else userName
    given_name    TEXT,
    family_name   TEXT,
    display_name  TEXT,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),  -- 0 = suspended
    oidc_sub      TEXT,                             -- OpenID Connect subject once seen
    source        TEXT NOT NULL DEFAULT 'scim' CHECK (source IN ('scim', 'jit', 'cli')),
    resource      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(resource)),  -- SCIM payload kept
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1        -- bumped on every change; the ETag
);
CREATE UNIQUE INDEX users_user_name ON users (user_name);
CREATE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_email ON users (email);
CREATE UNIQUE INDEX users_oidc_sub ON users (oidc_sub) WHERE oidc_sub IS NOT NULL;

-- Every email of a user, so `emails.value eq "…"` is an index lookup.
CREATE TABLE user_emails (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    value      TEXT NOT NULL COLLATE NOCASE,
    type       TEXT,
    is_primary INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1))
);
CREATE INDEX user_emails_value ON user_emails (value);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE groups (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL COLLATE NOCASE,
    external_id   TEXT,
    resource      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(resource)),
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX groups_display_name ON groups (display_name);
CREATE INDEX groups_external_id ON groups (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display  TEXT,                                  -- the member's display name as the client sent it
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,                    -- short public id, shown in lists and audit
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,                       -- first characters, for recognising a token
    hash       TEXT NOT NULL UNIQUE,                -- hex SHA-256 of the whole token
    scopes     TEXT NOT NULL,                       -- space-separated
    created    TEXT NOT NULL,
    created_by TEXT,
    last_used  TEXT,
    revoked    TEXT                                 -- when revoked; NULL while valid
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,                    -- hex SHA-256 of the cookie's session id
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    expires    TEXT NOT NULL,                       -- absolute end
    csrf_token TEXT NOT NULL,
    id_token   TEXT,                                -- kept server-side for id_token_hint
    groups     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(groups)),  -- groups claim at sign-in
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,                      -- "token:<id>", "user:<id>", "cli", "system", "anonymous"
    action      TEXT NOT NULL,                      -- e.g. "user.create", "auth.signin.refused"
    target_type TEXT,
    target_id   TEXT,
    detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    ip          TEXT,
    request_id  TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id);

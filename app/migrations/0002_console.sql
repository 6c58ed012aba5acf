-- The admin console (issue 10): token expiry and who revoked it, audit lookups by request id,
-- actor and action, and facts the setup checklist remembers (SSO tested, first SCIM request).
ALTER TABLE api_tokens ADD COLUMN expires TEXT;          -- when it stops working; NULL = never
ALTER TABLE api_tokens ADD COLUMN revoked_by TEXT;       -- audit actor who revoked it

CREATE INDEX audit_events_request ON audit_events (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events (actor);
CREATE INDEX audit_events_action ON audit_events (action);

CREATE TABLE facts (
    key   TEXT PRIMARY KEY,                              -- e.g. "sso.tested", "scim.first_request"
    value TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(value)),
    at    TEXT NOT NULL                                  -- when it was last set
);

-- The support bundle (issue 11): the last warnings and errors of the log, and which SCIM clients
-- were seen, kept in the database so `webrix support-bundle` works without a log file and from
-- another process. Both tables stay small: the service trims them as it writes.
CREATE TABLE log_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    level      TEXT NOT NULL,                      -- WARNING, ERROR, CRITICAL
    logger     TEXT NOT NULL,
    request_id TEXT,
    message    TEXT NOT NULL                       -- scrubbed and clipped before it is stored
);
CREATE INDEX log_events_at ON log_events (at);

CREATE TABLE scim_clients (
    token_id   TEXT NOT NULL,                      -- '' when the bearer token was missing or unknown
    user_agent TEXT NOT NULL,                      -- clipped, printable
    endpoint   TEXT NOT NULL,                      -- e.g. "PATCH /Groups/{id}"
    status     INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (token_id, user_agent, endpoint, status)
) WITHOUT ROWID;

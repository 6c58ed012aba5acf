"""The admin console at /admin: API tokens, users, groups, audit log, settings."""

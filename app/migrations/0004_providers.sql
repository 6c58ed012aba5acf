-- Sign-in through other providers (issue 12). A subject is unique only within its issuer
-- (OpenID Connect Core §2), so a user's link to a sign-in identity is (issuer, sub): a
-- provider switch never matches one provider's subject to another's. NULL: linked before
-- providers were named, when JumpCloud was the only one.
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
DROP INDEX users_oidc_sub;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_sub, coalesce(oidc_issuer, ''))
    WHERE oidc_sub IS NOT NULL;

-- The private key the service signs private_key_jwt client assertions with (RFC 7523); its
-- public half is published at /api/auth/jwks. Made once, at the first start that needs it.
CREATE TABLE client_keys (
    kid         TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    created     TEXT NOT NULL
) WITHOUT ROWID;

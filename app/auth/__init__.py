"""SSO: OpenID Connect relying party, sessions and sign-in routes."""

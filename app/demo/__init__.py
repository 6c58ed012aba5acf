"""`webrix demo`: the whole service on loopback with a development identity provider."""

"""The service's own signing key for private_key_jwt client authentication (migration 0004)."""

from __future__ import annotations

import json

from joserfc.jwk import RSAKey

from app.db import Tx
from app.store import now

KEY_BITS = 2048


def load_or_create(tx: Tx) -> RSAKey:
    """The newest client key, made (and kept) on first need."""
    row = tx.fetch_one("SELECT private_jwk FROM client_keys ORDER BY created DESC LIMIT 1")
    if row is not None:
        return RSAKey.import_key(json.loads(row["private_jwk"]))
    key = RSAKey.generate_key(KEY_BITS, private=True, auto_kid=True)
    tx.execute(
        "INSERT INTO client_keys (kid, private_jwk, created) VALUES (?, ?, ?)",
        (key.kid, json.dumps(key.as_dict(private=True)), now()),
    )
    return key

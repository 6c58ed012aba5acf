"""Issuers that stand for many: Entra ID's multi-tenant `{tenantid}` template."""

from __future__ import annotations

import re

# Entra ID's multi-tenant discovery names its issuer with this placeholder for the tenant.
TENANT = "{tenantid}"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def issuer_matches(published: str, issuer: str) -> bool:
    """Whether `issuer` is the published issuer, or one tenant's issuer of a multi-tenant
    template (`{tenantid}` standing for a tenant id)."""
    if TENANT not in published:
        return issuer == published
    before, _, after = published.partition(TENANT)
    return re.fullmatch(re.escape(before) + _GUID + re.escape(after), issuer) is not None

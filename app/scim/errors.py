"""SCIM protocol errors (RFC 7644 §3.12), each knowing its HTTP status and ``scimType``.

The tree::

    ScimError                      status, scim_type, detail; to_body()
    ├── InvalidFilter              400 invalidFilter
    ├── TooMany                    400 tooMany
    ├── Uniqueness                 409 uniqueness
    ├── Mutability                 400 mutability
    ├── InvalidSyntax              400 invalidSyntax
    ├── InvalidPath                400 invalidPath
    ├── NoTarget                   400 noTarget
    ├── InvalidValue               400 invalidValue
    ├── InvalidVersion             400 invalidVers
    ├── Sensitive                  400 sensitive
    ├── Unauthorized               401
    ├── Forbidden                  403
    ├── NotFound                   404
    ├── Conflict                   409 (no scimType)
    ├── PreconditionFailed         412
    ├── PayloadTooLarge            413
    ├── TooManyRequests            429 (Retry-After)
    ├── InternalError              500
    └── NotImplemented_            501

``detail`` is shown to the client: it must never carry a traceback or internal state.
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A SCIM error response: an HTTP status, an optional scimType and a human detail."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None
    default_detail: ClassVar[str] = "Bad request"
    retry_after: int | None = None  # seconds, sent as Retry-After (429, 503)

    def __init__(self, detail: str | None = None) -> None:
        self.detail: str = detail if detail is not None else self.default_detail
        super().__init__(self.detail)

    def to_body(self) -> dict[str, Any]:
        """Render the SCIM Error message body (status as a string, per RFC 7644)."""
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type is not None:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"


class InvalidFilter(ScimError):
    """The filter syntax was invalid or the filter could not be applied."""

    scim_type = "invalidFilter"
    default_detail = "The specified filter syntax is invalid"


class TooMany(ScimError):
    """The filter yields more results than the server is willing to return."""

    scim_type = "tooMany"
    default_detail = "Too many results"


class Uniqueness(ScimError):
    """A value conflicts with a unique attribute of another resource."""

    status = 409
    scim_type = "uniqueness"
    default_detail = "One or more attribute values are already in use"


class Mutability(ScimError):
    """The request tried to change a readOnly or immutable attribute."""

    scim_type = "mutability"
    default_detail = "The attempted modification is not compatible with the attribute's mutability"


class InvalidSyntax(ScimError):
    """The request body could not be parsed or violates the message schema."""

    scim_type = "invalidSyntax"
    default_detail = "The request body structure is invalid"


class InvalidPath(ScimError):
    """The PATCH path is malformed or names no known attribute."""

    scim_type = "invalidPath"
    default_detail = "The path attribute is invalid or malformed"


class NoTarget(ScimError):
    """The PATCH path did not yield an attribute or value that could be operated on."""

    scim_type = "noTarget"
    default_detail = "The specified path did not yield a target"


class InvalidValue(ScimError):
    """A required value is missing or a value has the wrong type."""

    scim_type = "invalidValue"
    default_detail = "A required value was missing, or the value specified was not compatible"


class InvalidVersion(ScimError):
    """The SCIM protocol version requested is not supported."""

    scim_type = "invalidVers"
    default_detail = "The specified SCIM protocol version is not supported"


class Sensitive(ScimError):
    """The request carried sensitive data where it must not (e.g. in the URL)."""

    scim_type = "sensitive"
    default_detail = "The request cannot be completed due to sensitive information in the URI"


class Unauthorized(ScimError):
    """Missing or invalid credentials."""

    status = 401
    default_detail = "Authorization failure"


class Forbidden(ScimError):
    """The credentials do not allow this operation."""

    status = 403
    default_detail = "Operation not permitted"


class NotFound(ScimError):
    """The resource or endpoint does not exist."""

    status = 404
    default_detail = "Resource not found"


class Conflict(ScimError):
    """A conflict that is not a uniqueness violation."""

    status = 409
    default_detail = "Conflict"


class PreconditionFailed(ScimError):
    """The resource changed since the version named in If-Match."""

    status = 412
    default_detail = "Resource version mismatch"


class PayloadTooLarge(ScimError):
    """The request body exceeds the server's limit."""

    status = 413
    default_detail = "Request payload too large"


class TooManyRequests(ScimError):
    """The client is refused for a while (Retry-After says how long)."""

    status = 429
    default_detail = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InternalError(ScimError):
    """An unexpected server fault; the detail stays generic on purpose."""

    status = 500
    default_detail = "Internal server error"


class NotImplemented_(ScimError):  # trailing underscore: NotImplemented is a builtin
    """The operation is not supported by this service provider."""

    status = 501
    default_detail = "Not implemented"

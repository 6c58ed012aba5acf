"""The demo identity provider's accounts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoUser:
    """One account on the demo identity provider, with the claims JumpCloud would send."""

    sub: str
    email: str
    given_name: str
    family_name: str
    groups: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        """Given and family name, as a relying party would build it (JumpCloud sends no `name`)."""
        return f"{self.given_name} {self.family_name}".strip()


DEFAULT_USERS: tuple[DemoUser, ...] = (
    DemoUser("demo-ada-0001", "ada@example.com", "Ada", "Admin", ("Webrix Admins",)),
    DemoUser("demo-grace-0002", "grace@example.com", "Grace", "User", ("Engineering",)),
    DemoUser("demo-linus-0003", "linus@example.com", "Linus", "Guest"),
)

"""The demo's two loopback ports, taken before anything is printed or created.

`webrix demo` binds both sockets first and hands them to the servers, so that a busy port is one
line naming it (and a command that picks another) rather than a banner, a fresh token that will
never work and a traceback; and so that nothing can take a port between the check and the start.
"""

from __future__ import annotations

import errno
import socket

HOST = "127.0.0.1"
ROLES = {"--port": "the service", "--idp-port": "the demo identity provider"}


class PortError(Exception):
    """A port the demo cannot listen on; the message is the one line to print."""


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As uvicorn does: a port in TIME_WAIT from the last run is free, one listened on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _free_near(port: int, taken: set[int]) -> int:
    """A port near `port` that is free right now (a suggestion; it may be gone by then)."""
    for candidate in range(port + 10, min(port + 110, 65536), 10):
        if candidate in taken:
            continue
        try:
            _bind(candidate).close()
        except OSError:
            continue
        return candidate
    return port + 10 if port + 10 < 65536 else 8090


def _refusal(flag: str, port: int, exc: OSError, taken: set[int]) -> PortError:
    other = _free_near(port, taken)
    how = (
        f"choose another with `webrix demo {flag} {other}`"
        f' (or `make run DEMO_ARGS="{flag} {other}"`)'
    )
    if exc.errno == errno.EADDRINUSE:
        return PortError(f"webrix demo: port {port} ({ROLES[flag]}) is in use: {how}")
    reason = exc.strerror or str(exc)
    where = f"{HOST}:{port} ({ROLES[flag]})"
    return PortError(f"webrix demo: cannot listen on {where}: {reason}; {how}")


def listen(port: int, idp_port: int) -> tuple[socket.socket, socket.socket]:
    """Listening sockets for the service and the identity provider; PortError if either fails."""
    if port == idp_port:
        raise PortError(
            f"webrix demo: the service and the demo identity provider need two ports, "
            f"both are {port}: choose another with `webrix demo --idp-port {port + 1}`"
        )
    taken = {port, idp_port}
    try:
        service = _bind(port)
    except OSError as exc:
        raise _refusal("--port", port, exc, taken) from None
    try:
        idp = _bind(idp_port)
    except OSError as exc:
        service.close()
        raise _refusal("--idp-port", idp_port, exc, taken) from None
    return service, idp

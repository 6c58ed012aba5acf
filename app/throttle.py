"""Slowing down one client that keeps failing, without slowing anyone else.

`Throttle` is a token bucket per client address, in memory and bounded in size: each failure
takes a token, tokens come back at a steady rate, and a client with none left is refused for
the time it takes one to come back. Only failures are counted, so a client whose requests
succeed is never slowed. `Tally` counts an event that must not write one log line (or audit
row) per occurrence, and reports it at most once per interval.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict


class Throttle:
    """Up to `burst` failures at once per client, then one per `1 / per_second` seconds."""

    def __init__(self, burst: int = 10, per_second: float = 1.0, max_clients: int = 10_000) -> None:
        self.burst, self.per_second, self.max_clients = burst, per_second, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def _tokens(self, client: str, now: float) -> float:
        tokens, then = self._buckets.get(client, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - then) * self.per_second)

    def _wait(self, tokens: float) -> float:
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_second

    def wait(self, client: str) -> float:
        """Seconds until `client` may fail again: 0 if it may now."""
        return self._wait(self._tokens(client, time.monotonic()))

    def fail(self, client: str) -> float:
        """Count a failure of `client`: 0 if it was within its allowance (a token taken), else
        the seconds until the next one (the failure should be refused, not answered)."""
        now = time.monotonic()
        tokens = self._tokens(client, now)
        wait = self._wait(tokens)
        self._buckets[client] = (tokens - 1 if tokens >= 1 else tokens, now)
        self._buckets.move_to_end(client)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)  # the longest quiet client: nearly full again
        return wait


def client_key(host: str) -> str:
    """The bucket of a client address: an IPv4 address itself, an IPv6 address by its /64 (one
    host may hold a whole /64 and so would otherwise get a bucket per request)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6 and not address.is_loopback:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def retry_after(seconds: float) -> int:
    """A Retry-After value: whole seconds, at least one."""
    return max(1, math.ceil(seconds))


class Tally:
    """Counts occurrences of one event and logs their number at most once per `interval`."""

    def __init__(self, log: logging.Logger, message: str, interval: float = 60.0) -> None:
        self.log, self.message, self.interval = log, message, interval
        self.total = 0
        self._pending = 0
        self._logged_at = -math.inf

    def count(self) -> None:
        self.total += 1
        self._pending += 1
        now = time.monotonic()
        if now - self._logged_at >= self.interval:
            self.log.warning(self.message, self._pending)
            self._pending, self._logged_at = 0, now


class OncePer:
    """Whether an event for `key` is the first in `interval` seconds (the rest are let go):
    e.g. one audit row per session and minute for a refused console page, however often it
    is asked for. Bounded: at most `max_keys` keys are remembered."""

    def __init__(self, interval: float = 60.0, max_keys: int = 10_000) -> None:
        self.interval, self.max_keys = interval, max_keys
        self._seen: dict[str, float] = {}

    def first(self, key: str) -> bool:
        now = time.monotonic()
        last = self._seen.get(key)
        if last is not None and now - last < self.interval:
            return False
        if len(self._seen) >= self.max_keys:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self.interval}
        self._seen[key] = now
        return True

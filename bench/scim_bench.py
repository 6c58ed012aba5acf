"""SCIM load and scale benchmark against the real server. Run by hand, never from the tests:

    .venv/bin/python bench/scim_bench.py [--requests 1000] [--concurrency 8] [--big 100000]

It builds a throw-away config and database in a temporary folder, creates a token with
`python -m app token create`, seeds users and three groups (10, 2,000 and `--big` members)
straight into the server's SQLite file, starts `python -m app serve` on a free loopback port,
and prints throughput, latency percentiles and the server's memory. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPARE_USERS = 400  # seeded users in no group: the ones added to and removed from groups
STAMP = "2026-01-01T00:00:00Z"


@dataclass
class Figures:
    """Latencies (seconds) of one phase and how long it took end to end."""

    name: str
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]

    def line(self) -> str:
        codes = ",".join(f"{code}x{n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.name:<50} {len(self.latencies):>6} {self.rate:>9.1f}/s"
            f"  p50 {self.percentile(50) * 1000:>7.1f}  p95 {self.percentile(95) * 1000:>7.1f}"
            f"  p99 {self.percentile(99) * 1000:>7.1f} ms  [{codes}]"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_config(folder: Path, port: int) -> Path:
    config = folder / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[server]",
                f'public_url = "http://127.0.0.1:{port}"',
                f'secret_key = "{secrets.token_urlsafe(48)}"',
                "[database]",
                f'path = "{folder / "bench.db"}"',
                "[auth.jumpcloud]",
                'client_id = "bench"',
                'client_secret = "bench-secret"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


def webrix(root: Path, config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(config), *args],
        cwd=root,  # `python -m` looks in the working directory first
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def seed(db_path: Path, big: int) -> tuple[dict[int, str], list[str]]:
    """Users and groups of 10, 2,000 and `big` members, inserted directly with the server's
    schema (the token command has migrated the file). Returns group ids by size and the
    ids of the spare users, who belong to no group."""
    total = big + SPARE_USERS
    users = [(str(uuid.uuid4()), f"seed-{i:06d}@example.com") for i in range(total)]
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA foreign_keys = ON")
        with db:
            db.executemany(
                "INSERT INTO users (id, user_name, email, given_name, family_name, resource,"
                " created, last_modified, version, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1,"
                " 'scim')",
                (
                    (
                        uid,
                        email,
                        email,
                        "Seed",
                        f"User {i}",
                        json.dumps(
                            {
                                "schemas": [USER_URN],
                                "userName": email,
                                "name": {"givenName": "Seed", "familyName": f"User {i}"},
                                "emails": [{"value": email, "type": "work", "primary": True}],
                                "active": True,
                            }
                        ),
                        STAMP,
                        STAMP,
                    )
                    for i, (uid, email) in enumerate(users)
                ),
            )
            db.executemany(
                "INSERT INTO user_emails (user_id, value, type, is_primary)"
                " VALUES (?, ?, 'work', 1)",
                users,
            )
            groups: dict[int, str] = {}
            for size in sorted({10, 2000, big}):
                gid = str(uuid.uuid4())
                name = f"Bench {size}"
                db.execute(
                    "INSERT INTO groups (id, display_name, resource, created, last_modified)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        gid,
                        name,
                        json.dumps({"schemas": [GROUP_URN], "displayName": name}),
                        STAMP,
                        STAMP,
                    ),
                )
                db.executemany(
                    "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)",
                    ((gid, uid) for uid, _ in users[:size]),
                )
                groups[size] = gid
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return groups, [uid for uid, _ in users[big:]]


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


async def measure(
    name: str,
    count: int,
    concurrency: int,
    request: Callable[[int], Awaitable[httpx.Response]],
    ok: tuple[int, ...] = (200,),
) -> Figures:
    """Run `request(0..count-1)` with `concurrency` in flight; time each and the whole."""
    figures = Figures(name)
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            start = time.perf_counter()
            response = await request(i)
            figures.latencies.append(time.perf_counter() - start)
            figures.statuses[response.status_code] = (
                figures.statuses.get(response.status_code, 0) + 1
            )
            if response.status_code not in ok:
                raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    figures.elapsed = time.perf_counter() - began
    return figures


def patch_body(op: str, user_id: str) -> dict[str, object]:
    """JumpCloud's membership shape: a value array, no filter, no display."""
    return {
        "schemas": [PATCH_URN],
        "Operations": [{"op": op, "path": "members", "value": [{"value": user_id}]}],
    }


async def run(
    base: str, token: str, args: argparse.Namespace, groups: dict[int, str], spare: list[str]
) -> list[Figures]:
    n, c = args.requests, args.concurrency
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    results: list[Figures] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:
        await measure("warm-up", 100, c, lambda i: http.get("/healthz"))
        results.append(
            await measure("GET /healthz (baseline)", n * 2, c, lambda i: http.get("/healthz"))
        )

        run_id = secrets.token_hex(3)
        ids: list[str] = [""] * n

        async def create(i: int) -> httpx.Response:
            email = f"bench-{run_id}-{i}@example.com"
            response = await http.post(
                "/scim/v2/Users",
                json={
                    "schemas": [USER_URN],
                    "userName": email,
                    "name": {"givenName": "Bench", "familyName": str(i)},
                    "emails": [{"value": email, "type": "work", "primary": True}],
                    "displayName": f"Bench {i}",
                    "active": True,
                },
            )
            if response.status_code == 201:
                ids[i] = response.json()["id"]
            return response

        results.append(await measure("POST /Users (create)", n, c, create, ok=(201,)))
        results.append(
            await measure(
                'GET /Users?filter=userName eq "…"',
                n,
                c,
                lambda i: http.get(
                    "/scim/v2/Users",
                    params={"filter": f'userName eq "bench-{run_id}-{i}@example.com"'},
                ),
            )
        )
        results.append(
            await measure(
                "PATCH /Users/{id} (replace givenName)",
                n,
                c,
                lambda i: http.patch(
                    f"/scim/v2/Users/{ids[i]}",
                    json={
                        "schemas": [PATCH_URN],
                        "Operations": [
                            {"op": "replace", "path": "name.givenName", "value": f"B{i}"}
                        ],
                    },
                ),
            )
        )

        # Member changes one at a time (no concurrency): the latency of one change by size.
        k = min(args.member_ops, len(spare))
        for size, gid in sorted(groups.items()):
            lookup = await http.get(
                "/scim/v2/Groups",
                params={
                    "filter": f'displayName eq "Bench {size}"',
                    "excludedAttributes": "members",
                },
            )
            assert lookup.json()["Resources"][0]["id"] == gid, lookup.text
            url = f"/scim/v2/Groups/{gid}"

            def member(op: str, url: str = url) -> Callable[[int], Awaitable[httpx.Response]]:
                return lambda i: http.patch(url, json=patch_body(op, spare[i]))

            def read(i: int, url: str = url) -> Awaitable[httpx.Response]:
                return http.get(url, params={"excludedAttributes": "members"})

            for op in ("add", "remove"):
                title = f"{op} one member, group of {size:,}"
                results.append(await measure(title, k, 1, member(op), ok=(200, 204)))
            title = f"GET group of {size:,}, excludedAttributes=members"
            results.append(await measure(title, k, 1, read))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per load phase")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--big", type=int, default=100_000, help="members of the big group")
    parser.add_argument("--member-ops", type=int, default=200, help="adds/removes per group")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--app-root",
        type=Path,
        default=ROOT,
        help="run the `app` package of another checkout (e.g. `git archive` of an older commit)",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="webrix-bench-"))
    port = free_port()
    config = write_config(folder, port)
    token = (
        webrix(args.app_root, config, "token", "create", "--name", "bench").strip().splitlines()[-1]
    )
    began = time.perf_counter()
    groups, spare = seed(folder / "bench.db", args.big)
    seeded = time.perf_counter() - began
    print(
        f"seeded {args.big + SPARE_USERS:,} users and groups of {sorted(groups)} in {seeded:.1f} s"
    )

    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "--config",
            str(config),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=args.app_root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise SystemExit((folder / "server.log").read_text())
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
        before = memory_kb(server.pid)
        results = asyncio.run(run(base, token, args, groups, spare))
        after = memory_kb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, concurrency {args.concurrency}"
        f" (client and server share the machine)"
    )
    print(f"{'phase':<50} {'reqs':>6} {'rate':>11}  latency")
    for figures in results:
        print(figures.line())
    print(
        f"server RSS: {before['VmRSS'] / 1024:.1f} MiB at start, {after['VmRSS'] / 1024:.1f} MiB"
        f" after (peak {after['VmHWM'] / 1024:.1f} MiB)"
    )
    if args.keep:
        print(f"kept {folder}")
    else:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())

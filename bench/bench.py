"""The SCIM benchmark: the service beside a bare baseline app, under `wrk`, in one run.

    make bench                      # or: .venv/bin/python bench/bench.py [--runs 3]

For each scale (1,000 and 100,000 users) it seeds a database for the service (`webrix serve`,
exactly as production runs it) and one for the baseline (bench/baseline.py: bare Starlette +
aiosqlite), starts both on loopback ports, and drives each operation with `wrk -t1 -c16` for
`--duration` seconds. It prints requests/s, p50, p99, non-2xx answers and the server's CPU time
per request (all threads, and the event loop's thread alone) of every operation, and its ratio to
the matching baseline operation of the same run; the service's peak RSS; and the seconds a
JumpCloud-style initial push of 10,000 users takes (look up by userName, then create; 8 at a
time) into an empty database. With `--runs N` every figure is the median of N runs.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import seed, seed_baseline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "wrk" / "scim.lua"
PUSH_USERS = 10_000
JSON, LOOKUP, INSERT = "baseline /json", "baseline /lookup (indexed SELECT)", "baseline /insert"
DURABLE = "baseline /insert, synchronous = FULL"


@dataclass(frozen=True)
class Op:
    label: str
    mode: str  # the wrk script's mode
    baseline: str | None = None  # None: a baseline operation itself
    path: str = "/"
    ids: str = "users"  # the id file it draws from: "users" or "spare" (in no group)
    connections: int | None = None  # None: --connections


OPS = [
    Op(JSON, "path", path="/json"),
    Op(LOOKUP, "lookup_base"),
    Op(INSERT, "insert_base"),
    Op(DURABLE, "insert_durable"),
    Op("GET /healthz", "path", JSON, path="/healthz"),
    Op('GET /Users?filter=userName eq "…"', "lookup", LOOKUP),
    Op("GET /Users/{id}", "get", LOOKUP),
    Op("POST /Users", "create", INSERT),
    Op("PATCH /Users/{id} active (deactivate)", "deactivate", INSERT),
    Op("PUT /Users/{id}", "put", INSERT),
    Op("PATCH /Groups/{id} add/remove a member", "member", INSERT, ids="spare"),
    Op("  the same, one request at a time", "member", INSERT, ids="spare", connections=1),
]


@dataclass
class Figures:
    rate: float
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    non2xx: int = 0
    requests: int = 0
    cpu_ms: float = 0.0  # server CPU time per request, all its threads
    loop_ms: float = 0.0  # of which on the event loop's thread


@dataclass
class Run:
    figures: dict[int, dict[str, Figures]] = field(default_factory=dict)
    peak_rss_mib: dict[int, float] = field(default_factory=dict)
    push_seconds: float = 0.0
    push_non2xx: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_config(folder: Path, port: int) -> Path:
    config = folder / "config.toml"
    config.write_text(
        "[server]\n"
        f'public_url = "http://127.0.0.1:{port}"\n'
        f'secret_key = "{secrets.token_urlsafe(48)}"\n'
        "[database]\n"
        f'path = "{folder / "webrix.db"}"\n'
        "[auth.jumpcloud]\n"
        'client_id = "bench"\nclient_secret = "bench-secret"\n',
        encoding="utf-8",
    )
    return config


def new_token(config: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(config), "token", "create", "--name", "b"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def cpu_seconds(pid: int, *, main_thread: bool = False) -> float:
    """User and system CPU time of a process so far (all threads, or only the main thread:
    the event loop's), from /proc."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def serve(argv: list[str], port: int, log: Path, health: str) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, once it answers `health`; stopped on leaving."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"{argv[2:]} exited:\n{log.read_text()[-3000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{argv} did not start")
                time.sleep(0.1)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wrk(
    url: str,
    mode: str,
    ids: Path,
    token: str,
    *,
    seconds: float,
    connections: int,
    group: str = "",
    stop_after: int = 0,
) -> dict[str, int]:
    """Run the wrk script; what its `done` (or its early exit) reported."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s"]
    argv += ["-s", str(SCRIPT), url, "--", mode, str(ids), token, str(stop_after or ""), group]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result: dict[str, int] = json.loads(line.removeprefix("RESULT "))
    return result


def measure(op: Op, url: str, pid: int, ids: Path, token: str, group: str, args: Any) -> Figures:
    """One operation for `--duration` seconds after a one-second warm-up."""
    connections = op.connections or args.connections
    wrk(url, op.mode, ids, token, seconds=1, connections=connections, group=group)
    cpu, loop = cpu_seconds(pid), cpu_seconds(pid, main_thread=True)
    r = wrk(url, op.mode, ids, token, seconds=args.duration, connections=connections, group=group)
    n = max(r["requests"], 1)
    return Figures(
        rate=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        non2xx=r["non2xx"] + r["socket_errors"],
        requests=r["requests"],
        cpu_ms=(cpu_seconds(pid) - cpu) * 1000 / n,
        loop_ms=(cpu_seconds(pid, main_thread=True) - loop) * 1000 / n,
    )


def write_ids(path: Path, users: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{uid} {name}\n" for uid, name in users), encoding="utf-8")
    return path


def wanted(op: Op, only: str) -> bool:
    if not only:
        return True
    if op.baseline is not None:
        return only in op.label
    # A baseline runs when an operation measured against it does (writes: both inserts).
    against = {op.label} if op.label != DURABLE else {INSERT}
    return any(only in o.label and o.baseline in against for o in OPS)


def run_scale(folder: Path, users: int, args: Any, run: Run) -> None:
    """Every operation at one scale, service and baseline side by side."""
    folder.mkdir(parents=True)
    port, base_port = free_port(), free_port()
    config = write_config(folder, port)
    token = new_token(config)
    seeded = seed(folder / "webrix.db", users, min(10_000, users // 2))
    seed_baseline(folder / "baseline.db", users)
    files = {
        "users": write_ids(folder / "users.txt", seeded.users),
        "spare": write_ids(folder / "spare.txt", seeded.spare),
    }
    service = [sys.executable, "-m", "app", "--config", str(config), "serve", "--port", str(port)]
    baseline = [sys.executable, str(ROOT / "bench" / "baseline.py"), str(folder / "baseline.db")]
    results: dict[str, Figures] = {}
    with (
        serve(service, port, folder / "service.log", "/healthz") as proc,
        serve([*baseline, str(base_port)], base_port, folder / "baseline.log", "/json") as base,
    ):
        for op in OPS:
            if not wanted(op, args.only):
                continue
            on_service = op.baseline is not None
            p, pid = (port, proc.pid) if on_service else (base_port, base.pid)
            url = f"http://127.0.0.1:{p}{op.path}"
            results[op.label] = measure(op, url, pid, files[op.ids], token, seeded.group_id, args)
            print(
                f"  {users:>7,}  {op.label:<42} {results[op.label].rate:>8.0f}/s", file=sys.stderr
            )
        run.peak_rss_mib[users] = peak_rss_mib(proc.pid)
    run.figures[users] = results


def run_push(folder: Path, run: Run) -> None:
    """A JumpCloud-style initial push into an empty database: lookup, then create, 8 at a time."""
    folder.mkdir(parents=True)
    port = free_port()
    config = write_config(folder, port)
    token = new_token(config)
    ids = write_ids(folder / "none.txt", [("-", "-")])
    service = [sys.executable, "-m", "app", "--config", str(config), "serve", "--port", str(port)]
    with serve(service, port, folder / "service.log", "/healthz"):
        began = time.perf_counter()
        r = wrk(
            f"http://127.0.0.1:{port}/",
            "push",
            ids,
            token,
            seconds=300,
            connections=8,
            stop_after=PUSH_USERS,  # the script exits at the last 201: the run is its wall time
        )
        run.push_seconds = time.perf_counter() - began
        run.push_non2xx = r["non2xx"]
    with sqlite3.connect(folder / "webrix.db") as db:
        (count,) = db.execute("SELECT count(*) FROM users").fetchone()
    if count < PUSH_USERS:
        raise SystemExit(f"the push created {count} users, not {PUSH_USERS}")


def _ratio(runs: list[Run], users: int, label: str, baseline: str | None) -> str:
    """The ratio of each run (service and baseline measured minutes apart), then their median:
    steadier than a ratio of medians on a shared machine."""
    if baseline is None or not all(baseline in r.figures[users] for r in runs):
        return ""
    each = [r.figures[users][label].rate / r.figures[users][baseline].rate for r in runs]
    return f"{statistics.median(each):.2f}"


def report(runs: list[Run], scales: list[int], args: Any) -> None:
    median = statistics.median
    cpu = platform.processor() or platform.machine()
    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()}"
        f" CPUs ({cpu}), wrk -t1 -c{args.connections} -d{args.duration:g}s,"
        f" median of {len(runs)} run(s)"
    )
    print(
        f"{'users':>7}  {'operation':<42} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'non-2xx':>7} {'CPU ms':>6} {'loop':>5} {'ratio':>6} {'FULL':>5}"
    )
    for users in scales:
        for op in OPS:
            rows = [r.figures[users][op.label] for r in runs if op.label in r.figures[users]]
            if not rows:
                continue
            ratio = _ratio(runs, users, op.label, op.baseline)
            # Writes also against an insert as durable as the service's own commits.
            durable = _ratio(runs, users, op.label, DURABLE if op.baseline == INSERT else None)
            rate, p50, p99, cpu_ms, loop_ms = (
                median([getattr(f, name) for f in rows])
                for name in ("rate", "p50_ms", "p99_ms", "cpu_ms", "loop_ms")
            )
            print(
                f"{users:>7,}  {op.label:<42} {rate:>8.0f} {p50:>7.1f} {p99:>7.1f}"
                f" {sum(f.non2xx for f in rows):>7} {cpu_ms:>6.2f} {loop_ms:>5.2f} {ratio:>6}"
                f" {durable:>5}"
            )
        rss = median([r.peak_rss_mib[users] for r in runs])
        print(f"{users:>7,}  peak RSS of the service: {rss:.0f} MiB")
    if not args.no_push:
        print(
            f"initial push of {PUSH_USERS:,} users (GET ?filter=userName eq, then POST; 8 at a"
            f" time): {median([r.push_seconds for r in runs]):.1f} s,"
            f" non-2xx {sum(r.push_non2xx for r in runs)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs; figures are their median")
    parser.add_argument("--duration", type=float, default=5, help="seconds per operation")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--scales", default="1000,100000", help="users, comma-separated")
    parser.add_argument("--only", default="", help="only the operations whose name has this")
    parser.add_argument("--no-push", action="store_true", help="skip the initial push")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    scales = [int(s) for s in args.scales.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="webrix-bench-"))
    runs: list[Run] = []
    try:
        for n in range(args.runs):
            print(f"run {n + 1} of {args.runs}", file=sys.stderr)
            run = Run()
            for users in scales:
                run_scale(folder / f"r{n}-{users}", users, args, run)
            if not args.no_push:
                run_push(folder / f"r{n}-push", run)
                print(f"  push of {PUSH_USERS:,} users: {run.push_seconds:.1f} s", file=sys.stderr)
            runs.append(run)
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(runs, scales, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

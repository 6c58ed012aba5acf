"""The SCIM benchmark: the service beside a bare baseline app, under `wrk`, in one run.

    make bench                      # or: .venv/bin/python bench/bench.py [--runs 3]

For each scale (1,000 and 100,000 users) it seeds a database for the service (`webrix serve`,
exactly as production runs it) and one for the baseline (bench/baseline.py: bare Starlette +
aiosqlite), starts both on loopback ports, and drives each operation with `wrk -t1 -c16` for
`--duration` seconds. It prints requests/s, p50, p99 and non-2xx answers of every operation and
its ratio to the matching baseline operation, the service's peak RSS, and the seconds a
JumpCloud-style initial push of 10,000 users takes (lookup by userName, then create; 8 at a
time) against an empty database. With `--runs N` every figure is the median of N runs.
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
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import Seeded, seed, seed_baseline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "wrk" / "scim.lua"
PUSH_USERS = 10_000


@dataclass(frozen=True)
class Op:
    label: str
    target: str  # "service" or "baseline"
    mode: str
    path: str = "/"
    ids: str = "users"  # which id file: users or spare
    baseline: str | None = None  # label of the baseline operation it is compared with


OPS = [
    Op("baseline /json", "baseline", "path", "/json"),
    Op("baseline /lookup (indexed SELECT)", "baseline", "lookup_base"),
    Op("baseline /insert (INSERT + COMMIT)", "baseline", "insert_base"),
    Op("GET /healthz", "service", "path", "/healthz", baseline="baseline /json"),
    Op(
        'GET /Users?filter=userName eq "…"',
        "service",
        "lookup",
        baseline="baseline /lookup (indexed SELECT)",
    ),
    Op("GET /Users/{id}", "service", "get", baseline="baseline /lookup (indexed SELECT)"),
    Op("POST /Users", "service", "create", baseline="baseline /insert (INSERT + COMMIT)"),
    Op(
        "PATCH /Users/{id} active (deactivate)",
        "service",
        "deactivate",
        baseline="baseline /insert (INSERT + COMMIT)",
    ),
    Op("PUT /Users/{id}", "service", "put", baseline="baseline /insert (INSERT + COMMIT)"),
    Op(
        "PATCH /Groups/{id} add/remove a member",
        "service",
        "member",
        ids="spare",
        baseline="baseline /insert (INSERT + COMMIT)",
    ),
]


@dataclass
class Figures:
    rate: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    requests: int
    cpu_ms: float = 0.0  # server CPU time (all its threads) per request
    loop_ms: float = 0.0  # of which on the event loop's thread


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
        + (f'log_level = "{os.environ["XLOG"]}"\n' if os.environ.get("XLOG") else "")
        + "[database]\n"
        f'path = "{folder / "webrix.db"}"\n'
        "[auth.jumpcloud]\n"
        'client_id = "bench"\nclient_secret = "bench-secret"\n',
        encoding="utf-8",
    )
    return config


def webrix(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


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
    stop_after: int | None = None,
    group: str = "",
) -> Figures:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        mode,
        str(ids),
        token,
        str(stop_after or ""),
        group,
    ]
    began = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - began
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    r = json.loads(line.removeprefix("RESULT "))
    if stop_after:  # the script exits once done: its `rate` is the wall time it took
        return Figures(wall, 0.0, 0.0, r["non2xx"], r["created"])
    seconds_taken = r["duration_us"] / 1e6
    return Figures(
        rate=r["requests"] / seconds_taken if seconds_taken else 0.0,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        non2xx=r["non2xx"] + r["socket_errors"],
        requests=r["requests"],
    )


def write_ids(path: Path, users: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{uid} {name}\n" for uid, name in users), encoding="utf-8")
    return path


def run_scale(
    folder: Path, users: int, args: argparse.Namespace
) -> tuple[dict[str, Figures], float]:
    """Every operation at one scale; returns figures by label and the service's peak RSS."""
    folder.mkdir(parents=True)
    port, base_port = free_port(), free_port()
    config = write_config(folder, port)
    token = webrix(config, "token", "create", "--name", "bench").strip().splitlines()[-1]
    seeded: Seeded = seed(folder / "webrix.db", users, min(10_000, users // 2))
    seed_baseline(folder / "baseline.db", users)
    files = {
        "users": write_ids(folder / "users.txt", seeded.users),
        "spare": write_ids(folder / "spare.txt", seeded.spare),
    }
    service = [sys.executable, "-m", "app", "--config", str(config), "serve", "--port", str(port)]
    baseline = [
        sys.executable,
        str(ROOT / "bench" / "baseline.py"),
        str(folder / "baseline.db"),
        str(base_port),
    ]
    results: dict[str, Figures] = {}
    with (
        serve(service, port, folder / "service.log", "/healthz") as proc,
        serve(baseline, base_port, folder / "baseline.log", "/json") as base_proc,
    ):
        for op in OPS:
            if args.only and op.target == "service" and args.only not in op.label:
                continue
            if (
                args.only
                and op.target == "baseline"
                and not any(args.only in o.label and o.baseline == op.label for o in OPS)
            ):
                continue
            p, pid = (port, proc.pid) if op.target == "service" else (base_port, base_proc.pid)
            url = f"http://127.0.0.1:{p}{op.path}"
            ids = files[op.ids]
            wrk(
                url,
                op.mode,
                ids,
                token,
                seconds=1,
                connections=args.connections,
                group=seeded.group_id,
            )  # warm-up
            before, loop_before = cpu_seconds(pid), cpu_seconds(pid, main_thread=True)
            figures = wrk(
                url,
                op.mode,
                ids,
                token,
                seconds=args.duration,
                connections=args.connections,
                group=seeded.group_id,
            )
            n = max(figures.requests, 1)
            figures.cpu_ms = (cpu_seconds(pid) - before) * 1000 / n
            figures.loop_ms = (cpu_seconds(pid, main_thread=True) - loop_before) * 1000 / n
            results[op.label] = figures
            print(
                f"  {users:>7,} users  {op.label:<42} {results[op.label].rate:>8.0f}/s",
                file=sys.stderr,
            )
        rss = peak_rss_mib(proc.pid)
    return results, rss


def run_push(folder: Path) -> Figures:
    """A JumpCloud-style initial push into an empty database: lookup, then create, 8 at a time."""
    folder.mkdir(parents=True)
    port = free_port()
    config = write_config(folder, port)
    token = webrix(config, "token", "create", "--name", "push").strip().splitlines()[-1]
    ids = write_ids(folder / "none.txt", [("-", "-")])
    service = [sys.executable, "-m", "app", "--config", str(config), "serve", "--port", str(port)]
    with serve(service, port, folder / "service.log", "/healthz"):
        figures = wrk(
            f"http://127.0.0.1:{port}/",
            "push",
            ids,
            token,
            seconds=300,
            connections=8,
            stop_after=PUSH_USERS,
        )
    with sqlite3.connect(folder / "webrix.db") as db:
        (count,) = db.execute("SELECT count(*) FROM users").fetchone()
    if count < PUSH_USERS:
        raise SystemExit(f"the push created {count} users, not {PUSH_USERS}")
    return figures


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs; figures are their median")
    parser.add_argument("--duration", type=float, default=5, help="seconds per operation")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--scales", default="1000,100000", help="users, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--only", default="", help="only the operations whose name has this")
    parser.add_argument("--no-push", action="store_true", help="skip the initial push")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    scales = [int(s) for s in args.scales.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="webrix-bench-"))
    runs: list[tuple[dict[int, dict[str, Figures]], dict[int, float], Figures]] = []
    try:
        for n in range(args.runs):
            print(f"run {n + 1} of {args.runs}", file=sys.stderr)
            figures, rss = {}, {}
            for users in scales:
                figures[users], rss[users] = run_scale(folder / f"r{n}-{users}", users, args)
            push = Figures(0, 0, 0, 0, 0) if args.no_push else run_push(folder / f"r{n}-push")
            print(f"  push of {PUSH_USERS:,} users: {push.rate:.1f} s", file=sys.stderr)
            runs.append((figures, rss, push))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    report(runs, scales, args)
    if args.keep:
        print(f"kept {folder}")
    return 0


def report(
    runs: list[tuple[dict[int, dict[str, Figures]], dict[int, float], Figures]],
    scales: list[int],
    args: argparse.Namespace,
) -> None:
    cpu = platform.processor() or platform.machine()
    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()}"
        f" CPUs ({cpu}), wrk -t1 -c{args.connections} -d{args.duration:g}s,"
        f" median of {len(runs)} run(s)"
    )
    print(
        f"{'users':>7}  {'operation':<42} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'non-2xx':>7} {'CPU ms':>6} {'loop':>5} {'ratio':>6}"
    )
    for users in scales:
        for op in OPS:
            if op.label not in runs[0][0][users]:
                continue
            rows = [r[0][users][op.label] for r in runs]
            rate = median([f.rate for f in rows])
            ratio = ""
            if op.baseline and op.baseline in runs[0][0][users]:
                base = median([r[0][users][op.baseline].rate for r in runs])
                ratio = f"{rate / base:.2f}"
            p50, p99 = median([f.p50_ms for f in rows]), median([f.p99_ms for f in rows])
            cpu, loop = median([f.cpu_ms for f in rows]), median([f.loop_ms for f in rows])
            print(
                f"{users:>7,}  {op.label:<42} {rate:>8.0f} {p50:>7.1f} {p99:>7.1f}"
                f" {sum(f.non2xx for f in rows):>7} {cpu:>6.2f} {loop:>5.2f} {ratio:>6}"
            )
        print(
            f"{users:>7,}  peak RSS of the service: {median([r[1][users] for r in runs]):.0f} MiB"
        )
    pushes = [r[2] for r in runs]
    print(
        f"initial push of {PUSH_USERS:,} users (GET ?filter=userName eq, then POST; 8 at a time):"
        f" {median([p.rate for p in pushes]):.1f} s, non-2xx {sum(p.non2xx for p in pushes)}"
    )


if __name__ == "__main__":
    sys.exit(main())

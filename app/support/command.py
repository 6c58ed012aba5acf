"""`webrix support-bundle`: the bundle written to a new file only its owner can read."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

import anyio

from app.checks_cli import provider_client
from app.config import Config
from app.durations import parse_duration
from app.support.bundle import build


def support_bundle(cfg: Config, args: argparse.Namespace) -> int:
    try:
        since = parse_duration(args.since, maximum=timedelta(days=365))
    except ValueError as exc:
        print(f"webrix: --since: {exc}", file=sys.stderr)
        return 2
    out = args.out or f"webrix-support-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip"
    if os.path.exists(out):
        print(f"webrix: {out} already exists; choose another --out", file=sys.stderr)
        return 1

    async def make() -> bytes:
        async with provider_client(cfg) as http:
            return await build(cfg, http, since=since, include_users=args.include_users)

    data = anyio.run(make)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    print(f"Wrote {out} ({len(data)} bytes). It holds no secret, token or end-user email")
    print("address (see README.txt inside); attach it to your message to Webrix support.")
    return 0

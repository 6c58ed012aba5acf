"""The `webrix` command line (also `python -m app`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

import anyio

from app import config as config_mod
from app.config import Config, ConfigError
from app.db import Database, DatabaseError, Tx
from app.migrate import backup
from app.store import audit, tokens

T = TypeVar("T")
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="webrix", description="Webrix on-premise identity service.")
    p.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="config file (default: $WEBRIX_CONFIG, else ./config.toml)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", help="bind address (default: [server] host)")
    serve.add_argument("--port", type=int, help="bind port (default: [server] port)")

    tok = sub.add_parser("token", help="manage SCIM / API tokens")
    tok_sub = tok.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = tok_sub.add_parser("create", help="create a token and print it once")
    create.add_argument(
        "--name", required=True, help="what the token is for, e.g. 'JumpCloud SCIM'"
    )
    create.add_argument(
        "--scope",
        action="extend",
        nargs="+",
        choices=tokens.SCOPES,
        metavar="SCOPE",
        help=f"one or more of {', '.join(tokens.SCOPES)}; default admin:scim",
    )
    create.add_argument(
        "--expires-in",
        metavar="LIFETIME",
        type=_lifetime,
        help="stop working after this long: days or hours, e.g. 90d or 12h (default: never)",
    )
    tok_sub.add_parser("list", help="list tokens (never their values)")
    revoke = tok_sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", help="the token id shown by `webrix token list`")

    sub.add_parser("check", help="validate the config and reach the identity provider")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    bk = db_sub.add_parser("backup", help="consistent online copy of the database")
    bk.add_argument("dest", help="file to create")

    demo = sub.add_parser("demo", help="run everything locally with a built-in identity provider")
    demo.add_argument("--data", default="data", help="folder for the demo config and database")
    demo.add_argument("--port", type=int, default=8080, help="port of the service (default 8080)")
    demo.add_argument(
        "--idp-port", type=int, default=8081, help="port of the demo identity provider"
    )
    return p


def _lifetime(text: str) -> timedelta:
    """`--expires-in`: 90d or 12h, bounded; argparse shows the message and exits 2."""
    try:
        return tokens.parse_lifetime(text)
    except tokens.TokenError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config_path(args: argparse.Namespace) -> str:
    return str(args.config or os.environ.get("WEBRIX_CONFIG") or "config.toml")


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(fn)


async def _with_db(cfg: Config, fn: Callable[[Database], Awaitable[T]]) -> T:
    db = await Database.open(cfg.database.path, readers=1)
    try:
        return await fn(db)
    finally:
        await db.close()


def _token_command(cfg: Config, args: argparse.Namespace) -> int:
    if args.token_command == "create":  # noqa: S105
        scopes = tuple(args.scope or tokens.DEFAULT_SCOPES)
        expires = tokens.expiry(args.expires_in)

        def create(tx: Tx) -> tuple[tokens.ApiToken, str]:
            token, plaintext = tokens.create(
                tx, args.name, scopes, created_by="cli", expires=expires
            )
            audit.record(
                tx,
                actor="cli",
                action="token.create",
                target_type="token",
                target_id=token.id,
                detail={"name": token.name, "scopes": list(scopes), "expires": expires},
            )
            return token, plaintext

        try:
            token, plaintext = _run(lambda: _with_db(cfg, lambda db: db.write(create)))
        except tokens.TokenError as exc:
            print(f"webrix: {exc}", file=sys.stderr)
            return 1
        print(f"Created token {token.id} ({token.name}), scopes: {' '.join(token.scopes)}")
        if expires:
            print(f"It expires at {expires}.")
        print("Copy it now: it is shown only once and stored only as a hash.")
        print(plaintext)
        return 0
    if args.token_command == "list":  # noqa: S105
        rows = _run(lambda: _with_db(cfg, lambda db: db.read(tokens.list_tokens)))
        if not rows:
            print("No tokens. Create one with: webrix token create --name 'JumpCloud SCIM'")
            return 0
        head = ("ID", 14), ("PREFIX", 16), ("STATUS", 9), ("CREATED", 22), ("LAST USED", 22)
        print("".join(f"{h:<{w}}" for h, w in head) + f"{'EXPIRES':<22}{'SCOPES':<28}NAME")
        for t in rows:
            print(
                f"{t.id:<14}{t.prefix + '…':<16}{t.status:<9}{t.created:<22}"
                f"{t.last_used or 'never':<22}{t.expires or 'never':<22}"
                f"{' '.join(t.scopes):<28}{t.name}"
            )
        return 0

    def do_revoke(tx: Tx) -> tokens.ApiToken:
        token = tokens.revoke(tx, args.id, by="cli")
        audit.record(
            tx,
            actor="cli",
            action="token.revoke",
            target_type="token",
            target_id=token.id,
            detail={"name": token.name},
        )
        return token

    try:
        token = _run(lambda: _with_db(cfg, lambda db: db.write(do_revoke)))
    except tokens.TokenError as exc:
        print(f"webrix: {exc}", file=sys.stderr)
        return 1
    print(f"Revoked token {token.id} ({token.name}).")
    return 0


def _check(cfg: Config) -> int:
    print(f"Config {cfg.source}: OK")
    print()
    print("Paste into JumpCloud (SSO → your Webrix app):")
    print(f"  Redirect URI:   {cfg.redirect_uri}")
    print("  Client Authentication Type: Client Secret Basic")
    print("Paste into JumpCloud (Identity Management → SCIM):")
    print(f"  Base URL:       {cfg.scim_base_url}")
    print("  Token Key:      API Token (Bearer); create one with `webrix token create`")
    from app.checks import check_provider

    return _run(lambda: check_provider(cfg))


def _serve(cfg: Config, args: argparse.Namespace) -> int:
    import uvicorn

    from app.logs import setup_logging
    from app.main import create_app

    async def ready(db: Database) -> None:
        return None

    _run(lambda: _with_db(cfg, ready))  # migrate now: a bad database is a message, not a traceback
    setup_logging(cfg.server.log_level)
    uvicorn.run(
        create_app(cfg),
        host=args.host or cfg.server.host,
        port=args.port if args.port is not None else cfg.server.port,
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=bool(cfg.server.trusted_proxies),  # no proxy trusted: no middleware
        forwarded_allow_ips=list(cfg.server.trusted_proxies),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `webrix` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from app.demo.command import run_demo

            return run_demo(args)
        cfg = config_mod.load(_config_path(args))
        if args.command == "serve":
            return _serve(cfg, args)
        if args.command == "token":
            return _token_command(cfg, args)
        if args.command == "check":
            return _check(cfg)
        if args.command == "db":
            backup(cfg.database.path, args.dest)
            print(f"Backed up {cfg.database.path} to {args.dest} (integrity check: ok)")
            return 0
    except ConfigError as exc:
        print("webrix: the configuration has problems:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseError as exc:
        print(f"webrix: database: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 1

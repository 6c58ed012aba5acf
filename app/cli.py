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


CONFIG_HELP = "config file (default: $WEBRIX_CONFIG, else ./config.toml)"


def _port(text: str) -> int:
    """A TCP port for argparse: 1 to 65535."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return int(text)


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every command takes, before or after its name (`webrix check --config x`).

    On the commands the default is SUPPRESS, so that an option not given there leaves what was
    given before the command alone, and one given there (the later one) wins.
    """
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None if top else argparse.SUPPRESS,
        help=CONFIG_HELP,
    )


def _with_global_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`parser` with the global options on it and on every command that reads the config."""
    _global_options(parser, top=True)
    pending = [parser]
    while pending:
        for action in pending.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, command in action.choices.items():
                    if name != "demo":  # the demo writes its own config under --data
                        _global_options(command, top=False)
                        pending.append(command)
    return parser


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="webrix", description="Webrix on-premise identity service.")
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

    bundle = sub.add_parser(
        "support-bundle", help="one .zip for Webrix support: versions, redacted config, errors"
    )
    bundle.add_argument(
        "--since", default="24h", help="window of errors to include, e.g. 2h, 24h, 7d (default 24h)"
    )
    bundle.add_argument("--out", metavar="FILE", help="file to create (default: in this folder)")
    bundle.add_argument(
        "--include-users",
        action="store_true",
        help="also list users and their email addresses (left out by default)",
    )

    demo = sub.add_parser("demo", help="run everything locally with a built-in identity provider")
    demo.add_argument("--data", default="data", help="folder for the demo config and database")
    demo.add_argument("--port", type=_port, default=8080, help="port of the service (default 8080)")
    demo.add_argument(
        "--idp-port",
        type=_port,
        default=8081,
        help="port of the demo identity provider (default 8081)",
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
    from app.checks_cli import check

    return _run(lambda: check(cfg))


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
    parser = _with_global_options(_parser())
    args = parser.parse_args(argv)
    if args.command == "demo" and args.config is not None:
        parser.error("`webrix demo` writes its own config under --data; --config does not apply")
    # Whatever the service writes (database, backups, generated config) is for its user alone;
    # app.files also gives the modes at creation, this covers files SQLite or a library makes.
    umask = os.umask(0o077)
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
        if args.command == "support-bundle":
            from app.support.command import support_bundle

            return support_bundle(cfg, args)
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
    finally:
        os.umask(umask)
    return 1

"""The ``dqm`` command: serve, migrate, keys, demo.

Each command imports what it needs when it runs, so ``dqm --help`` and a mistyped setting
answer without loading the database, HTTP and numeric stacks.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from dqm.service.settings import Settings


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"  DQM_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        sys.exit("invalid settings:\n" + "\n".join(lines))


def migrate(settings: Settings) -> None:
    from dqm.service.db.migrate import upgrade_url

    upgrade_url(settings.database_url)


def guard_exposure(settings: Settings) -> None:
    """Create the bootstrap admin key if set; refuse a non-loopback bind without any key."""
    from dqm.service.auth import ensure_bootstrap_key, has_active_key
    from dqm.service.clock import utcnow
    from dqm.service.db.session import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        if settings.bootstrap_admin_key is not None:
            ensure_bootstrap_key(
                sessions, settings.bootstrap_admin_key.get_secret_value(), utcnow()
            )
        if settings.is_loopback:
            return
        with sessions() as session:
            protected = has_active_key(session)
    finally:
        engine.dispose()
    if not protected:
        sys.exit(
            f"refusing to serve on {settings.host}: no API key exists, so anyone who can reach "
            "the port could use the API. Create one with `dqm keys create --name NAME --scope "
            "admin`, or set DQM_BOOTSTRAP_ADMIN_KEY, or bind to 127.0.0.1."
        )


def keys(settings: Settings, args: argparse.Namespace) -> None:
    from dqm.monitors.errors import DqmError
    from dqm.service.auth import create_key, list_keys, revoke_key
    from dqm.service.clock import utcnow
    from dqm.service.db.session import make_engine, make_sessionmaker

    logging.getLogger("alembic").setLevel(logging.WARNING)
    migrate(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        if args.keys_command == "create":
            print(create_key(sessions, args.name, tuple(args.scope), utcnow()))
            print(f"key {args.name!r} created; it is shown only this once", file=sys.stderr)
        elif args.keys_command == "revoke":
            revoke_key(sessions, args.name, utcnow())
            print(f"key {args.name!r} revoked")
        else:
            for k in list_keys(sessions):
                state = f"revoked {k.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if k.revoked_at else "active"
                print(f"{k.name}\t{k.prefix}\t{','.join(k.scopes)}\t{state}")
    except DqmError as exc:
        sys.exit(f"dqm keys {args.keys_command}: {exc.message}")
    finally:
        engine.dispose()


def serve(settings: Settings, apply_migrations: bool) -> None:
    import uvicorn

    from dqm.service.app import create_app

    if apply_migrations:
        migrate(settings)
    guard_exposure(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dqm", description="Data-quality monitoring service.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="apply migrations and serve the API (and the worker)")
    p_serve.add_argument("--host", help="bind address (default 127.0.0.1, env DQM_HOST)")
    p_serve.add_argument("--port", type=int, help="port (default 8000, env DQM_PORT)")
    p_serve.add_argument("--role", choices=["all", "api", "worker"], help="env DQM_ROLE")
    p_serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    sub.add_parser("migrate", help="apply database migrations and exit")
    p_keys = sub.add_parser("keys", help="create, list and revoke API keys")
    keys_sub = p_keys.add_subparsers(dest="keys_command", required=True)
    p_create = keys_sub.add_parser("create", help="create a key and print it (shown once)")
    p_create.add_argument("--name", required=True, help="a unique name for the key")
    p_create.add_argument(
        "--scope", action="append", required=True, choices=["ingest", "read", "admin"]
    )
    keys_sub.add_parser("list", help="name, prefix, scopes and state of every key")
    keys_sub.add_parser("revoke", help="revoke a key by name").add_argument("name")
    p_demo = sub.add_parser("demo", help="a 2-minute tour on a throwaway database")
    p_demo.add_argument("--keep", action="store_true", help="keep the demo's data folder")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "serve":
        settings = _settings(host=args.host, port=args.port, role=args.role)
        serve(settings, apply_migrations=not args.no_migrate)
    elif args.command == "migrate":
        migrate(_settings())
        print("database is at the newest revision")
    elif args.command == "keys":
        keys(_settings(), args)
    elif args.command == "demo":
        from dqm.service.demo import run_demo

        run_demo(keep=args.keep)


if __name__ == "__main__":
    main()

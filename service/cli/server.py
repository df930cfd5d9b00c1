"""Commands that work on the server's own database: serve, migrate, keys, demo.

Each imports what it needs when it runs, so ``dqm --help`` and a mistyped setting answer
without loading the database, HTTP and numeric stacks.
"""

from __future__ import annotations

import enum
import logging
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from dqm.service.settings import Settings


class Role(enum.StrEnum):
    all = "all"
    api = "api"
    worker = "worker"


class Scope(enum.StrEnum):
    ingest = "ingest"
    read = "read"
    admin = "admin"


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = [f"  DQM_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        sys.exit("invalid settings:\n" + "\n".join(lines))


def run_migrations(settings: Settings) -> None:
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


def serve(
    host: Annotated[
        str | None, typer.Option(help="bind address (default 127.0.0.1, env DQM_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000, env DQM_PORT)")] = None,
    role: Annotated[Role | None, typer.Option(help="env DQM_ROLE")] = None,
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="do not apply migrations")
    ] = False,
) -> None:
    """Apply migrations and serve the API (and the worker)."""
    _logging()
    settings = _settings(host=host, port=port, role=role.value if role else None)
    import uvicorn

    from dqm.service.app import create_app

    if not no_migrate:
        run_migrations(settings)
    guard_exposure(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
    )


def migrate() -> None:
    """Apply database migrations and exit."""
    _logging()
    run_migrations(_settings())
    print("database is at the newest revision")


keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _keys(command: str, name: str | None = None, scopes: tuple[str, ...] = ()) -> None:
    from dqm.monitors.errors import DqmError
    from dqm.service.auth import create_key, list_keys, revoke_key
    from dqm.service.clock import utcnow
    from dqm.service.db.session import make_engine, make_sessionmaker

    settings = _settings()
    _logging()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run_migrations(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        if command == "create":
            assert name is not None
            print(create_key(sessions, name, scopes, utcnow()))
            print(f"key {name!r} created; it is shown only this once", file=sys.stderr)
        elif command == "revoke":
            assert name is not None
            revoke_key(sessions, name, utcnow())
            print(f"key {name!r} revoked")
        else:
            for k in list_keys(sessions):
                state = f"revoked {k.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if k.revoked_at else "active"
                print(f"{k.name}\t{k.prefix}\t{','.join(k.scopes)}\t{state}")
    except DqmError as exc:
        sys.exit(f"dqm keys {command}: {exc.message}")
    finally:
        engine.dispose()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="a unique name for the key")],
    scope: Annotated[list[Scope], typer.Option(help="ingest, read or admin (repeatable)")],
) -> None:
    """Create a key and print it (shown once)."""
    _keys("create", name, tuple(s.value for s in scope))


@keys_app.command("list")
def keys_list() -> None:
    """Name, prefix, scopes and state of every key."""
    _keys("list")


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="the key's name")]) -> None:
    """Revoke a key by name."""
    _keys("revoke", name)


def demo(
    keep: Annotated[bool, typer.Option("--keep", help="keep the demo's data folder")] = False,
) -> None:
    """A 2-minute tour on a throwaway database."""
    _logging()
    from dqm.service.demo import run_demo

    run_demo(keep=keep)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(migrate)
    app.add_typer(keys_app, name="keys")
    app.command()(demo)

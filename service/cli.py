"""The ``dqm`` command: serve, migrate, demo."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from service.settings import Settings


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"  DQM_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        sys.exit("invalid settings:\n" + "\n".join(lines))


def migrate(settings: Settings) -> None:
    from service.db.migrate import upgrade
    from service.db.session import make_engine

    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def serve(settings: Settings, apply_migrations: bool) -> None:
    import uvicorn

    from service.app import create_app

    if apply_migrations:
        migrate(settings)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dqm", description="Data-quality monitoring service.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="apply migrations and serve the API (and the worker)")
    p_serve.add_argument("--host", help="bind address (default 127.0.0.1, env DQM_HOST)")
    p_serve.add_argument("--port", type=int, help="port (default 8000, env DQM_PORT)")
    p_serve.add_argument("--role", choices=["all", "api", "worker"], help="env DQM_ROLE")
    p_serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    sub.add_parser("migrate", help="apply database migrations and exit")
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
    elif args.command == "demo":
        from service.demo import run_demo

        run_demo(keep=args.keep)


if __name__ == "__main__":
    main()

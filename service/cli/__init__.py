"""The ``dqm`` command.

Server side: ``serve``, ``migrate``, ``keys``, ``demo`` (``server.py``). Talking to a server
(``--url`` / ``DQM_URL``, ``--api-key`` / ``DQM_API_KEY``) through ``dqm_client``: ``push``,
``reference``, ``labels`` (``data.py``), ``datasets``, ``monitors``, ``runs``, ``alerts``, ``hooks``
(``listings.py``), ``run`` (``runs.py``), ``relabel export`` (``relabel.py``), ``apply``
(``apply.py``, monitors as config). A command group
is a module with ``register(app)``, added to ``GROUPS``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
import typer

from dqm.service import example_data
from dqm.service.cli import apply, data, listings, relabel, runs, server

GROUPS = (server, data, listings, runs, relabel, apply, example_data)

app = typer.Typer(
    name="dqm",
    help="Data-quality monitoring service: run it, and use it from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in GROUPS:
    group.register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); exits with the command's
    status when it is not 0 (``SystemExit`` with a message for ``sys.exit("...")``)."""
    command = typer.main.get_command(app)
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        code = command.main(args=args, prog_name="dqm", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(1)
    if isinstance(code, int) and code != 0:
        sys.exit(code)

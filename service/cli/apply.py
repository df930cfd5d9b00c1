"""``dqm apply -f FILE_OR_FOLDER``: make the server's datasets, hooks and monitors match YAML
files (docs/apply.md), idempotently; ``--dry-run`` prints the diff and changes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dqm.service.cli.apply_file import ApplyFileError, load
from dqm.service.cli.apply_plan import Change, Plan, current, plan, secrets
from dqm.service.cli.remote import ApiKey, Url, connected, console

if TYPE_CHECKING:
    from dqm_client import Client

SIGN = {"create": "+", "update": "~", "delete": "-"}
STYLE = {"create": "green", "update": "yellow", "delete": "red"}


def _value(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def show(p: Plan, applied: bool) -> None:
    """Print each change (field-level for updates), what is kept, and a count."""
    out = console()
    for c in p.changes:
        note = f" ({c.note})" if c.note else ""
        out.print(f"[{STYLE[c.action]}]{SIGN[c.action]} {c.action} {c.section}/{c.name}[/]{note}")
        for f in c.fields:
            out.print(f"    {f.path}: {_value(f.old)} -> {_value(f.new)}", markup=False)
    for name in p.kept:
        out.print(f"  kept {name}: not in the files (--prune deletes it)", markup=False)
    counts = {a: sum(c.action == a for c in p.changes) for a in SIGN}
    if not p.changes:
        out.print("No changes: the server matches the files.")
    else:
        verb = "applied" if applied else "to apply (dry run: nothing changed)"
        summary = ", ".join(f"{n} to {a}" for a, n in counts.items() if n)
        out.print(f"{len(p.changes)} change(s) {verb}: {summary}.")


def _refuse(title: str, problems: list[str]) -> typer.Exit:
    """``error: title`` and one unwrapped ``file:line: path: message`` line per problem."""
    err = console(stderr=True)
    err.print(f"[bold red]error:[/] {title}", markup=True, highlight=False)
    for line in problems:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _execute(client: Client, c: Change) -> None:
    if c.section == "datasets":
        if c.action == "create":
            client.create_dataset(c.name, c.body.get("schema"))
        elif c.action == "update":
            client.update_dataset(c.name, c.body)
        else:
            client.delete_dataset(c.name)
    elif c.section == "hooks":
        if c.action == "create":
            client.create_hook(c.name, c.body["url"], c.body["events"], c.body.get("secret"))
        elif c.action == "update":
            client.update_hook(c.name, c.body)
        else:
            client.delete_hook(c.name)
    elif c.action == "create":
        client.create_monitor(c.body)
    elif c.action == "update":
        client.update_monitor(c.name, c.body)
    else:
        client.delete_monitor(c.name)


def apply(
    files: Annotated[
        list[Path],
        typer.Option("-f", "--file", help="a YAML file or a folder of them (repeatable)"),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the changes, make none")
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="with --dry-run: exit 2 when there are changes")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="delete monitors and hooks the files do not have")
    ] = False,
    prune_datasets: Annotated[
        bool,
        typer.Option("--prune-datasets", help="delete datasets the files do not have (and data)"),
    ] = False,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Create, update and (with --prune) delete datasets, hooks and monitors so the server
    matches the files. Hook secrets come from the environment (secret_env)."""
    try:
        declared = load(files)
        secret_values = secrets(declared, os.environ)
    except ApplyFileError as exc:
        raise _refuse("invalid apply files, nothing changed:", exc.problems) from None
    with connected(url, api_key) as client:
        try:
            p = plan(declared, current(client), secret_values, prune, prune_datasets)
        except ApplyFileError as exc:
            title = "the files do not fit the server, nothing changed:"
            raise _refuse(title, exc.problems) from None
        if not dry_run:
            for i, change in enumerate(p.changes):
                try:
                    _execute(client, change)
                except Exception:
                    done = Plan(p.changes[:i], [])
                    if done.changes:
                        show(done, applied=True)
                    console(stderr=True).print(
                        f"failed at {change.action} {change.section}/{change.name}",
                        markup=False,
                    )
                    raise
    show(p, applied=not dry_run)
    if dry_run and exit_code and p.changes:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command()(apply)

"""``dqm run MONITOR --wait``: run a monitor now and show the result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dqm.service.cli.remote import ApiKey, Json, Url, connected, console, number, print_json

if TYPE_CHECKING:
    from dqm_client import Alert, Run


def _show(run: Run, alerts: list[Alert]) -> None:
    from rich.table import Table

    out = console()
    style = {"succeeded": "green", "failed": "red"}.get(run.status, "yellow")
    rows = (run.window or {}).get("rows")
    out.print(
        f"run {run.id} of {run.monitor}: [{style}]{run.status}[/]"
        + (f" on {rows} rows" if rows is not None else "")
        + (f", reference v{run.reference_version}" if run.reference_version else "")
    )
    if run.error:
        out.print(f"[red]{run.error}[/]")
    if run.metrics:
        table = Table(header_style="bold")
        for column in ("metric", "column", "value", "method", "threshold", "drifted"):
            table.add_column(column)
        for m in run.metrics:
            drifted = "-" if m.drifted is None else ("[red]yes[/]" if m.drifted else "no")
            table.add_row(
                m.name,
                m.column or "-",
                number(m.value),
                m.method or "-",
                number(m.threshold),
                drifted,
            )
        out.print(table)
    for a in alerts:
        out.print(
            f"[bold red]alert {a.state}[/]: {a.metric}"
            + (f"[{a.column}]" if a.column else "")
            + f" = {number(a.value)} ({a.severity}, threshold {number(a.threshold)})"
        )


def run(
    monitor: Annotated[str, typer.Argument(help="the monitor's name")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait for the result")] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait at most")] = 600.0,
    url: Url = None,
    api_key: ApiKey = None,
    as_json: Json = False,
) -> None:
    """Run MONITOR now and show its metrics and open alerts.

    With --no-wait, print the queued run's id. Exits 1 when the run failed."""
    with connected(url, api_key) as client:
        run_id = client.run_now(monitor)
        if not wait:
            if as_json:
                print_json({"run_id": run_id})
            else:
                console().print(f"run {run_id} of {monitor} queued")
            return
        with console(stderr=True).status(f"run {run_id} of {monitor} ..."):
            result = client.wait_for_run(run_id, timeout=timeout)
        open_alerts = [a for a in client.alerts(monitor=monitor) if a.state != "resolved"]
    if as_json:
        print_json(result.raw)
    else:
        _show(result, open_alerts)
    if result.status == "failed":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(run)

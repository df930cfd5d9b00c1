"""``dqm datasets | monitors | runs MONITOR | alerts | hooks``: listings as tables or JSON."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from dqm.service.cli.remote import ApiKey, Json, Limit, Url, connected, listing, number, when

if TYPE_CHECKING:
    from dqm_client import Alert, Dataset, Hook, Monitor, Run


class AlertState(enum.StrEnum):
    pending = "pending"
    firing = "firing"
    resolved = "resolved"


def _columns(d: Dataset) -> str:
    return str(len((d.schema or {}).get("columns", []))) if d.schema else "-"


def datasets(
    url: Url = None, api_key: ApiKey = None, as_json: Json = False, limit: Limit = None
) -> None:
    """Datasets: columns, current reference version, created."""
    with connected(url, api_key) as client:
        found = list(client.datasets(limit=limit))
    listing(
        found,
        as_json,
        "datasets",
        ["name", "columns", "reference", "schema", "created"],
        lambda d: [
            d.name,
            _columns(d),
            number(d.current_reference_version),
            "inferred" if d.schema_inferred else ("given" if d.schema else "-"),
            when(d.created_at),
        ],
        "no datasets",
    )


def _schedule(m: Monitor) -> str:
    return ", ".join(f"{k} {v}" for k, v in m.schedule.items()) or "-"


def monitors(
    url: Url = None, api_key: ApiKey = None, as_json: Json = False, limit: Limit = None
) -> None:
    """Monitors: dataset, kind, schedule, rules, next run."""
    with connected(url, api_key) as client:
        found = list(client.monitors(limit=limit))
    listing(
        found,
        as_json,
        "monitors",
        ["name", "dataset", "kind", "schedule", "rules", "enabled", "next run"],
        lambda m: [
            m.name,
            m.dataset,
            m.kind,
            _schedule(m),
            str(len(m.rules)),
            "yes" if m.enabled else "no",
            when(m.next_run_at),
        ],
        "no monitors",
    )


def headline(run: Run) -> str:
    """The run's first dataset-level metric, e.g. ``share_drifted_columns 0.25``."""
    top = next((m for m in run.metrics if m.column is None), None)
    return f"{top.name} {number(top.value)}" if top else (run.error or "-")


def runs(
    monitor: Annotated[str, typer.Argument(help="the monitor's name")],
    url: Url = None,
    api_key: ApiKey = None,
    as_json: Json = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="at most this many")] = 20,
) -> None:
    """A monitor's runs, newest first."""
    with connected(url, api_key) as client:
        found = list(client.runs(monitor, limit=limit))
    listing(
        found,
        as_json,
        f"runs of {monitor}",
        ["id", "status", "trigger", "scheduled", "finished", "rows", "result"],
        lambda r: [
            str(r.id),
            r.status,
            r.trigger,
            when(r.scheduled_for),
            when(r.finished_at),
            number((r.window or {}).get("rows")),
            headline(r),
        ],
        f"no runs of {monitor} yet",
    )


def alerts(
    url: Url = None,
    api_key: ApiKey = None,
    as_json: Json = False,
    limit: Limit = None,
    state: Annotated[AlertState | None, typer.Option(help="only alerts in this state")] = None,
    monitor: Annotated[str | None, typer.Option(help="only this monitor's alerts")] = None,
) -> None:
    """Alerts, newest first: monitor, metric, state, value against threshold."""
    with connected(url, api_key) as client:
        found: list[Alert] = list(
            client.alerts(state=state.value if state else None, monitor=monitor, limit=limit)
        )
    listing(
        found,
        as_json,
        "alerts",
        ["id", "monitor", "metric", "column", "severity", "state", "value", "threshold", "since"],
        lambda a: [
            str(a.id),
            a.monitor,
            a.metric,
            a.column or "-",
            a.severity,
            a.state,
            number(a.value),
            number(a.threshold),
            when(a.firing_at or a.started_at),
        ],
        "no alerts",
    )


def hooks(
    url: Url = None, api_key: ApiKey = None, as_json: Json = False, limit: Limit = None
) -> None:
    """Webhook endpoints: URL, events, enabled."""
    with connected(url, api_key) as client:
        found: list[Hook] = list(client.hooks(limit=limit))
    listing(
        found,
        as_json,
        "hooks",
        ["name", "url", "events", "enabled"],
        lambda h: [
            h.name,
            h.url,
            ", ".join(h.events),
            "yes" if h.enabled else f"no ({h.disabled_reason or 'disabled'})",
        ],
        "no hooks",
    )


def register(app: typer.Typer) -> None:
    for command in (datasets, monitors, runs, alerts, hooks):
        app.command()(command)

"""A monitor's page, ``/monitors/{name}``: metric history with rule thresholds and alert
periods, a column × run heatmap, its runs and its configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from dqm.service.alerting.summary import monitor_alerts
from dqm.service.clock import utcnow
from dqm.service.console import charts
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.db.models import Alert
from dqm.service.runs.monitors import get_monitor_of_dataset
from dqm.service.runs.summary import (
    column_matrix,
    duration_of,
    key_metric,
    lag_of,
    metric_columns,
    metric_names,
    recent_points,
    recent_runs,
)

router = page_router()
POINTS = 200
HEATMAP_RUNS = 30
RUNS = 50
HEAT_DEFAULTS = ("effect_size", "drift_score")


def _applies(rule: dict[str, Any], metric: str, column: str | None) -> bool:
    if rule.get("metric") != metric or rule.get("value") is None:
        return False
    wanted = rule.get("column")
    if column is None:
        return wanted is None
    return wanted == "*" or wanted == column or (isinstance(wanted, list) and column in wanted)


def thresholds(rules: list[dict[str, Any]], metric: str, column: str | None) -> list[Any]:
    """(label, value) of the fixed-threshold rules on this series."""
    return [
        (f"{r.get('severity', 'warning')}: {r['op']} {r['value']}", float(r["value"]))
        for r in rules
        if _applies(r, metric, column)
    ]


def periods(
    alerts: list[Alert], metric: str, column: str | None, now: datetime
) -> list[tuple[datetime, datetime, str]]:
    """(firing from, to, severity) of the alert episodes on this series that fired."""
    return [
        (a.firing_at, a.resolved_at or now, a.severity)
        for a in alerts
        if a.metric == metric and a.column == column and a.firing_at is not None
    ]


def _choice(wanted: str | None, options: list[str], fallback: str | None) -> str | None:
    if wanted in options:
        return wanted
    return fallback if fallback in options else (options[0] if options else None)


@router.get("/monitors/{name}")
def monitor_page(
    request: Request,
    name: str,
    viewer: ReaderDep,
    metric: str | None = None,
    column: str | None = None,
    heat: str | None = None,
) -> HTMLResponse:
    now = utcnow()
    with ctx_of(request).sessions() as session:
        monitor, dataset = get_monitor_of_dataset(session, name)
        level, per_column = metric_names(session, monitor.id)
        chosen = _choice(metric, level + per_column, key_metric(monitor, level))
        columns = metric_columns(session, monitor.id, chosen) if chosen in per_column else []
        series_column = _choice(column, columns, None) if columns else None
        points = recent_points(session, monitor.id, chosen, series_column, POINTS) if chosen else []
        heat_metric = _choice(
            heat, per_column, next((h for h in HEAT_DEFAULTS if h in per_column), None)
        )
        matrix = (
            column_matrix(session, monitor.id, heat_metric, HEATMAP_RUNS) if heat_metric else None
        )
        alerts = monitor_alerts(session, monitor.id, 100)
        runs = recent_runs(session, monitor.id, RUNS)
    rules = monitor.rules.get("items", [])
    specs: dict[str, Any] = {}
    if chosen and points:
        label = chosen + (f" [{series_column}]" if series_column else "")
        specs["series"] = charts.series_chart(
            label,
            {label: points},
            thresholds(rules, chosen, series_column),
            periods(alerts, chosen, series_column, now),
        )
    if matrix and matrix[0]:
        specs["heatmap"] = charts.heatmap(f"{heat_metric} by column and run", *matrix)
    return render(
        request,
        viewer,
        "monitor.html",
        title=f"Monitor {monitor.name}",
        nav="overview",
        breadcrumbs=[("Overview", ()), (dataset, ("datasets", dataset)), (monitor.name, None)],
        monitor=monitor,
        dataset=dataset,
        rules=rules,
        metric=chosen,
        metrics=level + per_column,
        per_column=per_column,
        columns=columns,
        column=series_column,
        points=points,
        heat=heat_metric,
        matrix=matrix,
        alerts=alerts,
        runs=runs,
        lag_of=lag_of,
        duration_of=duration_of,
        specs=specs,
        charts=bool(specs),
        threshold_lines=thresholds(rules, chosen, series_column) if chosen else [],
    )

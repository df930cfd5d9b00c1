"""A monitor's page, ``/monitors/{name}``: metric history with rule thresholds and alert
periods, a column × run heatmap, its runs and its configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from dqm.service.alerting.summary import monitor_alerts
from dqm.service.clock import utcnow
from dqm.service.console import charts
from dqm.service.console.web import ReaderDep, ctx_of, page_router, render
from dqm.service.db.models import Alert, Monitor
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
RULE_CHARTS = 6
Series = tuple[str, str | None]  # (metric, column)
Point = tuple[int, datetime, float | None]


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


def rule_series(
    rules: list[dict[str, Any]], level: list[str], per_column: list[str], shown: Series | None
) -> list[Series]:
    """The other series the rules watch: dataset-level metrics and named columns (a rule on
    every column, or a list of them, is left to the selector), at most ``RULE_CHARTS``."""
    found: list[Series] = []
    for rule in rules:
        metric, column = rule.get("metric"), rule.get("column")
        dataset_level = column is None and metric in level
        named = isinstance(column, str) and column != "*" and metric in per_column
        key = (str(metric), column)
        if (dataset_level or named) and key != shown and key not in found:
            found.append(key)
    return found[:RULE_CHARTS]


def _chart(
    rules: list[dict[str, Any]],
    alerts: list[Alert],
    series: Series,
    points: list[Point],
    now: datetime,
) -> dict[str, Any]:
    metric, column = series
    label = metric + (f" [{column}]" if column else "")
    return charts.series_chart(
        label,
        {label: points},
        thresholds(rules, metric, column),
        periods(alerts, metric, column, now),
    )


def _history(
    session: Session, monitor: Monitor, metric: str | None, column: str | None
) -> dict[str, Any]:
    """The series to draw: the selected one (else the key metric), then the rules' own."""
    level, per_column = metric_names(session, monitor.id)
    chosen = _choice(metric, level + per_column, key_metric(monitor, level))
    columns = metric_columns(session, monitor.id, chosen) if chosen in per_column else []
    shown_column = _choice(column, columns, None) if columns else None
    series: list[Series] = [(chosen, shown_column)] if chosen else []
    rules = monitor.rules.get("items", [])
    series += rule_series(rules, level, per_column, series[0] if series else None)
    points = [recent_points(session, monitor.id, m, c, POINTS) for m, c in series]
    return {
        "metric": chosen,
        "metrics": level + per_column,
        "per_column": per_column,
        "columns": columns,
        "column": shown_column,
        "series": list(zip(series, points, strict=True)),
    }


def _heatmap(session: Session, monitor_id: int, heat: str | None, per_column: list[str]) -> Any:
    default = next((h for h in HEAT_DEFAULTS if h in per_column), None)
    chosen = _choice(heat, per_column, default)
    matrix = column_matrix(session, monitor_id, chosen, HEATMAP_RUNS) if chosen else None
    return chosen, matrix


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
        history = _history(session, monitor, metric, column)
        heat_metric, matrix = _heatmap(session, monitor.id, heat, history["per_column"])
        alerts = monitor_alerts(session, monitor.id, 100)
        runs = recent_runs(session, monitor.id, RUNS)
    rules = monitor.rules.get("items", [])
    specs = {
        f"series-{i}": _chart(rules, alerts, s, p, now)
        for i, (s, p) in enumerate(history["series"])
        if p
    }
    if matrix and matrix[0]:
        specs["heatmap"] = charts.heatmap(f"{heat_metric} by column and run", *matrix)
    return render(
        request,
        viewer,
        "monitor.html",
        title=f"Monitor {monitor.name}",
        nav="overview",
        breadcrumbs=[("Overview", ()), (dataset, ("datasets", dataset)), (monitor.name, None)],
        **history,
        monitor=monitor,
        dataset=dataset,
        rules=rules,
        thresholds=thresholds,
        heat=heat_metric,
        matrix=matrix,
        alerts=alerts,
        runs=runs,
        lag_of=lag_of,
        duration_of=duration_of,
        specs=specs,
        charts=bool(specs),
    )

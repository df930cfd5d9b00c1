"""Plotly figure specs (plain dicts) the pages embed as JSON; console.js draws them.

Every chart also has its numbers in an HTML table on the page, so nothing is lost without
JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dqm.service.console.filters import iso

Spec = dict[str, Any]
ALERT_FILL = {"critical": "rgba(179,38,30,0.18)", "warning": "rgba(200,120,0,0.16)"}


def sparkline(points: list[tuple[int, datetime, float | None]]) -> Spec:
    """A tiny line of a metric's recent values (no axes)."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines" if len(points) > 1 else "markers",
                "x": [iso(at) for _, at, _ in points],
                "y": [v for _, _, v in points],
                "line": {"width": 1.5, "color": "#1f5fbf"},
                "hoverinfo": "skip",
            }
        ],
        "layout": {
            "margin": {"l": 2, "r": 2, "t": 2, "b": 2},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "showlegend": False,
            "height": 48,
            "width": 140,
        },
    }


def _line(name: str, points: list[tuple[int, datetime, float | None]]) -> Spec:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": [iso(at) for _, at, _ in points],
        "y": [v for _, _, v in points],
        "customdata": [run for run, _, _ in points],
        "hovertemplate": "run %{customdata}<br>%{x}<br>%{y}<extra>" + name + "</extra>",
    }


def _threshold(label: str, value: float) -> tuple[Spec, Spec]:
    """A dashed horizontal line across the plot and its label at the right end."""
    line = {"dash": "dash", "width": 1.5, "color": "#b3261e"}
    shape = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": value, "y1": value}
    note = {"xref": "paper", "x": 1, "y": value, "text": label, "showarrow": False}
    note.update(xanchor="right", yanchor="bottom", font={"size": 10})
    return {**shape, "line": line}, note


def _period(start: datetime, end: datetime, severity: str) -> Spec:
    """A shaded band over the time an alert was firing."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": iso(start),
        "x1": iso(end),
        "y0": 0,
        "y1": 1,
        "fillcolor": ALERT_FILL.get(severity, "rgba(120,120,120,0.15)"),
        "line": {"width": 0},
        "layer": "below",
    }


def series_chart(
    title: str,
    lines: dict[str, list[tuple[int, datetime, float | None]]],
    thresholds: list[tuple[str, float]],
    periods: list[tuple[datetime, datetime, str]],
) -> Spec:
    """Metric lines over time, rule thresholds as dashed lines, alert periods as bands."""
    marks = [_threshold(label, value) for label, value in thresholds]
    layout = {
        "title": {"text": title, "font": {"size": 14}},
        "shapes": [shape for shape, _ in marks] + [_period(*p) for p in periods],
        "annotations": [note for _, note in marks],
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.2},
        "height": 340,
    }
    return {"data": [_line(name, points) for name, points in lines.items()], "layout": layout}


def heatmap(title: str, columns: list[str], runs: list[int], z: list[list[float | None]]) -> Spec:
    """Column × run matrix of a per-column metric."""
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [f"run {r}" for r in runs],
                "y": columns,
                "z": z,
                "colorscale": "YlOrRd",
                "reversescale": True,  # Plotly's YlOrRd runs red to yellow: high values red
                "hoverongaps": False,
                "hovertemplate": "%{y} · %{x}<br>%{z}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 14}},
            "height": max(260, 60 + 22 * len(columns)),
            "xaxis": {"type": "category"},
            "yaxis": {"type": "category", "automargin": True},
        },
    }

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


def series_chart(
    title: str,
    lines: dict[str, list[tuple[int, datetime, float | None]]],
    thresholds: list[tuple[str, float]],
    periods: list[tuple[datetime, datetime, str]],
) -> Spec:
    """Metric lines over time, rule thresholds as dashed lines, alert periods as bands."""
    data: list[Spec] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [iso(at) for _, at, _ in points],
            "y": [v for _, _, v in points],
            "customdata": [run for run, _, _ in points],
            "hovertemplate": "run %{customdata}<br>%{x}<br>%{y}<extra>" + name + "</extra>",
        }
        for name, points in lines.items()
    ]
    shapes: list[Spec] = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": value,
            "y1": value,
            "line": {"dash": "dash", "width": 1.5, "color": "#b3261e"},
        }
        for _, value in thresholds
    ]
    shapes += [
        {
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
        for start, end, severity in periods
    ]
    annotations = [
        {
            "xref": "paper",
            "x": 1,
            "y": value,
            "text": label,
            "showarrow": False,
            "xanchor": "right",
            "yanchor": "bottom",
            "font": {"size": 10},
        }
        for label, value in thresholds
    ]
    layout = {
        "title": {"text": title, "font": {"size": 14}},
        "shapes": shapes,
        "annotations": annotations,
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.2},
        "height": 340,
    }
    return {"data": data, "layout": layout}


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

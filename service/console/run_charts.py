"""Plotly specs of the run page: a column's reference and window distributions as the run
stored them (``dqm.monitors.distribution_summary``), drawn as shares of each side's values so
windows of different sizes compare; hovering shows the counts."""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]
REFERENCE_COLOR = "#6b7a90"
WINDOW_COLOR = "#d9480f"


def _shares(counts: list[int], n: int) -> list[float]:
    return [c / n if n else 0.0 for c in counts]


def _bar(name: str, x: list[Any], counts: list[int], n: int, color: str, **extra: Any) -> Spec:
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": _shares(counts, n),
        "customdata": counts,
        "marker": {"color": color},
        "hovertemplate": f"{name}<br>%{{x}}<br>%{{customdata}} values (%{{y:.1%}})<extra></extra>",
        **extra,
    }


def bin_edges(summary: dict[str, Any]) -> list[float]:
    """The edges of a numerical summary's equal-width bins.

    >>> bin_edges({"min": 0.0, "max": 1.0, "reference": [1, 2, 3, 4]})
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    lo, hi, bins = float(summary["min"]), float(summary["max"]), len(summary["reference"])
    return [lo + (hi - lo) * i / bins for i in range(bins)] + [hi]


def category_labels(summary: dict[str, Any]) -> tuple[list[str], list[int], list[int]]:
    """Categories with their reference and window counts, ``(other)`` last when non-zero."""
    labels, ref, cur = (
        list(summary["categories"]),
        list(summary["reference"]),
        list(summary["current"]),
    )
    if summary["reference_other"] or summary["current_other"]:
        labels.append("(other)")
        ref.append(summary["reference_other"])
        cur.append(summary["current_other"])
    return labels, ref, cur


def distribution_chart(column: str, summary: dict[str, Any], subtitle: str) -> Spec:
    """Reference against window: a histogram for numbers, bars for categories."""
    ref_n, cur_n = int(summary["reference_n"]), int(summary["current_n"])
    if summary["type"] == "numerical" and "min" in summary:
        edges = bin_edges(summary)
        centers = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
        width = (edges[-1] - edges[0]) / len(centers) if edges[-1] > edges[0] else 1.0
        options = {"width": width, "opacity": 0.6}
        data = [
            _bar("reference", centers, summary["reference"], ref_n, REFERENCE_COLOR, **options),
            _bar("window", centers, summary["current"], cur_n, WINDOW_COLOR, **options),
        ]
        layout_extra: Spec = {"barmode": "overlay", "bargap": 0}
    else:
        labels, ref, cur = category_labels(summary)
        data = [
            _bar("reference", labels, ref, ref_n, REFERENCE_COLOR),
            _bar("window", labels, cur, cur_n, WINDOW_COLOR),
        ]
        layout_extra = {"barmode": "group", "xaxis": {"type": "category"}}
    layout: Spec = {
        "title": {"text": f"{column}<br><sub>{subtitle}</sub>", "font": {"size": 13}},
        "height": 280,
        "margin": {"l": 48, "r": 12, "t": 56, "b": 40},
        "yaxis": {"tickformat": ".0%", "title": {"text": "share of values"}},
        "legend": {"orientation": "h", "y": -0.18},
        **layout_extra,
    }
    return {"data": data, "layout": layout}

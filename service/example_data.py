"""``dqm example-data DIR``: the files the README's walk-through uploads, and the demo's data.

A churn model's customers: ``reference.csv`` (5,000 training rows), ``batch.parquet`` (1,000
production rows that really drifted: older, richer customers on pricier plans) and
``labels.csv`` (the churn outcome of those production rows, known later). Seeded: the same
files every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

SCHEMA: dict[str, Any] = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "age", "type": "numerical"},
        {"name": "income", "type": "numerical"},
        {"name": "tenure_months", "type": "numerical"},
        {"name": "plan", "type": "categorical"},
        {"name": "churned", "type": "categorical", "role": "target"},
    ]
}


def rows(n: int, seed: int, shift: float, prefix: str) -> list[dict[str, Any]]:
    """``n`` customers; ``shift`` 1.0 moves age and income by about one standard deviation
    and the plan mix towards ``pro``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    plans = ["basic", "plus", "pro"]
    p = [0.6, 0.3, 0.1] if shift == 0 else [0.3, 0.3, 0.4]
    return [
        {
            "id": f"{prefix}-{i}",
            "age": round(float(rng.normal(38 + 8 * shift, 9)), 1),
            "income": round(float(rng.normal(52_000 + 9_000 * shift, 11_000)), 0),
            "tenure_months": int(rng.integers(1, 60)),
            "plan": str(rng.choice(plans, p=p)),
            "churned": str(rng.choice(["yes", "no"], p=[0.2, 0.8])),
        }
        for i in range(n)
    ]


def write_example_data(folder: Path) -> list[Path]:
    """Write reference.csv, batch.parquet and labels.csv into ``folder``; returns the paths."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    reference = pa.Table.from_pylist(rows(5000, 1, 0.0, "ref"))
    batch = pa.Table.from_pylist(rows(1000, 8, 1.0, "prod"))
    labels = batch.select(["id", "churned"])
    paths = [folder / "reference.csv", folder / "batch.parquet", folder / "labels.csv"]
    pcsv.write_csv(reference, paths[0])
    pq.write_table(batch.drop_columns(["churned"]), paths[1])  # labels come later
    pcsv.write_csv(labels, paths[2])
    return paths


def example_data(
    folder: Annotated[Path, typer.Argument(help="folder to write the files into")] = Path("."),
) -> None:
    """Write the walk-through's files: reference.csv, batch.parquet (drifted), labels.csv."""
    for path in write_example_data(folder):
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("example-data")(example_data)

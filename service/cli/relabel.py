"""``dqm relabel export DATASET``: the relabel queue with the rows' data, for a labeling tool."""

from __future__ import annotations

import csv
import enum
import io
import sys
from pathlib import Path
from typing import Annotated

import typer

from dqm.service.cli.remote import ApiKey, Url, connected, console, fail

relabel_app = typer.Typer(
    help="The relabel queue: rows proposed for relabeling.", no_args_is_help=True
)


class Format(enum.StrEnum):
    csv = "csv"
    parquet = "parquet"


@relabel_app.command("export")
def export(
    dataset: Annotated[str, typer.Argument(help="the dataset's name")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here (default: stdout, CSV only)")
    ] = None,
    format: Annotated[Format, typer.Option(help="csv or parquet")] = Format.csv,
    limit: Annotated[int, typer.Option(min=1, help="the top N rows")] = 1000,
    slice_column: Annotated[
        str | None, typer.Option(help="cap the share of any one value of this column")
    ] = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Export the top of DATASET's relabel queue (best first) as CSV or Parquet."""
    if format is Format.parquet and output is None:
        raise fail("Parquet needs --output FILE")
    with connected(url, api_key) as client:
        data = client.export_relabel_queue(
            dataset, format=format.value, limit=limit, slice_column=slice_column
        )
    if output is None:
        sys.stdout.write(data.decode())
        return
    output.write_bytes(data)
    if format is Format.csv:
        what = f"{max(sum(1 for _ in csv.reader(io.StringIO(data.decode()))) - 1, 0)} rows"
    else:
        what = f"{len(data)} bytes"
    console(stderr=True).print(f"relabel queue of {dataset}: {what} written to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(relabel_app, name="relabel")

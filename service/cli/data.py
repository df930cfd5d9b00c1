"""``dqm push DATASET FILE...`` and ``dqm reference DATASET FILE``, with progress bars.

A file up to ``--chunk-bytes`` goes as one batch, as it is (the server decodes it); a larger
one is read in chunks of ``--chunk-rows`` rows, each sent as an Arrow stream. Batch ids are
``--batch-id`` or ``{file stem}-{sha256[:12]}``, with ``-{n:05d}`` per chunk, so pushing the
same file again stores nothing twice (the server answers each known batch id with 200).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dqm.service.cli.remote import ApiKey, Url, connected, console, fail, print_table

if TYPE_CHECKING:
    from rich.progress import Progress

    from dqm.service.cli.files import DataFile
    from dqm_client import Batch, Client

CHUNK_BYTES = 64 << 20
CHUNK_ROWS = 100_000
LABEL_ROWS = 100_000  # the most labels the server takes in one request


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeRemainingColumn(),
        console=console(stderr=True),
    )


def _open(paths: list[Path]) -> list[DataFile]:
    from dqm.service.cli.files import DataFile, UnknownFormat

    try:
        for path in paths:
            if not path.is_file():
                raise UnknownFormat(f"{path}: no such file")
        return [DataFile.of(p) for p in paths]
    except UnknownFormat as exc:
        raise fail(str(exc)) from None


def _whole(
    client: Client, dataset: str, file: DataFile, batch_id: str, progress: Progress
) -> list[Batch]:
    body, kind = file.body()
    task = progress.add_task(file.path.name, total=len(body), unit="bytes sent")
    done = client.push_batch(
        dataset,
        body,
        batch_id,
        content_type=kind,
        progress=lambda n: progress.advance(task, n),
    )
    progress.update(task, completed=len(body), refresh=True)
    return [done]


def _chunked(
    client: Client, dataset: str, file: DataFile, base: str, rows: int, progress: Progress
) -> list[Batch]:
    total_rows = file.rows()
    if total_rows is not None:
        task = progress.add_task(file.path.name, total=total_rows, unit="rows")
    else:
        task = progress.add_task(file.path.name, total=file.size, unit="bytes read")
    read = (
        (lambda _: None)
        if total_rows is not None
        else (lambda at: progress.update(task, completed=at))
    )
    stored = []
    for n, (body, kind, count) in enumerate(file.chunks(rows, read), start=1):
        stored.append(client.push_batch(dataset, body, f"{base}-{n:05d}", content_type=kind))
        if total_rows is not None:
            progress.advance(task, count)
        progress.refresh()
    progress.update(task, completed=progress.tasks[task].total, refresh=True)
    return stored


def push(
    dataset: Annotated[str, typer.Argument(help="the dataset's name")],
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet, Arrow or JSON files")],
    batch_id: Annotated[
        str | None,
        typer.Option(help="batch id (several files: ID-1, ID-2, ...; chunks: -00001, ...)"),
    ] = None,
    chunk_bytes: Annotated[
        int, typer.Option(min=1, help="files larger than this are sent in chunks of rows")
    ] = CHUNK_BYTES,
    chunk_rows: Annotated[int, typer.Option(min=1, help="rows per chunk")] = CHUNK_ROWS,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Push production batches from files (CSV, Parquet, Arrow, JSON).

    Each file, or each chunk of a large one, is one batch, stored once however often it is
    pushed."""
    opened = _open(files)
    report = []
    with connected(url, api_key) as client, _progress() as progress:
        for k, file in enumerate(opened, start=1):
            base = (batch_id if len(opened) == 1 else f"{batch_id}-{k}") if batch_id else None
            base = base or file.batch_base()
            if file.size <= chunk_bytes:
                stored = _whole(client, dataset, file, base, progress)
            else:
                stored = _chunked(client, dataset, file, base, chunk_rows, progress)
            report.append(_summary(dataset, file.path.name, stored))
    out = console()
    for line in report:
        out.print(line, soft_wrap=True)


def _summary(dataset: str, name: str, stored: list[Batch]) -> str:
    """``batch.parquet -> churn: 1 batch (batch-1a2b3c), 200000 rows``, saying which batches
    the server already had."""
    ids = (
        stored[0].batch_id if len(stored) == 1 else f"{stored[0].batch_id} .. {stored[-1].batch_id}"
    )
    again = sum(1 for b in stored if not b.created)
    noun = "batch" if len(stored) == 1 else "batches"
    known = f", {again} already stored (not stored again)" if again else ""
    rows = sum(b.rows for b in stored)
    return f"{name} -> {dataset}: {len(stored)} {noun} ({ids}), {rows} rows{known}"


def _schema(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: not a JSON schema ({exc})") from None
    if not isinstance(value, dict):
        raise fail(f'{path}: a schema is a JSON object {{"columns": [...]}}')
    return value


def reference(
    dataset: Annotated[str, typer.Argument(help="the dataset's name")],
    file: Annotated[Path, typer.Argument(help="a CSV, Parquet, Arrow or JSON file")],
    create: Annotated[
        bool, typer.Option("--create", help="create the dataset first if it does not exist")
    ] = False,
    schema: Annotated[
        Path | None,
        typer.Option(help='with --create: the schema, a JSON file {"columns": [...]}'),
    ] = None,
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Upload a new reference version of DATASET from a file.

    The first reference defines the schema when the dataset has none."""
    from dqm_client import NotFound

    [data] = _open([file])
    columns = _schema(schema) if schema is not None else None
    body, kind = data.body()
    with connected(url, api_key) as client, _progress() as progress:
        if create:
            try:
                client.dataset(dataset)
            except NotFound:
                client.create_dataset(dataset, columns)
                progress.console.print(f"dataset {dataset} created")
        task = progress.add_task(file.name, total=len(body), unit="bytes sent")
        ref = client.put_reference(
            dataset, body, content_type=kind, progress=lambda n: progress.advance(task, n)
        )
        progress.update(task, completed=len(body), refresh=True)
    console().print(f"{file.name} -> {dataset}: reference v{ref.version}, {ref.rows} rows")
    if ref.schema:
        columns = ref.schema.get("columns", [])
        print_table(
            "schema",
            ["column", "type", "role"],
            [[c["name"], c["type"], c.get("role") or "feature"] for c in columns],
            "",
        )


def labels(
    dataset: Annotated[str, typer.Argument(help="the dataset's name")],
    file: Annotated[Path, typer.Argument(help="id and target columns: CSV, Parquet, Arrow, JSON")],
    url: Url = None,
    api_key: ApiKey = None,
) -> None:
    """Send late labels for DATASET's rows from a file (the id and target columns).

    Sent in requests of 100,000 labels; a label sent again replaces the earlier one."""
    [data] = _open([file])
    matched = unmatched = 0
    with connected(url, api_key) as client, _progress() as progress:
        task = progress.add_task(file.name, total=data.size, unit="bytes read")
        read = lambda at: progress.update(task, completed=at)  # noqa: E731
        for body, kind, _ in data.chunks(LABEL_ROWS, read, json_key="labels"):
            done = client.push_labels(dataset, body, content_type=kind)
            matched, unmatched = matched + done.matched, unmatched + done.unmatched
        progress.update(task, completed=data.size, refresh=True)
    console().print(f"{file.name} -> {dataset}: {matched} labels matched, {unmatched} unmatched")


def register(app: typer.Typer) -> None:
    app.command()(push)
    app.command()(reference)
    app.command()(labels)

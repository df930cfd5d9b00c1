"""HTML reports of runs (Evidently), rendered on demand outside the run's hot path, then cached."""

from __future__ import annotations

import threading

from sqlalchemy import select

from dqm.monitors.errors import ConflictError, NotFoundError
from dqm.service.context import Context
from dqm.service.dataset_schema import schema_of
from dqm.service.db.models import Batch, Dataset, Monitor, ReferenceVersion, Run
from dqm.service.storage import dataset_prefix

_render_lock = threading.Lock()  # Evidently is heavy: one rendering at a time per process


def _cache_path(dataset_id: int, run_id: int) -> str:
    # Under the dataset's folder, so deleting the dataset deletes its reports.
    return f"{dataset_prefix(dataset_id)}/reports/run-{run_id}.html"


def run_report(ctx: Context, run_id: int) -> str:
    """The run's Evidently drift report over its window and reference version.

    Each side is sampled down to ``DQM_REPORT_MAX_ROWS`` rows (uniform, seeded); the page
    states the sample and full sizes when it is.
    """
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist", [{"run_id": run_id}])
        if run.status != "succeeded" or not run.window:
            raise ConflictError(
                f"run {run_id} has no report: its status is {run.status!r}",
                [{"run_id": run_id, "status": run.status}],
            )
        monitor = session.get_one(Monitor, run.monitor_id)
        dataset = session.get_one(Dataset, monitor.dataset_id)
        schema = schema_of(dataset)
        ref_path = session.scalar(
            select(ReferenceVersion.path).where(
                ReferenceVersion.dataset_id == dataset.id,
                ReferenceVersion.version == run.reference_version,
            )
        )
        batch_paths = list(
            session.scalars(
                select(Batch.path)
                .where(
                    Batch.dataset_id == dataset.id,
                    Batch.batch_key.in_(run.window["batch_ids"]),
                )
                .order_by(Batch.received_at)
            )
        )
    cached = _cache_path(dataset.id, run_id)
    if ctx.storage.exists(cached):
        with ctx.storage.filesystem.open_input_stream(ctx.storage.path(cached)) as stream:
            return bytes(stream.read()).decode("utf-8")
    if ref_path is None or not batch_paths:
        raise ConflictError(f"the data of run {run_id} is no longer stored", [{"run_id": run_id}])
    from dqm.monitors.report import render_drift_report

    with _render_lock:
        html = render_drift_report(
            ctx.storage.read_table(ref_path),
            ctx.storage.read_tables(batch_paths),
            schema,
            max_rows=ctx.settings.report_max_rows,
        )
    full = ctx.storage.path(cached)
    ctx.storage.filesystem.create_dir(full.rsplit("/", 1)[0], recursive=True)
    with ctx.storage.filesystem.open_output_stream(full + ".tmp") as out:
        out.write(html.encode("utf-8"))
    ctx.storage.filesystem.move(full + ".tmp", full)
    return html

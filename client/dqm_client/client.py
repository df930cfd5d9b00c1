"""``Client``: the dqm API from blocking code (``AsyncClient`` in ``dqm_client.aio``)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from dqm_client import encoding, ops
from dqm_client.encoding import TableFormat
from dqm_client.models import (
    Alert,
    Batch,
    Dataset,
    Delivery,
    Hook,
    LabelsResult,
    Monitor,
    Reference,
    RelabelItem,
    RetrainRequest,
    Run,
    Series,
)
from dqm_client.transport import Call, Retry, send

T = TypeVar("T")
USER_AGENT = "dqm-client/0.1"


def base_options(
    url: str | None, api_key: str | None, headers: Mapping[str, str] | None
) -> tuple[str, dict[str, str]]:
    """The server's URL (``DQM_URL`` when not given) and the request headers (with
    ``Authorization: Bearer`` from ``api_key`` or ``DQM_API_KEY``)."""
    url = url or os.environ.get("DQM_URL")
    if not url:
        raise ValueError("no server URL: pass url= or set DQM_URL")
    key = api_key if api_key is not None else os.environ.get("DQM_API_KEY")
    merged = {"user-agent": USER_AGENT, **(headers or {})}
    if key:
        merged["authorization"] = f"Bearer {key}"
    return url.rstrip("/"), merged


def encode_profile(profile: Any) -> bytes:
    """The codec's bytes of a ``BatchProfile``. The core client does not import the optional
    extra ``dqm_client.profiles``: whoever holds a profile has loaded it already."""
    extra = sys.modules.get("dqm_client.profiles")
    if extra is None or not isinstance(profile, extra.BatchProfile):
        raise TypeError("push_profile takes a dqm_client.profiles.BatchProfile or its bytes")
    body: bytes = extra.encode(profile)
    return body


class Client:
    """A dqm server at ``url``. Errors raise ``dqm_client.errors.ApiError`` subclasses carrying
    the API's envelope; connection failures, 429 and 503 are retried (see ``Retry``).

    List methods return iterators that follow the pages of the listing lazily.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        page_size: int = ops.PAGE_SIZE,
    ) -> None:
        self.url, merged = base_options(url, api_key, headers)
        self.retry = retry or Retry()
        self.page_size = page_size
        self._http = httpx.Client(
            base_url=self.url,
            headers=merged,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # plumbing
    def request(self, call: Call, retry: Retry | None = None) -> httpx.Response:
        """Send one call with the retry policy; an ``ApiError`` for an error answer."""
        return send(self._http, call, retry or self.retry)

    def _page(self, limit: int | None) -> int:
        return min(limit, self.page_size) if limit else self.page_size

    def _do(self, op: ops.Op[T]) -> T:
        return op.read(self.request(op.call))

    def _iter(self, listing: ops.Listing[T], limit: int | None = None) -> Iterator[T]:
        call: Call | None = listing.call
        count = 0
        while call is not None:
            items, call = listing.page(self.request(call))
            for item in items:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield item

    # health
    def ready(self) -> dict[str, Any]:
        """``/readyz``: the database and the data folder (503, raised, when not ready)."""
        data: dict[str, Any] = self.request(Call("GET", "/readyz")).json()
        return data

    # datasets and data
    def create_dataset(self, name: str, schema: Mapping[str, Any] | None = None) -> Dataset:
        return self._do(ops.create_dataset(name, schema))

    def dataset(self, name: str) -> Dataset:
        return self._do(ops.get_dataset(name))

    def datasets(self, *, limit: int | None = None) -> Iterator[Dataset]:
        return self._iter(ops.datasets(self._page(limit)), limit)

    def update_dataset(self, name: str, changes: Mapping[str, Any]) -> Dataset:
        """``PATCH /v1/datasets/{name}`` with ``changes`` (roles, added columns, ...)."""
        return self._do(ops.update_dataset(name, changes))

    def delete_dataset(self, name: str) -> None:
        self._do(ops.delete_dataset(name))

    def put_reference(
        self,
        dataset: str,
        data: Any,
        *,
        content_type: str | None = None,
        format: TableFormat = "arrow",
        progress: Callable[[int], None] | None = None,
    ) -> Reference:
        """A new reference version from records, a DataFrame, an Arrow table or bytes;
        ``progress`` is called with the size of each slice of the body as it is sent."""
        body, kind = encoding.encode(data, content_type, format)
        return self._do(ops.put_reference(dataset, body, kind, progress))

    def references(self, dataset: str, *, limit: int | None = None) -> Iterator[Reference]:
        return self._iter(ops.references(dataset, self._page(limit)), limit)

    def push_batch(
        self,
        dataset: str,
        data: Any,
        batch_id: str | None = None,
        *,
        content_type: str | None = None,
        format: TableFormat = "arrow",
        progress: Callable[[int], None] | None = None,
    ) -> Batch:
        """Send a production batch: records (list of dicts), a pandas DataFrame, a pyarrow
        Table (sent as an Arrow stream, or Parquet with ``format="parquet"``) or bytes with
        their ``content_type``. Without ``batch_id`` one is generated; retries reuse it, so the
        batch is stored once. ``Batch.created`` is False when the server already had it."""
        body, kind = encoding.encode(data, content_type, format)
        return self._do(
            ops.push_batch(dataset, body, kind, batch_id or ops.new_batch_id(), progress)
        )

    def push_profile(self, dataset: str, profile: Any, batch_id: str | None = None) -> Batch:
        """Send a batch as a profile instead of rows: a ``dqm_client.profiles.BatchProfile``
        (e.g. from ``dqm_client.spark.profile_dataframe(df, client.dataset(name).schema)``)
        or its encoded bytes. Idempotent by ``batch_id`` like ``push_batch``; the server checks
        it against the dataset's schema (422 naming the column)."""
        body = profile if isinstance(profile, bytes) else encode_profile(profile)
        return self._do(ops.push_profile(dataset, body, batch_id or ops.new_batch_id()))

    def batches(self, dataset: str, *, limit: int | None = None) -> Iterator[Batch]:
        return self._iter(ops.batches(dataset, self._page(limit)), limit)

    def push_labels(
        self, dataset: str, labels: Any, *, content_type: str | None = None
    ) -> LabelsResult:
        """Late labels: records ``{id column: ..., target column: ...}``, a DataFrame, an
        Arrow table, or CSV/Parquet/Arrow bytes with their ``content_type`` (the server takes
        at most 100,000 per request)."""
        return self._do(ops.push_labels(dataset, *encoding.labels_body(labels, content_type)))

    # monitors and runs
    def create_monitor(self, spec: Mapping[str, Any]) -> Monitor:
        """A monitor from its definition (name, dataset, kind, schedule, window, rules, ...)."""
        return self._do(ops.create_monitor(spec))

    def monitor(self, name: str) -> Monitor:
        return self._do(ops.get_monitor(name))

    def monitors(self, *, limit: int | None = None) -> Iterator[Monitor]:
        return self._iter(ops.monitors(self._page(limit)), limit)

    def update_monitor(self, name: str, changes: Mapping[str, Any]) -> Monitor:
        return self._do(ops.update_monitor(name, changes))

    def delete_monitor(self, name: str) -> None:
        self._do(ops.delete_monitor(name))

    def run_now(self, monitor: str) -> int:
        """Queue a run of ``monitor`` now; its id."""
        return self._do(ops.run_now(monitor))

    def run(self, run_id: int) -> Run:
        return self._do(ops.get_run(run_id))

    def wait_for_run(self, run_id: int, *, timeout: float = 600.0, poll: float = 0.2) -> Run:
        """The run once finished (succeeded, failed, skipped); else ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run.finished:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout:.0f}s")
            time.sleep(poll)

    def run_and_wait(self, monitor: str, *, timeout: float = 600.0) -> Run:
        """Run ``monitor`` now and return the finished run."""
        return self.wait_for_run(self.run_now(monitor), timeout=timeout)

    def runs(self, monitor: str, *, limit: int | None = None) -> Iterator[Run]:
        return self._iter(ops.runs(monitor, self._page(limit)), limit)

    def run_report(self, run_id: int) -> str:
        """The run's HTML report."""
        return self._do(ops.run_report(run_id))

    def series(
        self, monitor: str, metric: str, column: str | None = None, *, limit: int | None = None
    ) -> Series:
        return self._do(ops.series(monitor, metric, column, limit))

    # alerts, hooks, retrain requests
    def alerts(
        self, *, state: str | None = None, monitor: str | None = None, limit: int | None = None
    ) -> Iterator[Alert]:
        return self._iter(ops.alerts(self._page(limit), state, monitor), limit)

    def create_hook(
        self, name: str, url: str, events: list[str], secret: str | None = None
    ) -> Hook:
        """A webhook endpoint signing with ``secret`` (``whsec_...``); without one the server
        generates it and ``Hook.secret`` shows it this once."""
        return self._do(ops.create_hook(name, url, events, secret))

    def update_hook(self, name: str, changes: Mapping[str, Any]) -> Hook:
        """Replace the given fields: ``url``, ``events``, ``secret``."""
        return self._do(ops.update_hook(name, changes))

    def hook(self, name: str) -> Hook:
        return self._do(ops.get_hook(name))

    def hooks(self, *, limit: int | None = None) -> Iterator[Hook]:
        return self._iter(ops.hooks(self._page(limit)), limit)

    def delete_hook(self, name: str) -> None:
        self._do(ops.delete_hook(name))

    def rotate_hook_secret(self, name: str) -> Hook:
        return self._do(ops.hook_action(name, "rotate-secret"))

    def enable_hook(self, name: str) -> Hook:
        return self._do(ops.hook_action(name, "enable"))

    def deliveries(self, hook: str, *, limit: int | None = None) -> Iterator[Delivery]:
        return self._iter(ops.deliveries(hook, self._page(limit)), limit)

    def redeliver(self, delivery_id: int) -> Delivery:
        return self._do(ops.redeliver(delivery_id))

    def retrain_requests(
        self, *, dataset: str | None = None, status: str | None = None, limit: int | None = None
    ) -> Iterator[RetrainRequest]:
        return self._iter(ops.retrain_requests(self._page(limit), dataset, status), limit)

    def acknowledge_retrain_request(self, request_id: str) -> RetrainRequest:
        return self._do(ops.acknowledge(request_id))

    # relabel queue
    def relabel_queue(
        self, dataset: str, *, limit: int | None = None, slice_column: str | None = None
    ) -> Iterator[RelabelItem]:
        """Rows proposed for relabeling, best first."""
        return self._iter(ops.relabel_queue(dataset, self._page(limit), slice_column), limit)

    def export_relabel_queue(
        self,
        dataset: str,
        *,
        format: str = "csv",
        limit: int = 1000,
        slice_column: str | None = None,
    ) -> bytes:
        """The top ``limit`` rows of the queue with their data, as CSV or Parquet bytes."""
        return self._do(ops.relabel_export(dataset, format, limit, slice_column))

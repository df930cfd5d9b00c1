"""The API's operations as data: the request to send and how to read its answer.

``Client`` and ``AsyncClient`` run the same operations, one blocking and one awaiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

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
    from_json,
)
from dqm_client.transport import Call

T = TypeVar("T")
PAGE_SIZE = 100
MAX_PAGE = 1000


@dataclass(frozen=True)
class Op(Generic[T]):
    call: Call
    read: Callable[[httpx.Response], T]


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A list endpoint: pages of ``{"items": [...], "next_cursor": ...}`` (or a bare list)."""

    call: Call
    item: Callable[[dict[str, Any]], T]

    def page(self, response: httpx.Response) -> tuple[list[T], Call | None]:
        body = response.json()
        if isinstance(body, list):
            return [self.item(i) for i in body], None
        items = [self.item(i) for i in body.get("items", [])]
        cursor = body.get("next_cursor")
        return items, (self.call.with_params(cursor=cursor) if cursor else None)


def seg(name: str) -> str:
    """A name as one path segment."""
    return quote(str(name), safe="")


def _of(cls: type[T]) -> Callable[[httpx.Response], T]:
    return lambda r: from_json(cls, r.json())


def _item(cls: type[T]) -> Callable[[dict[str, Any]], T]:
    return lambda d: from_json(cls, d)


def _none(_: httpx.Response) -> None:
    return None


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def listing(path: str, cls: type[T], page_size: int, **params: Any) -> Listing[T]:
    query = _params(limit=min(page_size, MAX_PAGE), **params)
    return Listing(Call("GET", path, query), _item(cls))


def new_batch_id() -> str:
    return f"c-{uuid.uuid4().hex}"


# datasets and data
def create_dataset(name: str, schema: Mapping[str, Any] | None) -> Op[Dataset]:
    body = {"name": name, **({"schema": dict(schema)} if schema is not None else {})}
    return Op(Call("POST", "/v1/datasets", json=body, idempotent=False), _of(Dataset))


def get_dataset(name: str) -> Op[Dataset]:
    return Op(Call("GET", f"/v1/datasets/{seg(name)}"), _of(Dataset))


def update_dataset(name: str, changes: Mapping[str, Any]) -> Op[Dataset]:
    return Op(Call("PATCH", f"/v1/datasets/{seg(name)}", json=dict(changes)), _of(Dataset))


def delete_dataset(name: str) -> Op[None]:
    return Op(Call("DELETE", f"/v1/datasets/{seg(name)}"), _none)


def put_reference(
    name: str, body: bytes, content_type: str, progress: Callable[[int], None] | None = None
) -> Op[Reference]:
    headers = {"content-type": content_type}
    path = f"/v1/datasets/{seg(name)}/reference"
    call = Call("PUT", path, None, None, body, headers, False, on_upload=progress)
    return Op(call, _of(Reference))


def _batch(response: httpx.Response) -> Batch:
    return from_json(Batch, {**response.json(), "created": response.status_code == 201})


def push_batch(
    name: str,
    body: bytes,
    content_type: str,
    batch_id: str,
    progress: Callable[[int], None] | None = None,
) -> Op[Batch]:
    """Idempotent by ``batch_id``: a retry of the same bytes is answered 200, not stored twice."""
    headers = {"content-type": content_type}
    params = {"batch_id": batch_id}
    path = f"/v1/datasets/{seg(name)}/batches"
    call = Call("POST", path, params, None, body, headers, True, on_upload=progress)
    return Op(call, _batch)


def push_profile(name: str, body: bytes, batch_id: str) -> Op[Batch]:
    """A batch sent as a profile (``dqm_client.profiles.codec``), idempotent like ``push_batch``."""
    headers = {"content-type": "application/vnd.dqm.profile"}
    path = f"/v1/datasets/{seg(name)}/profiles"
    return Op(Call("POST", path, {"batch_id": batch_id}, None, body, headers, True), _batch)


def push_labels(name: str, body: bytes, content_type: str) -> Op[LabelsResult]:
    # Labels are keyed by row id, the newest upload winning: sending them twice is harmless.
    headers = {"content-type": content_type}
    call = Call("POST", f"/v1/datasets/{seg(name)}/labels", content=body, headers=headers)
    return Op(call, _of(LabelsResult))


# monitors and runs
def create_monitor(spec: Mapping[str, Any]) -> Op[Monitor]:
    return Op(Call("POST", "/v1/monitors", json=dict(spec), idempotent=False), _of(Monitor))


def get_monitor(name: str) -> Op[Monitor]:
    return Op(Call("GET", f"/v1/monitors/{seg(name)}"), _of(Monitor))


def update_monitor(name: str, changes: Mapping[str, Any]) -> Op[Monitor]:
    return Op(Call("PATCH", f"/v1/monitors/{seg(name)}", json=dict(changes)), _of(Monitor))


def delete_monitor(name: str) -> Op[None]:
    return Op(Call("DELETE", f"/v1/monitors/{seg(name)}"), _none)


def run_now(name: str) -> Op[int]:
    call = Call("POST", f"/v1/monitors/{seg(name)}/run", idempotent=False)
    return Op(call, lambda r: int(r.json()["run_id"]))


def get_run(run_id: int) -> Op[Run]:
    return Op(Call("GET", f"/v1/runs/{int(run_id)}"), _of(Run))


def run_report(run_id: int) -> Op[str]:
    return Op(Call("GET", f"/v1/runs/{int(run_id)}/report"), lambda r: r.text)


def series(name: str, metric: str, column: str | None, limit: int | None) -> Op[Series]:
    params = _params(metric=metric, column=column, limit=limit)
    return Op(Call("GET", f"/v1/monitors/{seg(name)}/series", params), _of(Series))


# hooks, deliveries, retrain requests
def create_hook(name: str, url: str, events: list[str], secret: str | None = None) -> Op[Hook]:
    body: dict[str, Any] = {"name": name, "url": url, "events": events}
    if secret is not None:
        body["secret"] = secret
    return Op(Call("POST", "/v1/hooks", json=body, idempotent=False), _of(Hook))


def update_hook(name: str, changes: Mapping[str, Any]) -> Op[Hook]:
    return Op(Call("PATCH", f"/v1/hooks/{seg(name)}", json=dict(changes)), _of(Hook))


def get_hook(name: str) -> Op[Hook]:
    return Op(Call("GET", f"/v1/hooks/{seg(name)}"), _of(Hook))


def delete_hook(name: str) -> Op[None]:
    return Op(Call("DELETE", f"/v1/hooks/{seg(name)}"), _none)


def hook_action(name: str, action: str) -> Op[Hook]:
    # rotate-secret answers a new secret each time: not repeated once it may have arrived.
    call = Call("POST", f"/v1/hooks/{seg(name)}/{action}", idempotent=action == "enable")
    return Op(call, _of(Hook))


def redeliver(delivery_id: int) -> Op[Delivery]:
    call = Call("POST", f"/v1/deliveries/{int(delivery_id)}/redeliver", idempotent=False)
    return Op(call, _of(Delivery))


def acknowledge(request_id: str) -> Op[RetrainRequest]:
    call = Call("POST", f"/v1/retrain-requests/{seg(request_id)}/acknowledge")
    return Op(call, _of(RetrainRequest))


# relabel queue
def relabel_export(name: str, fmt: str, limit: int, slice_column: str | None) -> Op[bytes]:
    params = _params(format=fmt, limit=limit, slice_column=slice_column)
    call = Call("GET", f"/v1/datasets/{seg(name)}/relabel-queue", params)
    return Op(call, lambda r: r.content)


# listings: the first page's request of each list endpoint
def _under(kind: str, name: str, sub: str) -> str:
    return f"/v1/{kind}/{seg(name)}/{sub}"


def datasets(page_size: int) -> Listing[Dataset]:
    return listing("/v1/datasets", Dataset, page_size)


def references(name: str, page_size: int) -> Listing[Reference]:
    return listing(_under("datasets", name, "references"), Reference, page_size)


def batches(name: str, page_size: int) -> Listing[Batch]:
    return listing(_under("datasets", name, "batches"), Batch, page_size)


def monitors(page_size: int) -> Listing[Monitor]:
    return listing("/v1/monitors", Monitor, page_size)


def runs(name: str, page_size: int) -> Listing[Run]:
    return listing(_under("monitors", name, "runs"), Run, page_size)


def alerts(page_size: int, state: str | None, monitor: str | None) -> Listing[Alert]:
    return listing("/v1/alerts", Alert, page_size, state=state, monitor=monitor)


def hooks(page_size: int) -> Listing[Hook]:
    return listing("/v1/hooks", Hook, page_size)


def deliveries(name: str, page_size: int) -> Listing[Delivery]:
    return listing(_under("hooks", name, "deliveries"), Delivery, page_size)


def retrain_requests(
    page_size: int, dataset: str | None, status: str | None
) -> Listing[RetrainRequest]:
    path = "/v1/retrain-requests"
    return listing(path, RetrainRequest, page_size, dataset=dataset, status=status)


def relabel_queue(name: str, page_size: int, slice_column: str | None) -> Listing[RelabelItem]:
    path = _under("datasets", name, "relabel-queue")
    return listing(path, RelabelItem, page_size, slice_column=slice_column)

"""Retrain requests: cooldown per dataset, and the loop from request to resolution.

A request records the alerts (fingerprints) that caused it. A reference version uploaded
while it is open is recorded against it; the first successful run of the requesting monitor
on that version or later closes it as ``resolved`` (every one of its alerts resolved) or
``still_firing``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, sessionmaker

from dqm.monitors.errors import ConflictError, NotFoundError
from dqm.service.db.models import Alert, Dataset, Monitor, RetrainRequest
from dqm.service.db.session import transaction
from dqm.service.paging import Key, Keyset, Paged, PageRequest

OPEN = ("requested", "acknowledged")


def cooldown_allows(session: Session, dataset_id: int, cooldown: float, now: datetime) -> bool:
    """Whether no retrain request for the dataset was made within ``cooldown`` seconds.

    The dataset row is locked first, so two monitors firing at once cannot both pass.
    """
    session.execute(select(Dataset.id).where(Dataset.id == dataset_id).with_for_update())
    if cooldown <= 0:
        return True
    latest = session.scalar(
        select(RetrainRequest.requested_at)
        .where(RetrainRequest.dataset_id == dataset_id)
        .order_by(RetrainRequest.requested_at.desc())
        .limit(1)
    )
    return latest is None or latest <= now - timedelta(seconds=cooldown)


def record_new_reference(session: Session, dataset_id: int, version: int) -> int:
    """Attach a new reference version to the dataset's open requests; returns how many."""
    result = session.execute(
        update(RetrainRequest)
        .where(
            RetrainRequest.dataset_id == dataset_id,
            RetrainRequest.status.in_(OPEN),
            RetrainRequest.new_reference_version.is_(None),
        )
        .values(new_reference_version=version)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def check_after_run(
    session: Session, monitor_id: int, run_id: int, reference_version: int, now: datetime
) -> None:
    """Close the monitor's open requests whose new reference this run used."""
    pending = session.scalars(
        select(RetrainRequest).where(
            RetrainRequest.monitor_id == monitor_id,
            RetrainRequest.status.in_(OPEN),
            RetrainRequest.new_reference_version.is_not(None),
            RetrainRequest.new_reference_version <= reference_version,
        )
    ).all()
    for request in pending:
        fingerprints = request.fingerprints.get("items", [])
        firing = session.scalar(
            select(Alert.id).where(
                Alert.fingerprint.in_(fingerprints), Alert.state.in_(("pending", "firing"))
            )
        )
        request.status = "still_firing" if firing is not None else "resolved"
        request.closed_at, request.checked_run_id = now, run_id


def acknowledge_delivered(session: Session, delivery_id: int, now: datetime) -> None:
    """A 2xx answer to the request's delivery acknowledges it."""
    session.execute(
        update(RetrainRequest)
        .where(RetrainRequest.delivery_id == delivery_id, RetrainRequest.status == "requested")
        .values(status="acknowledged", acknowledged_at=now)
    )


def acknowledge(
    sessions: sessionmaker[Session], request_id: int, now: datetime
) -> tuple[RetrainRequest, str, str]:
    """The training pipeline took the request; returns it as :func:`get_request` does."""
    with transaction(sessions) as session:
        _acknowledge(session, request_id, now)
    with sessions() as session:
        return get_request(session, request_id)


def _acknowledge(session: Session, request_id: int, now: datetime) -> None:
    request = session.get(RetrainRequest, request_id)
    if request is None:
        raise NotFoundError(
            f"retrain request {request_id} does not exist", [{"retrain_request": request_id}]
        )
    if request.status not in OPEN:
        raise ConflictError(
            f"retrain request {request_id} is already {request.status}",
            [{"retrain_request": request_id, "status": request.status}],
        )
    if request.status == "requested":
        request.status, request.acknowledged_at = "acknowledged", now


def _with_names() -> Select[RetrainRequest, str, str]:
    return (
        select(RetrainRequest, Dataset.name, Monitor.name)
        .join(Dataset, Dataset.id == RetrainRequest.dataset_id)
        .join(Monitor, Monitor.id == RetrainRequest.monitor_id)
    )


REQUESTS = Keyset(
    "retrain-requests",
    Key(RetrainRequest.requested_at, datetime, descending=True),
    Key(RetrainRequest.id, int, descending=True),
)


def list_requests(
    session: Session, dataset: str | None, status: str | None, page: PageRequest
) -> Paged[tuple[RetrainRequest, str, str]]:
    """(request, dataset name, monitor name), newest first."""
    query = _with_names()
    if dataset is not None:
        query = query.where(Dataset.name == dataset)
    if status is not None:
        query = query.where(RetrainRequest.status == status)
    rows = [(r, d, m) for r, d, m in session.execute(REQUESTS.query(query, page))]
    return REQUESTS.cut(rows, page, lambda r: (r[0].requested_at, r[0].id))


def get_request(session: Session, request_id: int) -> tuple[RetrainRequest, str, str]:
    row = session.execute(_with_names().where(RetrainRequest.id == request_id)).first()
    if row is None:
        raise NotFoundError(
            f"retrain request rr_{request_id} does not exist",
            [{"retrain_request": f"rr_{request_id}"}],
        )
    request, dataset, monitor = row
    return request, dataset, monitor

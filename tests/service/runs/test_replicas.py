"""Two dqm processes on one database: every scheduled time runs once, by one worker."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from dqm.service.db.models import MetricValue, Run
from dqm.service.settings import Settings
from tests.service.data import SCHEMA, frame, records
from tests.service.helpers import make_context
from tests.support.process import dqm_process


@pytest.mark.slow
def test_two_processes_never_double_run(settings: Settings) -> None:
    with dqm_process(settings) as a, dqm_process(settings) as b:
        assert a.post("/v1/datasets", json={"name": "d", "schema": SCHEMA}).status_code == 201
        assert b.put("/v1/datasets/d/reference", json=records(frame(300, 1))).status_code == 201
        assert a.post("/v1/datasets/d/batches", json=records(frame(100, 2))).status_code == 201
        created = b.post(
            "/v1/monitors",
            json={
                "name": "m",
                "dataset": "d",
                "kind": "drift",
                "schedule": {"every": "1s"},
                "window": {"last_batches": 1},
            },
        )
        assert created.status_code == 201, created.text
        time.sleep(8)
        assert a.patch("/v1/monitors/m", json={"enabled": False}).status_code == 200
        time.sleep(1.5)  # let the last claimed run finish
    ctx = make_context(settings, "checker")
    with ctx.sessions() as session:
        runs = session.scalars(select(Run).order_by(Run.scheduled_for)).all()
        per_run = dict(
            session.execute(
                select(MetricValue.run_id, func.count()).group_by(MetricValue.run_id)
            ).all()
        )
    times = [r.scheduled_for for r in runs]
    assert 5 <= len(runs) <= 10, times
    assert len(set(times)) == len(times)
    assert [r.status for r in runs] == ["succeeded"] * len(runs)
    assert all(r.attempts == 1 for r in runs)  # claimed once each: nobody ran a run twice
    assert len(set(per_run.values())) == 1 and set(per_run) == {r.id for r in runs}
    gaps = {round((t2 - t1).total_seconds()) for t1, t2 in zip(times, times[1:], strict=False)}
    assert gaps == {1}

"""examples/model_service.py, served by uvicorn next to a real dqm server: every request's
features and prediction reach dqm, the last ones sent at shutdown."""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from dqm_client import Client
from examples import model_service
from tests.support.server import free_port


def test_each_request_is_logged_to_dqm(server: httpx.Client) -> None:
    url = str(server.base_url)
    port = free_port()
    app = model_service.create_app(url)
    service = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not service.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.02)
    answers = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for i in range(120):
            body = {"age": 20 + i % 50, "plan": ["basic", "pro", "team"][i % 3], "monthly_spend": i}
            answer = http.post("/predict", json=body).json()
            answers[answer["request_id"]] = answer["churn_probability"]
        assert http.post("/predict", json={"age": -1, "plan": "x"}).status_code == 422
    service.should_exit = True  # the lifespan's shutdown flushes the logger
    thread.join(timeout=30)
    logger = app.state.dqm_logger
    assert (logger.sent_rows, logger.dropped, logger.failed) == (120, 0, 0)

    with Client(url) as client:
        dataset = client.dataset(model_service.DATASET)
        assert dataset.schema is not None
        stored = sum(b.rows for b in client.batches(model_service.DATASET))
        labels = [{"id": rid, "churned": "yes"} for rid in list(answers)[:10]]
        matched = client.push_labels(model_service.DATASET, labels).matched
    assert stored == 120
    assert matched == 10  # the request ids returned to callers are the rows' ids in dqm

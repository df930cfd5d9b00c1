"""A model service that tells dqm what its model saw and predicted, from the request path.

Run it next to a dqm server::

    DQM_URL=http://127.0.0.1:8000 uvicorn examples.model_service:app --port 9001
    curl -s localhost:9001/predict -H 'content-type: application/json' \\
        -d '{"age": 41, "plan": "pro", "monthly_spend": 80}'

Each request's features and prediction go to ``dqm_client.Logger``, which queues the row and
returns at once (microseconds, never an exception, never a wait on dqm); a background thread
sends the rows in batches. The row id (``request_id``, returned to the caller) lets late labels
be joined later: ``POST /v1/datasets/churn-requests/labels`` with ``{"id": ..., "churned": ...}``.
If dqm is down, rows wait in memory (up to ``max_queue``) and arrive once it is back; the
service's own latency does not change. At shutdown the rest is flushed.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from dqm_client import Client, Logger, NotFound

DATASET = "churn-requests"
SCHEMA = {
    "columns": [
        {"name": "id", "type": "categorical", "role": "id"},
        {"name": "age", "type": "numerical"},
        {"name": "plan", "type": "categorical"},
        {"name": "monthly_spend", "type": "numerical"},
        {"name": "churn_probability", "type": "numerical", "role": "prediction"},
        {"name": "churned", "type": "categorical", "role": "target"},
    ]
}


class Features(BaseModel):
    age: float = Field(ge=0, le=130)
    plan: Literal["basic", "pro", "team"]
    monthly_spend: float = Field(ge=0)


class Prediction(BaseModel):
    request_id: str
    churn_probability: float


def predict_churn(f: Features) -> float:
    """The model: a fixed logistic score (a real service would load a trained model)."""
    z = (
        -1.5
        + 0.03 * (f.age - 40)
        - 0.01 * f.monthly_spend
        + {"basic": 0.8, "pro": 0.0, "team": -0.6}[f.plan]
    )
    return 1 / (1 + math.exp(-z))


def create_app(dqm_url: str, api_key: str | None = None, dataset: str = DATASET) -> FastAPI:
    """The service, logging to the dqm server at ``dqm_url`` (the dataset is created if missing)."""
    client = Client(dqm_url, api_key)
    logger = Logger(client, dataset, flush_rows=500, flush_seconds=2.0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            client.dataset(dataset)
        except NotFound:
            client.create_dataset(dataset, SCHEMA)
        yield
        logger.close(timeout=10)  # send what is left before the process exits
        client.close()

    app = FastAPI(title="churn model", lifespan=lifespan)
    app.state.dqm_logger = logger

    @app.post("/predict")
    def predict(features: Features) -> Prediction:
        request_id = uuid.uuid4().hex
        probability = predict_churn(features)
        logger.log({"id": request_id, **features.model_dump(), "churn_probability": probability})
        return Prediction(request_id=request_id, churn_probability=probability)

    return app


def __getattr__(name: str) -> FastAPI:
    """``examples.model_service:app`` for uvicorn, built from ``DQM_URL`` and ``DQM_API_KEY``."""
    if name != "app":
        raise AttributeError(name)
    if "DQM_URL" not in os.environ:
        raise RuntimeError("set DQM_URL to the dqm server, e.g. http://127.0.0.1:8000")
    return create_app(os.environ["DQM_URL"], os.environ.get("DQM_API_KEY"))

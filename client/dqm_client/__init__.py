"""dqm-client: a light client for a dqm server (httpx only; pandas and pyarrow optional).

>>> from dqm_client import Client, Logger
>>> Client("http://127.0.0.1:8000").url
'http://127.0.0.1:8000'
"""

from dqm_client.aio import AsyncClient
from dqm_client.client import Client
from dqm_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    DqmClientError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    UnsupportedMedia,
)
from dqm_client.logger import Logger
from dqm_client.models import (
    Alert,
    Batch,
    Dataset,
    Delivery,
    Hook,
    LabelsResult,
    Metric,
    Monitor,
    Reference,
    RelabelItem,
    RetrainRequest,
    Run,
    Series,
    SeriesPoint,
)
from dqm_client.transport import Retry

__version__ = "0.1.0"
__all__ = [
    "Alert",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Batch",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Dataset",
    "Delivery",
    "DqmClientError",
    "Forbidden",
    "Hook",
    "InvalidInput",
    "LabelsResult",
    "Logger",
    "Metric",
    "Monitor",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Reference",
    "RelabelItem",
    "Retry",
    "RetrainRequest",
    "Run",
    "Series",
    "SeriesPoint",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMedia",
]

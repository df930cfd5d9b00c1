"""A real S3-compatible server on loopback: moto's standalone server as a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import free_port

# moto accepts any credentials; they reach it only through the standard AWS variables, as in
# production (pyarrow's S3 client reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
# and AWS_ENDPOINT_URL).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "dqm-test",
    "AWS_SECRET_ACCESS_KEY": "dqm-test-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    """Where the server listens, and the environment a client needs to reach it."""

    endpoint: str

    @property
    def environment(self) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def create_bucket(self) -> str:
        """A new empty bucket with a unique name."""
        name = f"dqm-{uuid.uuid4().hex[:12]}"
        self._boto().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (directory markers left out)."""
        pages = self._boto().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(
            o["Key"]
            for page in pages
            for o in page.get("Contents", [])
            if not o["Key"].endswith("/")
        )

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self._boto().put_object(Bucket=bucket, Key=key, Body=body)

    def _boto(self) -> Any:
        import boto3  # type: ignore[import-untyped]  # moto's own dependency, tests only

        return boto3.client("s3", endpoint_url=self.endpoint, **_boto_credentials())


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_REGION"],
    }


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start ``moto_server`` on a free loopback port; stop it at exit."""
    port = free_port()
    executable = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start (exit {proc.poll()})") from None
                time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

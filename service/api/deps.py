"""Dependencies shared by the routers (the FastAPI template's Annotated aliases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from dqm.monitors.errors import PayloadTooLargeError
from dqm.service.context import Context
from dqm.service.paging import PageRequest
from dqm.service.settings import Settings


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_session(ctx: Annotated[Context, Depends(get_ctx)]) -> Iterator[Session]:
    with ctx.sessions() as session:
        yield session


def page_request(
    limit: Annotated[int, Query(ge=1, le=1000, description="most items in the page")] = 100,
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description="the previous page's next_cursor (opaque)"),
    ] = None,
) -> PageRequest:
    return PageRequest(limit, cursor)


def get_settings(ctx: Annotated[Context, Depends(get_ctx)]) -> Settings:
    return ctx.settings


CtxDep = Annotated[Context, Depends(get_ctx)]
# Row ids in paths: positive and within the INTEGER primary keys, so any other number is a
# clean 422 rather than a database overflow.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# ?limit=&cursor= of every list endpoint; the answer is a Page: {"items", "next_cursor"}.
PageDep = Annotated[PageRequest, Depends(page_request)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(
            f"request body of {declared} bytes exceeds the limit of {limit} bytes",
            [
                {
                    "limit": "DQM_MAX_BODY_BYTES",
                    "limit_bytes": limit,
                    "content_length": int(declared),
                }
            ],
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(
                f"request body exceeds the limit of {limit} bytes",
                [{"limit": "DQM_MAX_BODY_BYTES", "limit_bytes": limit}],
            )
        chunks.append(chunk)
    return b"".join(chunks)

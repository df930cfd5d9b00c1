"""/v1/keys: create, list and revoke API keys over HTTP (admin scope only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dqm.service.api.deps import CtxDep, PageDep
from dqm.service.api.schemas import Page
from dqm.service.auth import KeyInfo, Scope, create_key, find_key, page_keys, revoke_key
from dqm.service.clock import utcnow

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class KeyOut(BaseModel):
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class KeyPage(Page[KeyOut]):
    pass


class KeyCreated(KeyOut):
    key: str = Field(description="The API key itself: shown in this answer only.")


def key_out(info: KeyInfo) -> KeyOut:
    return KeyOut(
        name=info.name,
        prefix=info.prefix,
        scopes=list(info.scopes),
        created_at=info.created_at,
        revoked_at=info.revoked_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: KeyCreate, ctx: CtxDep) -> KeyCreated:
    token = create_key(ctx.sessions, body.name, tuple(body.scopes), utcnow())
    return KeyCreated(**key_out(find_key(ctx.sessions, body.name)).model_dump(), key=token)


@router.get("")
def list_all(ctx: CtxDep, page: PageDep) -> KeyPage:
    found = page_keys(ctx.sessions, page)
    return KeyPage(items=[key_out(k) for k in found.items], next_cursor=found.next_cursor)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(name: str, ctx: CtxDep) -> Response:
    revoke_key(ctx.sessions, name, utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)

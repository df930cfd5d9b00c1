"""The process-wide handles every part of the service shares."""

from __future__ import annotations

import os
import socket
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dqm.monitors.profile import ReferenceProfile
from dqm.service.db.session import make_engine, make_sessionmaker
from dqm.service.settings import Settings
from dqm.service.storage import Storage


class ProfileCache:
    """LRU of reference profiles by their reference file: computed once per version.

    Keyed by the stored file, which is unique per upload, not by (dataset id, version): a
    dataset deleted and created again may reuse both numbers on SQLite.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, ReferenceProfile] = OrderedDict()
        self._lock = Lock()

    def get(self, key: str) -> ReferenceProfile | None:
        with self._lock:
            profile = self._items.get(key)
            if profile is not None:
                self._items.move_to_end(key)
            return profile

    def put(self, key: str, profile: ReferenceProfile) -> None:
        with self._lock:
            self._items[key] = profile
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    profiles: ProfileCache
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )

    @classmethod
    def create(cls, settings: Settings) -> Context:
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            storage=Storage.from_uri(settings.data_dir),
            profiles=ProfileCache(settings.profile_cache_size),
        )

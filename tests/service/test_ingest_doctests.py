"""Run the doctests of the ingest and storage modules (``testpaths`` does not cover service/)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from service import ingest, ingest_cast, ingest_decode, storage


@pytest.mark.parametrize("module", [ingest, ingest_cast, ingest_decode, storage])
def test_doctests_pass(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

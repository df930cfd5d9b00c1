"""Every docstring example in the installed ``dqm`` package (and the ``dqm_client`` it ships)
runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
from collections.abc import Iterator

import pytest

import dqm.alerts
import dqm.monitors
import dqm.service
import dqm_client


def _modules() -> Iterator[str]:
    for package in (dqm.alerts, dqm.monitors, dqm.service, dqm_client):
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" not in info.name:
                yield info.name


MODULES = sorted(_modules())


def test_every_package_folder_is_walked() -> None:
    assert "dqm.monitors.drift.monitor" in MODULES
    assert "dqm.service.api.datasets" in MODULES
    assert "dqm_client.profiles.codec" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    for example in doctest.DocTestFinder().find(module, name):
        if example.filename and not example.filename.endswith(".py"):
            continue
        runner.run(example, out=report.write)
    assert runner.failures == 0, report.getvalue()

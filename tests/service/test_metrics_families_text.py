"""/metrics' database families (dqm.service.metrics_families): the sample lines the snapshot
joins are prometheus-client's own text, byte for byte, whatever the labels and values, also
when a series is formatted again from its cached name and labels."""

from __future__ import annotations

import itertools

import pytest

import dqm.service.metrics_families as fam

AWKWARD = ["plain", 'quo"te', "back\\slash", "new\nline", "ünïcødé ✓", "", "a=b,c}"]
VALUES = [0, 1, 7, 2**53, -1.5, 1e-7, 1.0e21, 0.1 + 0.2, float("nan"), float("inf"), -float("inf")]


@pytest.mark.parametrize("name", list(fam.FAMILIES))
def test_lines_are_prometheus_clients_text(name: str) -> None:
    width = len(fam.FAMILIES[name][2])
    labelsets = list(itertools.product(AWKWARD[:3], repeat=width)) + [
        tuple(AWKWARD[(k + i) % len(AWKWARD)] for i in range(width)) for k in range(len(AWKWARD))
    ]
    samples = [(labels, VALUES[k % len(VALUES)]) for k, labels in enumerate(labelsets)]
    oracle = fam._text(name, samples)[1]  # generate_latest on the family
    assert fam.lines(name, samples) == oracle
    assert fam.lines(name, samples) == oracle  # again, from the cached series
    changed = [(labels, VALUES[(k + 3) % len(VALUES)]) for k, (labels, _) in enumerate(samples)]
    assert fam.lines(name, changed) == fam._text(name, changed)[1]
    assert fam.lines(name, []) == fam._text(name, [])[1] == ""

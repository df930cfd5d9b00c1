"""/metrics' process families (dqm.service.metrics_text): each family is formatted again only
when it changed, and the text is prometheus-client's own, byte for byte, after every kind of
change and whatever the label values."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest

import dqm.service.metrics as metrics
import dqm.service.metrics_text as text

AWKWARD = ["plain", 'quo"te', "back\\slash", "new\nline", "ünïcødé ✓", "", "a=b,c}"]


def test_every_change_shows_and_the_text_is_prometheus_clients_own() -> None:
    registry = CollectorRegistry()
    counter = text.VersionedCounter(
        "x_things", "Things.", ["dataset", "outcome"], registry=registry
    )
    plain = text.VersionedCounter("x_plain", "No labels.", registry=registry)
    gauge = text.VersionedGauge("x_level", "A level\nwith a newline and a \\.", registry=registry)
    histogram = text.VersionedHistogram("x_seconds", "Durations.", ["monitor"], registry=registry)
    rendered = text.ProcessText(registry)
    before = rendered.render()
    assert before == generate_latest(registry)
    assert rendered.render() is not before and rendered.render() == before  # nothing changed
    changes: list[Callable[[str, int], object]] = [
        lambda v, i: counter.labels(v, "ok").inc(i + 0.5),
        lambda v, i: counter.labels(dataset=v, outcome="failed"),  # a new series at 0
        lambda v, i: histogram.labels(v).observe(i * 0.37),
        lambda v, i: gauge.set(-i * 1e-7 if i % 2 else float("inf")),
        lambda v, i: gauge.inc(2),
        lambda v, i: gauge.dec(0.5),
        lambda v, i: plain.inc(),
    ]
    for i, value in enumerate(AWKWARD):
        for change in changes:
            change(value, i)  # a stale family would differ from the oracle
            assert rendered.render() == generate_latest(registry), (value, i)
    counter.remove(AWKWARD[0], "ok")
    assert rendered.render() == generate_latest(registry)
    histogram.clear()
    assert rendered.render() == generate_latest(registry)


def test_the_service_registry_renders_the_same() -> None:
    metrics.RUN_DURATION.labels("text-test").observe(0.25)
    metrics.INGEST_REJECTIONS.labels("d", "conflict").inc()
    assert metrics.PROCESS_TEXT.render() == generate_latest(metrics.REGISTRY)
    metrics.RUN_LAG.labels("text-test").observe(3)
    assert metrics.PROCESS_TEXT.render() == generate_latest(metrics.REGISTRY)

"""/metrics' process families are formatted with cached series names (metrics.ProcessText):
the text must be prometheus-client's own, byte for byte, whatever the label values."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

import dqm.service.metrics as metrics

AWKWARD = ["plain", 'quo"te', "back\\slash", "new\nline", "ünïcødé ✓", "", "a=b,c}"]


def test_the_text_is_prometheus_clients_own() -> None:
    registry = CollectorRegistry()
    counter = Counter("x_things", "Things.", ["dataset", "outcome"], registry=registry)
    gauge = Gauge("x_level", "A level\nwith a newline and a \\.", registry=registry)
    histogram = Histogram("x_seconds", "Durations.", ["monitor"], registry=registry)
    text = metrics.ProcessText(registry)
    assert text.render() == generate_latest(registry)
    for i, value in enumerate(AWKWARD):
        counter.labels(value, "ok").inc(i + 0.5)
        histogram.labels(value).observe(i * 0.37)
        gauge.set(-i * 1e-7 if i % 2 else float("inf"))
        assert text.render() == generate_latest(registry), value
    for value in AWKWARD:  # the same series again: cached names, new values
        histogram.labels(value).observe(1e6)
        counter.labels(value, "failed").inc(3)
    assert text.render() == generate_latest(registry)


def test_the_service_registry_renders_the_same() -> None:
    metrics.RUN_DURATION.labels("text-test").observe(0.25)
    metrics.INGEST_REJECTIONS.labels("d", "conflict").inc()
    assert metrics.PROCESS_TEXT.render() == generate_latest(metrics.REGISTRY)

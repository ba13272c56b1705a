"""Shared fixtures: a real loopback collector, tracers pointed at it, and the rule that a test
fails when the SDK swallowed an internal error it did not expect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from honeyhive import HoneyHiveTracer, set_default_tracer
from honeyhive._diagnostics import internal_error_count

from support.collector import Collector

if TYPE_CHECKING:
    from honeyhive.collector import RunningCollector

# No test may depend on what the developer's shell exports.
for _name in list(os.environ):
    if _name.startswith(("HH_", "HONEYHIVE_", "OTEL_")):
        del os.environ[_name]


@pytest.fixture(autouse=True)
def _no_swallowed_internal_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    before = internal_error_count()
    yield
    if request.node.get_closest_marker("internal_errors_expected"):
        return
    after = internal_error_count()
    assert after == before, (
        f"the SDK recorded {after - before} internal error(s) during this test; see the "
        "'honeyhive internal error' log records above"
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's local collector (``honeyhive serve``) keeps its database."""
    return tmp_path / "traces.db"


@pytest.fixture
def local(db_path: Path) -> Iterator[RunningCollector]:
    """The product collector served in-process (uvicorn in a thread) on a free port."""
    from honeyhive.collector import start

    with start(port=0, db_path=db_path) as running:
        yield running


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


@pytest.fixture
def make_tracer(collector: Collector) -> Iterator[Callable[..., HoneyHiveTracer]]:
    """Build tracers that send to the loopback collector; all are closed after the test."""
    made: list[HoneyHiveTracer] = []

    def make(**settings: Any) -> HoneyHiveTracer:
        settings.setdefault("server_url", collector.url)
        settings.setdefault("project", "test-project")
        settings.setdefault("schedule_delay", 0.05)
        tracer = HoneyHiveTracer(**settings)
        made.append(tracer)
        return tracer

    yield make
    for tracer in made:
        tracer.close()
    set_default_tracer(None)


@pytest.fixture
def tracer(make_tracer: Callable[..., HoneyHiveTracer]) -> HoneyHiveTracer:
    return make_tracer()

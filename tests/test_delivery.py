"""Flush and close are honest and bounded; retries follow the OTLP rules; drops are counted."""

from __future__ import annotations

import time
from typing import Callable

import pytest

from honeyhive import HoneyHiveTracer

from support.collector import Collector

MakeTracer = Callable[..., HoneyHiveTracer]


def _spans(tracer: HoneyHiveTracer, count: int) -> None:
    for index in range(count):
        with tracer.trace(f"op{index}"):
            pass


def test_flush_is_true_when_everything_arrived(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(schedule_delay=30)
    _spans(tracer, 10)
    assert tracer.flush(5) is True
    assert len(collector.spans) == 10


def test_flush_is_false_when_the_backend_is_down(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(export_timeout=0.5)
    tracer.flush(5)
    collector.set_fault("down")
    _spans(tracer, 3)
    started = time.monotonic()
    assert tracer.flush(3) is False
    assert time.monotonic() - started < 3 + 0.25
    assert tracer.dropped["network_error"] == 3


def test_flush_returns_within_its_timeout_when_the_backend_hangs(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(exit_timeout=0.5)
    tracer.flush(5)
    collector.set_fault("hang", seconds=20)
    _spans(tracer, 3)
    started = time.monotonic()
    assert tracer.flush(1.0) is False
    assert time.monotonic() - started < 1.0 + 0.25
    started = time.monotonic()
    tracer.close()
    assert time.monotonic() - started < 0.5 + 0.25
    collector.clear_fault()


@pytest.mark.parametrize("status", [400, 401, 403, 500])
def test_final_statuses_are_not_retried(
    make_tracer: MakeTracer, collector: Collector, status: int
) -> None:
    tracer = make_tracer()
    tracer.flush(5)
    collector.clear()
    collector.set_fault("status", status=status)
    _spans(tracer, 1)
    assert tracer.flush(5) is False
    trace_requests = [r for r in collector.requests if r.path.endswith("/traces")]
    assert len(trace_requests) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried_until_delivered(
    make_tracer: MakeTracer, collector: Collector, status: int
) -> None:
    tracer = make_tracer()
    _spans(tracer, 1)  # the session starts with its first span: out of the way
    assert tracer.flush(5)
    collector.clear()
    collector.set_fault("status", status=status, retry_after="0", count=2)
    _spans(tracer, 1)
    assert tracer.flush(10) is True
    assert len(collector.spans) == 1
    trace_requests = [r for r in collector.requests if r.path.endswith("/traces")]
    assert len(trace_requests) == 3


def test_a_413_splits_the_batch_and_delivers_it_all(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(schedule_delay=30)
    tracer.flush(5)
    collector.set_fault("too_large", max_bytes=4000)
    for index in range(40):
        with tracer.trace(f"op{index}") as span:
            span.set_attribute("payload", "x" * 200)
    assert tracer.flush(10) is True
    assert len(collector.spans) == 40
    assert collector.duplicates == 0


def test_connection_resets_are_retried(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer()
    tracer.flush(5)
    collector.set_fault("reset", count=1)
    _spans(tracer, 2)
    assert tracer.flush(10) is True
    assert len(collector.spans) == 2


def test_a_full_queue_drops_and_counts(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer(max_queue_size=10, max_export_batch_size=10, schedule_delay=30)
    collector.set_fault("hang", seconds=20)
    _spans(tracer, 30)  # the worker takes 10, the queue holds 10, 10 are dropped
    assert tracer.dropped["queue_full"] >= 10
    assert tracer.flush(0.2) is False
    collector.clear_fault()


def test_flush_reports_a_loss_that_happened_before_it_was_called(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(max_queue_size=10, max_export_batch_size=10, schedule_delay=30)
    assert tracer.flush(5)
    _spans(tracer, 100)  # most of these are dropped (queue_full) before the flush
    assert tracer.dropped["queue_full"] > 0
    assert tracer.flush(5) is False
    assert tracer.flush(5) is True  # nothing was lost since the previous flush


def test_a_byte_bound_smaller_than_a_batch_still_delivers(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(max_queue_bytes=1000, schedule_delay=30)
    _spans(tracer, 40)
    assert tracer.flush(5) is True
    assert len(collector.spans) == 40


def test_flush_after_close_tells_whether_close_lost_anything(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(exit_timeout=0.3)
    assert tracer.flush(5)
    collector.set_fault("hang", seconds=10)
    _spans(tracer, 1)
    tracer.close()
    assert tracer.flush(1) is False
    collector.clear_fault()


def test_close_is_idempotent_and_the_tracer_inert_afterwards(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    tracer.close()
    tracer.close()
    assert tracer.closed
    with tracer.trace("after-close") as span:
        assert not span.is_recording()
    tracer.enrich_session(metadata={"a": 1})
    assert isinstance(tracer.create_event("e"), str)
    assert tracer.flush(1) is True
    time.sleep(0.1)
    assert collector.spans == []


def test_context_manager_flushes_and_closes(collector: Collector) -> None:
    with (
        HoneyHiveTracer.init(server_url=collector.url, project="p") as tracer,
        tracer.trace("operation"),
    ):
        pass
    assert tracer.closed
    assert [s.name for s in collector.spans] == ["operation"]


@pytest.mark.internal_errors_expected
def test_a_failure_that_repeats_in_the_delivery_thread_does_not_spin_it(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that fails every pass: the thread lives on, paced, rather than looping hot (and
    logging a traceback thousands of times a second) while a flush waits."""
    from honeyhive._diagnostics import internal_error_count
    from honeyhive._export import _api

    tracer = make_tracer(schedule_delay=0.05)
    _spans(tracer, 1)

    def broken(self: object) -> None:
        raise RuntimeError("a bug in every pass")

    monkeypatch.setattr(_api.ApiChannel, "drain", broken)
    before = internal_error_count()
    assert tracer.flush(1) is False  # a flush while every pass fails
    assert internal_error_count() - before <= 40
    monkeypatch.undo()  # fixed: the thread, still alive, delivers
    assert tracer.flush(5)
    assert [s.name for s in collector.spans] == ["op0"]

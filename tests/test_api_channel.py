"""API calls (session starts, events, enrichments) keep up with a web service and keep their
order: batched, several requests in flight, each session's start first; one back-off for every
path to a backend. Against the loopback collector, slowed down to a realistic latency."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from flask import Flask

from honeyhive import HoneyHiveTracer, enrich_request_span
from honeyhive._export import gate_for
from honeyhive_flask import HoneyHive

from support.collector import Collector, RecordedRequest

MakeTracer = Callable[..., HoneyHiveTracer]
LATENCY = 0.05  # seconds the collector takes to answer anything


def _flask_app(tracer: HoneyHiveTracer, *, record_event: bool = False) -> Flask:
    app = Flask("channel")
    HoneyHive(app, tracer=tracer)

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        with tracer.trace("load-user"):
            enrich_request_span({"user.id": user_id})
        if record_event:
            tracer.create_event("looked-up", "tool", inputs={"user": user_id})
            tracer.enrich_session(metadata={"user": user_id})
        return {"id": user_id}

    return app


def _serve(app: Flask, count: int) -> None:
    with app.test_client() as client:
        for index in range(count):
            response = client.get(f"/users/{index}")
            assert response.status_code == 200
            response.get_data()
            response.close()  # the end of the response ends the request's span


@pytest.fixture
def slow(collector: Collector) -> Iterator[Collector]:
    collector.set_fault("slow", seconds=LATENCY)
    yield collector
    collector.clear_fault()


def test_a_thousand_requests_deliver_every_session_start_against_a_slow_backend(
    make_tracer: MakeTracer, slow: Collector
) -> None:
    """One round trip per call (the old way: 1,000 x 50 ms) cannot fit in the 30 s flush."""
    tracer = make_tracer(schedule_delay=0.2)
    _serve(_flask_app(tracer), 1000)
    assert tracer.flush(30), (dict(tracer.dropped_api_calls), dict(tracer.dropped))
    servers = [s for s in slow.spans if s.kind == "SERVER"]
    assert len(servers) == 1000
    started = [s["session_id"] for s in slow.sessions]
    assert len(started) == len(set(started)) == 1000  # each exactly once, and no other
    assert {s.attributes["honeyhive.session_id"] for s in servers} == set(started)
    batches = [r for r in slow.requests if r.path == "/events/batch"]
    assert len(batches) < 100  # sessions travel many to a request
    assert slow.duplicates == 0


def _sessions_in(request: RecordedRequest) -> set[str]:
    return {
        event["session_id"]
        for event in json.loads(request.body)["events"]
        if event.get("event_type") == "session"
    }


def _first_received(requests: list[RecordedRequest], predicate: Callable[[Any], bool]) -> float:
    return min(r.received_at for r in requests if predicate(r))


def _assert_each_session_started_first(
    collector: Collector, sessions: int, earlier: str = ""
) -> None:
    """Each of ``sessions`` sessions started once, answered before any request that carried
    its spans, events or enrichments left (on a backend answering ``LATENCY`` late);
    ``earlier``: a session started before the collector's records begin."""
    requests = [r for r in collector.requests if r.response_status == 200]
    start_of: dict[str, float] = {}
    for request in requests:
        if request.path == "/events/batch":
            for session_id in _sessions_in(request):
                start_of[session_id] = request.received_at
    assert len(start_of) == sessions
    for request in requests:
        if request.path == "/opentelemetry/v1/traces":
            found = {s.attributes["honeyhive.session_id"] for s in collector.spans_of(request)}
        elif request.path == "/events/batch":
            body = json.loads(request.body)["events"]
            found = {e["session_id"] for e in body if e.get("event_type") != "session"}
        else:  # PUT /events: an enrichment of the session
            found = {json.loads(request.body)["event_id"]}
        for session_id in found - {earlier}:
            # The start was answered before this request left: it arrived a round trip later.
            assert request.received_at >= start_of[session_id] + LATENCY * 0.9, (
                request.path,
                session_id,
            )


def test_each_session_starts_before_its_spans_events_and_enrichments(
    make_tracer: MakeTracer, slow: Collector
) -> None:
    tracer = make_tracer(schedule_delay=0.02)
    _serve(_flask_app(tracer, record_event=True), 200)
    assert tracer.flush(30)
    _assert_each_session_started_first(slow, 200)
    assert len(slow.events) == 200
    assert len(slow.event_updates) == 200


def test_a_failure_on_the_span_path_holds_the_api_path_too(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(export_timeout=10.0)
    with tracer.trace("warm-up"):  # the session starts; everything is delivered
        pass
    assert tracer.flush(5)
    collector.clear()
    collector.set_fault("status", status=503, count=1)  # no Retry-After: back off
    with tracer.trace("first"):
        pass
    collector.wait_for(lambda c: len(c.requests) == 1, timeout=5)
    failed_at = collector.requests[0].received_at
    assert collector.requests[0].path == "/opentelemetry/v1/traces"
    gate = gate_for(collector.url)
    deadline = time.monotonic() + 5
    while gate.wait_time() == 0:  # the SDK has read the 503
        assert time.monotonic() < deadline
        time.sleep(0.001)
    tracer.create_event("during-back-off")
    tracer.enrich_session(metadata={"a": 1})
    assert tracer.flush(10)
    later = [r.received_at - failed_at for r in collector.requests[1:]]
    assert {r.path for r in collector.requests[1:]} >= {"/events/batch", "/events"}
    assert min(later) >= 0.25 - 0.02, later  # the shortest first back-off
    assert {s.name for s in collector.spans} == {"first"}


def test_a_batch_the_backend_finds_too_large_is_split_not_lost(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(schedule_delay=30)
    for index in range(100):
        tracer._start_session(f"00000000-0000-4000-8000-{index:012d}")
    collector.set_fault("too_large", max_bytes=6000)
    assert tracer.flush(10), dict(tracer.dropped_api_calls)
    started = [s["session_id"] for s in collector.sessions]
    assert len(started) == len(set(started)) == 100
    refused = [r for r in collector.requests if r.response_status == 413]
    assert refused  # the first batches were too large for it


def test_calls_waiting_to_be_sent_are_bounded_and_what_does_not_fit_is_counted(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(max_queue_size=5, max_export_batch_size=5, schedule_delay=30)
    for index in range(20):  # faster than the delivery thread (asleep for 30 s) takes them
        tracer.create_event(f"event-{index}")
    assert tracer.dropped_api_calls["queue_full"] == 21 - 5  # the session start went first
    assert tracer.flush(5) is False  # something was lost: never True
    assert [e["event_name"] for e in collector.events] == [f"event-{i}" for i in range(4)]


def test_after_a_long_retry_after_each_session_still_starts_before_its_spans_and_events(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    """A pause longer than the export timeout: what waited for it has not waited for the
    starts it depends on, and must not all go at once when the pause ends."""
    tracer = make_tracer(schedule_delay=0.02, export_timeout=1.0)
    with tracer.trace("warm-up"):  # the tracer's own session starts; all is delivered
        pass
    assert tracer.flush(5)
    collector.clear()
    collector.set_fault("status", status=429, retry_after=2, count=1)
    with tracer.trace("told-to-wait"):  # longer than its export timeout: it waits too
        pass
    gate = gate_for(collector.url)
    deadline = time.monotonic() + 5
    while gate.wait_time() == 0:  # the SDK has read the 429: every path pauses 2 s
        assert time.monotonic() < deadline
        time.sleep(0.001)
    collector.set_fault("slow", seconds=LATENCY)
    _serve(_flask_app(tracer, record_event=True), 40)
    assert tracer.flush(30), (dict(tracer.dropped_api_calls), dict(tracer.dropped))
    collector.clear_fault()
    _assert_each_session_started_first(collector, 40, earlier=tracer.session_id)
    told = [r for r in collector.requests if r.response_status == 429]
    assert len(told) == 1
    waited = next(s for s in collector.spans if s.name == "told-to-wait")
    exports = [r for r in collector.requests if r.path == "/opentelemetry/v1/traces"]
    (again,) = [r for r in exports if r.response_status == 200 and waited in collector.spans_of(r)]
    assert again.received_at - told[0].received_at >= 2 - 0.05  # it waited as it was told


def test_enrichments_of_one_session_arrive_in_the_order_they_were_made(
    make_tracer: MakeTracer, slow: Collector
) -> None:
    """The last enrich_session wins at the backend: several in flight at once must not let an
    earlier one overtake a later one."""
    tracer = make_tracer(schedule_delay=30)
    for step in range(12):
        tracer.enrich_session(metadata={"step": step})
    assert tracer.flush(30)
    steps = [update["metadata"]["step"] for update in slow.event_updates]
    assert steps == list(range(12))

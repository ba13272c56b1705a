"""Sessions exist only where something is in them: a tracer's own session starts when it is first
used; a per-request session starts when its request ends, named after the request; a server's
process-level tracer, or ``manage.py check``, starts none. Checked at the loopback collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from flask import Flask, stream_with_context

from honeyhive import HoneyHiveTracer
from honeyhive._export import _api
from honeyhive_flask import HoneyHive

from support.collector import Collector, RecordedRequest

MakeTracer = Callable[..., HoneyHiveTracer]
TESTS = Path(__file__).resolve().parent


def _sessions_started_by(request: RecordedRequest) -> set[str]:
    events = json.loads(request.body)["events"]
    return {e["session_id"] for e in events if e.get("event_type") == "session"}


def test_an_unused_tracer_starts_no_session(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer()
    assert tracer.flush(5)
    tracer.close()
    assert collector.requests == []


def test_the_first_span_starts_the_session_once_and_before_it(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(session_name="nightly", inputs={"day": "mon"})
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        barrier.wait()
        with tracer.trace(f"op-{index}"):
            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracer.flush(5)
    (session,) = collector.sessions
    assert session["session_id"] == tracer.session_id
    assert session["session_name"] == "nightly"
    assert session["inputs"] == {"day": "mon"}
    start = next(r for r in collector.requests if r.path == "/events/batch")
    spans = [r for r in collector.requests if r.path == "/opentelemetry/v1/traces"]
    assert all(r.received_at > start.received_at for r in spans)
    assert len(collector.spans) == 8


@pytest.mark.parametrize(
    "use",
    [
        lambda t: t.enrich_session(metadata={"k": 1}),
        lambda t: t.create_event("checked"),
        lambda t: t.inject({}),
    ],
    ids=["enrich_session", "create_event", "inject"],
)
def test_using_the_session_without_a_span_starts_it(
    make_tracer: MakeTracer, collector: Collector, use: Callable[[HoneyHiveTracer], object]
) -> None:
    tracer = make_tracer()
    use(tracer)
    use(tracer)
    assert tracer.flush(5)
    assert [s["session_id"] for s in collector.sessions] == [tracer.session_id]
    first = collector.requests[0]
    assert first.path == "/events/batch"
    assert json.loads(first.body)["events"][0]["event_type"] == "session"


def test_joining_a_session_starts_none(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer(session_id="11111111-2222-4333-8444-555555555555")
    with tracer.trace("joined"):
        pass
    tracer.create_event("joined-event")
    assert tracer.flush(5)
    assert collector.sessions == []
    assert collector.spans[0].attributes["honeyhive.session_id"] == tracer.session_id


# -- per-request sessions -------------------------------------------------------------------------


def _app(tracer: HoneyHiveTracer, **options: object) -> Flask:
    app = Flask("sessions")
    HoneyHive(app, tracer=tracer, **options)  # type: ignore[arg-type]

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        with tracer.trace("load-user"):
            pass
        tracer.create_event("looked-up")
        tracer.enrich_session(metadata={"user": user_id})
        return {"id": user_id}

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/flush")
    def flush() -> str:
        with tracer.trace("before-flush"):
            tracer.create_event("before-flush")
        assert tracer.flush(5)  # serverless: deliver before answering
        return "flushed"

    @app.get("/slow-stream")
    def slow_stream() -> object:
        gate = app.config["STREAM_GATE"]

        @stream_with_context
        def body() -> Iterator[str]:
            with tracer.trace("chunk-0"):
                yield "a"
            gate.wait(5)  # meanwhile the chunk's span is due for export
            yield "b"

        return app.response_class(body())

    return app


def _get(app: Flask, path: str) -> int:
    with app.test_client() as client:
        response = client.get(path)
        status = response.status_code
        response.get_data()
        response.close()  # the end of the response ends the request (and its span)
    return status


def test_per_request_sessions_are_named_after_the_request(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    app = _app(tracer)
    assert _get(app, "/users/7") == 200
    assert _get(app, "/nowhere") == 404
    assert tracer.flush(5)
    names = sorted(str(s["session_name"]) for s in collector.sessions)
    assert names == ["GET", "GET /users/{user_id}"]  # and no session of the tracer's own
    user = next(s for s in collector.sessions if s["session_name"] == "GET /users/{user_id}")
    assert user["session_id"] != tracer.session_id
    (event,) = collector.events
    assert event["session_id"] == user["session_id"]
    (update,) = collector.event_updates
    assert update["event_id"] == user["session_id"]
    requests = collector.requests
    assert requests[0].path == "/events/batch"  # a session start went first
    assert _sessions_started_by(requests[0])


@pytest.mark.parametrize("otlp_format", ["protobuf", "json"])
def test_a_span_names_its_own_session_never_the_tracers(
    make_tracer: MakeTracer, collector: Collector, otlp_format: str
) -> None:
    """Under gunicorn the tracer's own session is named "gunicorn": a request's spans are in the
    request's session, and say so by its name; a caller's session is not named here at all."""
    tracer = make_tracer(otlp_format=otlp_format, schedule_delay=30)
    app = _app(tracer, allowed_baggage_keys=["session_id"])
    assert _get(app, "/users/7") == 200
    caller = "0b9c4a6e-5f1d-4c2b-9a7e-3d2f1e0c9b8a"  # a session another service started
    with app.test_client() as client:
        client.get("/users/8", headers={"baggage": f"session_id={caller}"}).close()
    with tracer.trace("own"):
        pass
    assert tracer.flush(5)
    assert tracer.session_name  # the program's name by default
    named = {
        (s.name, s.attributes["honeyhive.session_id"]): s.attributes.get("honeyhive.session_name")
        for s in collector.spans
    }
    request_session = next(
        s["session_id"] for s in collector.sessions if s["session_name"] == "GET /users/{user_id}"
    )
    assert named == {
        ("GET /users/{user_id}", request_session): "GET /users/{user_id}",
        ("load-user", request_session): "GET /users/{user_id}",
        ("GET /users/{user_id}", caller): None,
        ("load-user", caller): None,
        ("own", tracer.session_id): tracer.session_name,
    }


def test_a_chosen_session_name_names_every_session(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(session_name="checkout-api")
    assert _get(_app(tracer), "/users/1") == 200
    assert tracer.flush(5)
    assert [s["session_name"] for s in collector.sessions] == ["checkout-api"]
    assert {s.attributes["honeyhive.session_name"] for s in collector.spans} == {"checkout-api"}


def test_excluded_health_checks_make_no_session(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_EXCLUDED_URLS", "/healthz")
    tracer = make_tracer()
    app = _app(tracer)
    for _ in range(3):
        assert _get(app, "/healthz") == 200
    assert tracer.flush(5)
    assert collector.requests == []


def test_a_long_request_holds_its_spans_until_its_session_starts(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(schedule_delay=0.02)
    app = _app(tracer)
    gate = app.config["STREAM_GATE"] = threading.Event()
    with app.test_client() as client:
        response = client.get("/slow-stream", buffered=False)
        chunks = response.response
        assert next(iter(chunks)) == b"a"  # chunk-0 has ended; the request goes on
        ended = threading.Event()
        threading.Timer(0.3, lambda: (gate.set(), ended.set())).start()
        assert b"".join(chunks) == b"b"
        response.close()
    assert ended.is_set()
    assert tracer.flush(5)
    (session,) = collector.sessions
    assert session["session_name"] == "GET /slow-stream"
    start = next(r for r in collector.requests if r.path == "/events/batch")
    exports = [r for r in collector.requests if r.path == "/opentelemetry/v1/traces"]
    assert exports
    assert all(r.received_at > start.received_at for r in exports)
    assert {s.name for s in collector.spans} == {"GET /slow-stream", "chunk-0"}


def test_a_request_that_lasts_has_its_session_started_and_its_spans_sent_meanwhile(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A websocket or a long stream: what it holds is not kept back for its whole life."""
    monkeypatch.setattr(_api, "MAX_OPEN_SECONDS", 0.3)
    tracer = make_tracer(schedule_delay=0.05)
    app = _app(tracer)
    gate = threading.Event()

    @app.get("/long")
    def long() -> object:
        @stream_with_context
        def body() -> Iterator[str]:
            with tracer.trace("first-part"):
                tracer.create_event("first-part")
            yield "a"
            gate.wait(5)
            yield "b"

        return app.response_class(body())

    with app.test_client() as client:
        response = client.get("/long", buffered=False)
        chunks = iter(response.response)
        assert next(chunks) == b"a"  # first-part has ended; the request goes on
        collector.wait_for(lambda c: [s.name for s in c.spans] == ["first-part"], timeout=5)
        collector.wait_for(lambda c: len(c.events) == 1, timeout=5)
        (session,) = collector.sessions  # started, named as far as is known
        assert session["session_name"] in ("GET", "GET /long")
        gate.set()
        assert b"".join(chunks) == b"b"
        response.close()
    assert tracer.flush(5)
    assert len(collector.sessions) == 1  # not again when the request ended
    assert {s.attributes["honeyhive.session_id"] for s in collector.spans} == {
        session["session_id"]
    }


def test_responses_nobody_closed_do_not_hold_their_sessions_forever(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Werkzeug's test client, used without closing its responses: the requests never end."""
    monkeypatch.setattr(_api, "MAX_OPEN_SESSIONS", 20)
    tracer = make_tracer(schedule_delay=0.05)
    app = _app(tracer)
    client = app.test_client()
    for index in range(100):
        assert client.get(f"/users/{index}").status_code == 200  # never closed
    # What they held is released with their starts.
    collector.wait_for(lambda c: len(c.sessions) >= 80 and len(c.events) >= 80, timeout=5)
    assert len(tracer._api.open_sessions()) <= 20


@pytest.mark.internal_errors_expected
def test_a_session_start_that_cannot_be_built_costs_the_start_not_the_request_span(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(scope: object) -> dict[str, object]:
        raise RuntimeError("a bug while naming the session")

    monkeypatch.setattr("honeyhive._http._server.RequestScope.session_start", broken)
    tracer = make_tracer(schedule_delay=0.05)
    response = _app(tracer).test_client().get("/users/7")
    assert response.status_code == 200
    response.close()  # the request ends: its session would start here
    assert tracer.flush(5) is False  # the start was lost, and said so
    assert tracer.dropped_api_calls["internal_error"] == 1
    assert tracer._api.open_sessions() == frozenset()  # nothing of it is held any more
    assert {s.name for s in collector.spans} == {"GET /users/{user_id}", "load-user"}
    assert collector.sessions == []


def test_a_flush_inside_a_request_starts_its_session_once(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(schedule_delay=30)  # nothing leaves but by the flush
    app = _app(tracer)
    # The flush in the view delivered what the request had made so far, its start first.
    app.after_request(lambda response: _check_delivered(collector) or response)
    assert _get(app, "/flush") == 200
    assert tracer.flush(5)
    (session,) = collector.sessions  # started early by the flush, not again at the end
    span = next(s for s in collector.spans if s.name == "before-flush")
    assert span.attributes["honeyhive.session_id"] == session["session_id"]
    assert session["session_name"] in ("GET", "GET /flush")


def _check_delivered(collector: Collector) -> None:
    assert [s.name for s in collector.spans] == ["before-flush"]
    assert [e["event_name"] for e in collector.events] == ["before-flush"]
    assert len(collector.sessions) == 1


def test_manage_py_check_starts_no_session(collector: Collector) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    env.update(
        HH_API_URL=collector.url,
        DJANGO_HH_REAL_SERVER="1",
        DJANGO_SETTINGS_MODULE="apps.django_project.settings",
        PYTHONPATH=str(TESTS),
    )
    done = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=env,
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert collector.requests == []

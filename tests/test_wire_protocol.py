"""What reaches a HoneyHive backend: sessions, spans (protobuf and JSON), events, enrichments."""

from __future__ import annotations

import json
import time
import uuid
from typing import Callable

import pytest

from honeyhive import HoneyHiveTracer, trace
from honeyhive._version import __version__

from support.collector import Collector

MakeTracer = Callable[..., HoneyHiveTracer]


def test_session_start_is_sent_in_the_background_with_the_client_made_id(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(
        api_key="hh_test_key_123456", session_name="onboarding", inputs={"user": "u1"}
    )
    assert uuid.UUID(tracer.session_id)
    before = time.time() * 1000
    with tracer.trace("op"):  # a session starts when it is first used
        pass
    assert tracer.flush(5)
    request = next(r for r in collector.requests if r.path == "/events/batch")
    (start,) = json.loads(request.body)["events"]  # a session starts as a batch event
    assert before - 1000 <= start.pop("start_time") <= time.time() * 1000
    assert start == {
        "event_type": "session",
        "event_id": tracer.session_id,
        "session_id": tracer.session_id,
        "event_name": "onboarding",
        "source": "dev",
        "project": "test-project",
        "inputs": {"user": "u1"},
    }
    (session,) = collector.sessions
    assert session["session_name"] == "onboarding"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer hh_test_key_123456"
    assert request.headers["hh-client-language"] == "python"
    assert request.headers["hh-client-version"] == __version__
    assert request.headers["hh-client-package"] == "honeyhive-core"


def test_no_authorization_header_without_a_key(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    with tracer.trace("op"):
        pass
    assert tracer.flush(5)
    assert collector.requests
    for request in collector.requests:
        assert "authorization" not in request.headers  # never "Bearer None"


@pytest.mark.parametrize("otlp_format", ["protobuf", "json"])
def test_spans_carry_the_protocol_attributes(
    make_tracer: MakeTracer, collector: Collector, otlp_format: str
) -> None:
    tracer = make_tracer(source="staging", session_name="s1", otlp_format=otlp_format)
    with tracer.trace("parent", event_type="chain") as parent, tracer.trace("child"):
        parent.set_attribute("custom", 7)
    assert tracer.flush(5)
    spans = {s.name: s for s in collector.wait_for_spans(2)}
    expected_type = "application/json" if otlp_format == "json" else "application/x-protobuf"
    trace_requests = [r for r in collector.requests if r.path == "/opentelemetry/v1/traces"]
    assert trace_requests
    assert trace_requests[0].headers["content-type"] == expected_type
    assert trace_requests[0].headers["x-source"] == "staging"
    for span in spans.values():
        attributes = span.attributes
        assert attributes["honeyhive.session_id"] == tracer.session_id
        assert attributes["traceloop.association.properties.session_id"] == tracer.session_id
        assert attributes["honeyhive.project"] == "test-project"
        assert attributes["traceloop.association.properties.project"] == "test-project"
        assert attributes["honeyhive.source"] == "staging"
        assert attributes["traceloop.association.properties.source"] == "staging"
        assert attributes["honeyhive.session_name"] == "s1"
        assert attributes["honeyhive.tracer_version"] == __version__
    assert spans["parent"].attributes["honeyhive.event_type"] == "chain"
    assert spans["parent"].attributes["honeyhive_event_type"] == "chain"
    assert spans["parent"].attributes["custom"] == 7
    assert "honeyhive_event_type" not in spans["child"].attributes
    assert spans["child"].parent_span_id == spans["parent"].span_id


def test_event_type_outside_the_protocol_maps_to_tool(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    with tracer.trace("llm_completion", event_type="openai_gpt4"):
        pass
    tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    assert span.attributes["honeyhive.event_type"] == "openai_gpt4"
    assert span.attributes["honeyhive_event_type"] == "tool"


def test_span_names_never_guess_the_event_type(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    with tracer.trace("GET /chat"):
        pass
    tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    assert "honeyhive_event_type" not in span.attributes


def test_create_event_returns_at_once_and_is_delivered(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    collector.set_fault("slow", seconds=1.0)
    started = time.monotonic()
    event_id = tracer.create_event(
        event_name="my_event",
        event_type="tool",
        inputs={"input": "data"},
        outputs={"output": "result"},
        metadata={"k": "v"},
        duration=12.5,
    )
    assert time.monotonic() - started < 0.2
    assert uuid.UUID(event_id)
    assert tracer.flush(10)
    (event,) = collector.events
    assert event["event_id"] == event_id
    assert event["event_name"] == "my_event"
    assert event["event_type"] == "tool"
    assert event["session_id"] == tracer.session_id
    assert event["inputs"] == {"input": "data"}
    assert event["outputs"] == {"output": "result"}
    assert event["duration"] == 12.5
    assert "error" not in event  # nulls are omitted


def test_enrich_session_puts_to_events(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer()
    tracer.enrich_session(
        metadata={"tier": "pro"}, metrics={"score": 0.9}, inputs={"q": "hi"}, feedback={"ok": True}
    )
    assert tracer.flush(5)
    (update,) = collector.event_updates
    assert update == {
        "event_id": tracer.session_id,
        "metadata": {"tier": "pro", "inputs": {"q": "hi"}},
        "metrics": {"score": 0.9},
        "feedback": {"ok": True},
    }


def test_enrich_span_uses_the_protocol_namespaces(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    with tracer.trace("op"):
        assert tracer.enrich_span(
            metadata={"a": {"b": 1}},
            metrics={"latency": 3.5},
            feedback={"liked": True},
            inputs={"messages": ["hi", "there"]},
            outputs={"text": "ok"},
            config={"model": "gpt"},
            user_properties={"plan": "pro"},
            error="boom",
        )
        tracer.enrich_current_span({"plain": "x", "nested": {"y": 2}})
    tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    attributes = span.attributes
    assert attributes["honeyhive_metadata.a.b"] == 1
    assert attributes["honeyhive_metrics.latency"] == 3.5
    assert attributes["honeyhive_feedback.liked"] is True
    assert attributes["honeyhive_inputs.messages.0"] == "hi"
    assert attributes["honeyhive_inputs.messages.1"] == "there"
    assert attributes["honeyhive_outputs.text"] == "ok"
    assert attributes["honeyhive_config.model"] == "gpt"
    assert attributes["honeyhive_user_properties.plan"] == "pro"
    assert attributes["honeyhive_error"] == "boom"
    assert attributes["plain"] == "x"
    assert attributes["nested.y"] == 2


def test_enrich_outside_a_span_is_a_no_op(make_tracer: MakeTracer) -> None:
    tracer = make_tracer()
    assert tracer.enrich_span(metadata={"a": 1}) is False
    assert tracer.enrich_current_span({"a": 1}) is False


def test_evaluation_ids_land_on_every_span_and_the_session(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(is_evaluation=True, run_id="r1", dataset_id="d1", datapoint_id="p1")
    with tracer.trace("op"):
        pass
    assert tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    assert span.attributes["honeyhive_metadata.run_id"] == "r1"
    assert span.attributes["honeyhive_metadata.dataset_id"] == "d1"
    assert span.attributes["honeyhive_metadata.datapoint_id"] == "p1"
    (session,) = collector.sessions
    assert session["metadata"] == {
        "run_id": "r1",
        "dataset_id": "d1",
        "datapoint_id": "p1",
    }
    carrier = tracer.inject()
    assert "run_id=r1" in carrier["baggage"]


def test_given_session_id_is_joined_not_restarted(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    existing = "550e8400-e29b-41d4-a716-446655440000"
    tracer = make_tracer(session_id=existing.upper())
    assert tracer.session_id == existing
    with tracer.trace("op"):
        pass
    assert tracer.flush(5)
    assert collector.sessions == []
    (span,) = collector.wait_for_spans(1)
    assert span.attributes["honeyhive.session_id"] == existing


def test_joining_a_session_updates_it_with_inputs_and_evaluation_ids(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    existing = "550e8400-e29b-41d4-a716-446655440000"
    make_tracer(session_id=existing, inputs={"q": "hi"}, is_evaluation=True, run_id="r1").flush(5)
    assert collector.sessions == []
    assert collector.event_updates == [
        {"event_id": existing, "metadata": {"run_id": "r1", "inputs": {"q": "hi"}}}
    ]


def test_disable_batch_exports_each_span_as_it_ends(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(disable_batch=True, schedule_delay=30)
    for index in range(3):
        with tracer.trace(f"op{index}"):
            pass
        collector.wait_for_spans(index + 1, timeout=5)
    trace_requests = [r for r in collector.requests if r.path == "/opentelemetry/v1/traces"]
    assert len(trace_requests) == 3


def test_batching_groups_spans_into_few_requests(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(schedule_delay=30, max_export_batch_size=50)
    for index in range(100):
        with tracer.trace(f"op{index}"):
            pass
    collector.wait_for_spans(100, timeout=5)  # two full batches go without waiting 30 s
    trace_requests = [r for r in collector.requests if r.path == "/opentelemetry/v1/traces"]
    assert len(trace_requests) == 2


def test_test_mode_sends_nothing_but_runs_the_pipeline(collector: Collector) -> None:
    lines: list[str] = []
    tracer = HoneyHiveTracer(
        test_mode=True, server_url=collector.url, project="p", exporters=["honeyhive", "console"]
    )
    import honeyhive._export._exporters as exporters_module

    console = next(
        e for e in tracer._delivery._exporters if isinstance(e, exporters_module._ConsoleExporter)
    )
    console._out = _Lines(lines)

    @trace(tracer=tracer)
    def tool(password: str, query: str) -> str:
        return query.upper()

    tool("hunter2-secret", "hi")
    tracer.create_event("e")
    tracer.enrich_session(metadata={"a": 1})
    assert tracer.test_mode
    assert tracer.flush(5)
    tracer.close()
    assert collector.requests == []
    (exported,) = [json.loads(line) for line in lines]
    assert exported["attributes"]["honeyhive_inputs.password"] == "[REDACTED]"
    assert exported["attributes"]["honeyhive_outputs.result"] == "HI"
    assert exported["attributes"]["honeyhive.session_id"] == tracer.session_id
    assert "hunter2-secret" not in "".join(lines)


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def write(self, text: str) -> None:
        self._lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass


def test_secrets_never_reach_the_backend(make_tracer: MakeTracer, collector: Collector) -> None:
    import dataclasses

    key = "hh_SENTINEL_0a1b2c3d4e5f"
    tracer = make_tracer(api_key=key)

    @dataclasses.dataclass
    class DbConfig:
        host: str
        password: str

    @trace(tracer=tracer)
    def connect(cfg: DbConfig) -> None:
        raise RuntimeError(f"auth failed for key {key}")

    with pytest.raises(RuntimeError):
        connect(DbConfig("db", "hunter2-SENTINEL"))
    with tracer.trace(f"span named {key}"):
        pass
    tracer.create_event("e", inputs={"api_key": "sk-SENTINEL", "note": f"uses {key}"})
    tracer.enrich_session(metadata={"password": "pw-SENTINEL"})
    assert tracer.flush(5)
    for request in collector.requests:
        assert b"SENTINEL" not in request.body, request.path
    spans = {s.name: s for s in collector.spans}
    assert (
        spans["test_secrets_never_reach_the_backend.<locals>.connect"].attributes[
            "honeyhive_inputs.cfg.password"
        ]
        == "[REDACTED]"
    )


def test_create_event_with_a_cycle_never_raises(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    cyclic: dict[str, object] = {"a": 1}
    cyclic["self"] = cyclic
    tracer.create_event("e", inputs=cyclic)
    tracer.flush(5)


def test_the_api_key_never_reaches_span_attributes(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    key = "hh_SENTINEL_9f8e7d6c5b4a"
    tracer = make_tracer(api_key=key)
    with tracer.trace("op") as span:
        span.set_attribute("debug", f"calling with {key}")
        span.set_attribute("http.request.header.authorization", f"Bearer {key}")
        span.add_event("note", {"detail": key})
    assert tracer.flush(5)
    (received,) = collector.wait_for_spans(1)
    assert received.attributes["debug"] == "calling with [REDACTED]"
    assert received.attributes["http.request.header.authorization"] == "[REDACTED]"
    assert received.events[0].attributes["detail"] == "[REDACTED]"
    for request in collector.requests:
        if request.path.endswith("/traces"):
            assert key.encode() not in request.body

"""honeyhive.testing: the pytest plugin users assert on their own traces with."""

from __future__ import annotations

import asyncio

import pytest

from honeyhive import HoneyHiveTracer, trace
from honeyhive.testing import SpanCapture, capture, unflatten

pytest_plugins = ["pytester"]


@trace(event_type="tool")
def search_docs(query: str, api_key: str = "") -> list[str]:
    return [f"doc about {query}"]


@trace(event_type="model", event_name="chat_completion")
def complete(messages: list[dict[str, str]], temperature: float = 0.2) -> str:
    return "an answer"


@trace(event_type="chain")
def answer(question: str) -> str:
    docs = search_docs(question, api_key="sk-SENTINEL-do-not-leak")
    return complete([{"role": "system", "content": docs[0]}, {"role": "user", "content": question}])


def test_the_fixture_captures_what_the_backend_would_receive(
    honeyhive_capture: SpanCapture,
) -> None:
    answer("refunds?")
    model = honeyhive_capture.find("chat_completion")
    assert model.event_type == "model"
    assert model.inputs == {
        "messages": [
            {"role": "system", "content": "doc about refunds?"},
            {"role": "user", "content": "refunds?"},
        ]
    }
    assert model.result == "an answer"
    tool = honeyhive_capture.find("search_docs")
    assert tool.inputs == {"query": "refunds?", "api_key": "[REDACTED]"}  # redaction ran
    chain = honeyhive_capture.find("answer")
    assert [s.name for s in honeyhive_capture.children(chain)] == ["search_docs", "chat_completion"]
    assert model.session_id == honeyhive_capture.tracer.session_id  # enrichment ran
    assert model.attributes["honeyhive.project"] == "test"
    assert "SENTINEL" not in repr(honeyhive_capture.spans)
    assert honeyhive_capture.tree() == (
        "answer [chain]\n  search_docs [tool]\n  chat_completion [model]"
    )


def test_find_fails_with_the_tree_in_the_message(honeyhive_capture: SpanCapture) -> None:
    answer("q")
    with pytest.raises(AssertionError, match=r"found 0:\nanswer \[chain\]"):
        honeyhive_capture.find("nope")


def test_errors_and_events(honeyhive_capture: SpanCapture) -> None:
    tracer = honeyhive_capture.tracer

    @trace
    def fails() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        fails()
    with tracer.trace("with-event") as span:
        span.add_event("retrieved", {"count": 3})
        tracer.enrich_span(metadata={"tier": "pro"}, metrics={"score": 0.5})
    failed = honeyhive_capture.find("test_errors_and_events.<locals>.fails")
    assert failed.status == "ERROR"
    assert failed.error == "bad input"
    assert [e.name for e in failed.events] == ["exception"]
    enriched = honeyhive_capture.find("with-event")
    assert enriched.metadata == {"tier": "pro"}
    assert enriched.metrics == {"score": 0.5}
    assert enriched.events[0].attributes == {"count": 3}


def test_api_calls_are_captured_not_sent(honeyhive_capture: SpanCapture) -> None:
    tracer = honeyhive_capture.tracer
    event_id = tracer.create_event("feedback", "tool", inputs={"rating": 5})
    tracer.enrich_session(metadata={"plan": "pro"})
    assert honeyhive_capture.session_starts[0]["session_id"] == tracer.session_id
    (event,) = honeyhive_capture.events
    assert event["event_id"] == event_id
    assert event["inputs"] == {"rating": 5}
    assert honeyhive_capture.session_updates == [
        {"event_id": tracer.session_id, "metadata": {"plan": "pro"}}
    ]


@pytest.mark.honeyhive(deterministic=True, project="snapshots")
def test_deterministic_ids_and_times(honeyhive_capture: SpanCapture) -> None:
    answer("q")
    spans = {s.name: s for s in honeyhive_capture.spans}
    assert spans["answer"].trace_id == "0" * 31 + "1"
    assert spans["answer"].span_id == "0" * 15 + "1"
    assert spans["search_docs"].span_id == "0" * 15 + "2"
    assert spans["search_docs"].parent_id == spans["answer"].span_id
    assert spans["answer"].session_id == "00000000-0000-4000-8000-000000000001"
    assert spans["answer"].attributes["honeyhive.project"] == "snapshots"
    times = sorted(t for s in spans.values() for t in (s.start_time, s.end_time))
    assert times == [1_700_000_000_000_000_000 + i * 1_000_000 for i in range(6)]
    assert spans["answer"].duration_ns == 5_000_000


def test_deterministic_runs_compare_equal() -> None:
    def run() -> list[object]:
        with capture(deterministic=True) as captured:
            answer("same")
            asyncio.run(_async_tool())
            return list(captured.spans)

    assert run() == run()


@trace
async def _async_tool() -> int:
    return 1


def test_the_default_tracer_is_restored_and_nothing_leaks() -> None:
    with capture() as first:
        assert first.tracer.closed is False
    assert first.tracer.closed
    with capture() as second:
        search_docs("x")
        assert [s.name for s in second.spans] == ["search_docs"]
    with capture() as third:
        assert third.spans == []


def test_a_users_own_tracer_is_untouched(honeyhive_capture: SpanCapture) -> None:
    own = HoneyHiveTracer(test_mode=True, exporters=["memory"])
    try:
        with own.trace("mine"):
            pass
        search_docs("x")  # a bare @trace goes to the capture (the default tracer in the test)
        assert [s.name for s in honeyhive_capture.spans] == ["search_docs"]
    finally:
        own.close()


def test_unflatten() -> None:
    flat = {"p.a.b": 1, "p.l.0": "x", "p.l.1": "y", "p.m.1": "z", "q.other": 2}
    assert unflatten(flat, "p.") == {"a": {"b": 1}, "l": ["x", "y"], "m": {"1": "z"}}


def test_the_plugin_is_registered_for_users(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from opentelemetry import trace as otel
        from opentelemetry.sdk.trace import TracerProvider
        from honeyhive import trace

        @trace(event_type="tool")
        def lookup(q):
            return q.upper()

        def test_one(honeyhive_capture):
            lookup("a")
            assert honeyhive_capture.find("lookup").result == "A"

        def test_two_starts_clean(honeyhive_capture):
            assert honeyhive_capture.spans == []

        def test_global_provider_untouched(honeyhive_capture):
            assert not isinstance(otel.get_tracer_provider(), TracerProvider)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)

"""Code written for the published ``honeyhive`` 1.7.0 runs here unchanged, with its meaning.

Each test is one usage pattern from the published package's README or docstrings (the source is
named above each), copied as written. The environment names the loopback collector
(``HH_API_URL``) as a user's would name their backend; what arrives there is checked: the
sessions, the spans and their attributes, the enrichments, the events. Where the published
SDK has a bug (see docs/migration.md), the test checks the documented meaning instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import honeyhive
from honeyhive import (
    DotDict,
    HoneyHiveTracer,
    MissingApiKeyError,
    enrich_session,
    enrich_span,
    get_logger,
    set_default_tracer,
    trace,
    trace_class,
)
from honeyhive.config.models import TracerConfig

from support.collector import Collector
from support.fake_openai import REPLY, serve_fake_openai

API_KEY = "hh_published_pattern_key"


@pytest.fixture(autouse=True)
def backend(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """The environment a published-SDK user has: a key and the backend's URL."""
    monkeypatch.setenv("HH_API_URL", collector.url)
    monkeypatch.setenv("HH_API_KEY", API_KEY)
    monkeypatch.setenv("HH_SCHEDULE_DELAY", "0.05")
    yield collector
    for tracer in honeyhive._context.open_tracers():
        tracer.close()
    HoneyHiveTracer.reset()


def _session(collector: Collector, session_id: str) -> dict[str, Any]:
    (found,) = [s for s in collector.sessions if s["session_id"] == session_id]
    return found


def _updates(collector: Collector, event_id: str) -> list[dict[str, Any]]:
    return [u for u in collector.event_updates if u["event_id"] == event_id]


# -- README: "Quick Start", "Basic Usage" -------------------------------------------------------


def test_readme_quick_start_init_and_decorators(backend: Collector) -> None:
    # README "Quick Start"
    tracer = HoneyHiveTracer.init(
        api_key="your-api-key",
        project="your-project",
        source="production",
    )

    @trace(event_type="demo", event_name="my_function")
    def my_function(x: int, label: str) -> dict[str, Any]:
        return {"answer": x * 2, "label": label}

    @trace(event_type="tool")
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return f"got {url}"

    assert my_function(21, "x") == {"answer": 42, "label": "x"}
    assert asyncio.run(fetch("https://example.com")) == "got https://example.com"
    assert tracer.flush()

    (session,) = backend.sessions
    assert session["session_id"] == tracer.session_id
    assert session["source"] == "production"
    (sync_span,) = backend.spans_named("my_function")
    attrs = sync_span.attributes
    assert attrs["honeyhive.session_id"] == tracer.session_id
    assert attrs["honeyhive.event_type"] == "demo"  # as given
    assert attrs["honeyhive_event_name"] == "my_function"
    assert attrs["honeyhive_inputs.x"] == 21
    assert attrs["honeyhive_inputs.label"] == "x"
    assert attrs["honeyhive_outputs.result.answer"] == 42
    (async_span,) = [s for s in backend.spans if s.name.endswith("fetch")]
    assert async_span.attributes["honeyhive_event_type"] == "tool"
    assert async_span.attributes["honeyhive_outputs.result"] == "got https://example.com"
    assert async_span.attributes["honeyhive.session_id"] == tracer.session_id
    # The published bug (23) is not copied: the decorator's own settings are not metadata.
    assert not any(k.startswith("honeyhive_metadata.") for k in attrs)


def test_readme_manual_span(backend: Collector) -> None:
    # README "Manual span management"
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    with tracer.start_span("custom-operation") as span:
        span.set_attribute("custom.attribute", "value")
        with tracer.start_span("child-operation"):
            pass
    assert tracer.flush()
    (parent,) = backend.spans_named("custom-operation")
    (child,) = backend.spans_named("child-operation")
    assert parent.attributes["custom.attribute"] == "value"
    assert child.parent_span_id == parent.span_id  # current inside the block, as published
    assert parent.attributes["honeyhive.session_id"] == tracer.session_id


def test_readme_self_hosted_server_url(backend: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    # README "Self-hosted": init(..., server_url=...)
    monkeypatch.delenv("HH_API_URL")
    tracer = HoneyHiveTracer.init(
        api_key="your-api-key", project="your-project", server_url=backend.url + "/"
    )
    with tracer.trace("self-hosted"):
        pass
    assert tracer.flush()
    assert backend.spans_named("self-hosted")
    assert _session(backend, tracer.session_id)
    with pytest.raises(ValueError, match="server_url"):  # never production in silence (bug 9)
        HoneyHiveTracer.init(api_key="k", project="p", server_url="custom-server.com")


# -- README: enrichment, "v1.0+ Recommended" and "Legacy Pattern" -------------------------------


def test_readme_instance_method_enrichment(backend: Collector) -> None:
    # README "Instance Method Pattern (v1.0+ Recommended)"
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")

    @tracer.trace(event_type="tool")
    def process_data(input_data: str) -> str:
        result = input_data.upper()
        tracer.enrich_span(metadata={"input": input_data, "result": result}, metrics={"n": 3})
        return result

    assert process_data("hello") == "HELLO"
    tracer.enrich_session(user_properties={"user_id": "user-123", "plan": "premium"})
    assert tracer.flush()

    (span,) = [s for s in backend.spans if s.name.endswith("process_data")]
    assert span.attributes["honeyhive_event_type"] == "tool"
    assert span.attributes["honeyhive_metadata.input"] == "hello"
    assert span.attributes["honeyhive_metadata.result"] == "HELLO"
    assert span.attributes["honeyhive_metrics.n"] == 3
    (update,) = _updates(backend, tracer.session_id)
    assert update["user_properties"] == {"user_id": "user-123", "plan": "premium"}


def test_readme_legacy_free_function_enrichment(backend: Collector) -> None:
    # README "Global Function Pattern (Legacy, still supported)"
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")

    @trace(event_type="tool")
    def my_function(input_data: str) -> str:
        enrich_span(metadata={"input": input_data}, metrics={"latency_ms": 12})
        return input_data[::-1]

    assert my_function("abc") == "cba"
    # Raises TypeError in 1.7.0 (bug 33); the README's meaning here.
    enrich_session(user_properties={"user_id": "user-123"})
    assert tracer.flush()

    (span,) = [s for s in backend.spans if s.name.endswith("my_function")]
    assert span.attributes["honeyhive_metadata.input"] == "abc"
    assert span.attributes["honeyhive_metrics.latency_ms"] == 12
    (update,) = _updates(backend, tracer.session_id)
    assert update["user_properties"] == {"user_id": "user-123"}


def test_enrich_span_published_argument_forms(backend: Collector) -> None:
    # enrichment.py: attributes (positional or named) and any other keyword are metadata;
    # error lands on honeyhive_error; update_event_id on honeyhive_event_id.
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    with tracer.trace("enriched"):
        assert enrich_span({"k": "v"})
        assert enrich_span(attributes={"a": 1}, user_properties={"u": "x"})
        assert tracer.enrich_span(
            {"b": 2}, customer="acme", error="bad input", update_event_id="evt-1"
        )
        with enrich_span(config={"model": "gpt-4"}) as span:
            span.set_attribute("inside", True)
    assert not enrich_span(metadata={"lost": True})  # no span: false, not a silent true
    assert tracer.flush()

    (span,) = backend.spans_named("enriched")
    attrs = span.attributes
    assert attrs["honeyhive_metadata.k"] == "v"
    assert attrs["honeyhive_metadata.a"] == 1
    assert "a" not in attrs
    assert attrs["honeyhive_user_properties.u"] == "x"
    assert attrs["honeyhive_metadata.b"] == 2
    assert attrs["honeyhive_metadata.customer"] == "acme"
    assert attrs["honeyhive_error"] == "bad input"
    assert attrs["honeyhive_event_id"] == "evt-1"
    assert attrs["honeyhive_config.model"] == "gpt-4"
    assert attrs["inside"] is True


def test_enrich_span_event_id_updates_that_event(backend: Collector) -> None:
    # enrichment.py: event_id= sends PUT /events for that event, with inputs (which 1.7.0
    # drops, bug 30) folded into its metadata.
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    event_id = tracer.create_event("lookup", event_type="tool", inputs={"q": 1})
    assert enrich_span(event_id=event_id, metadata={"m": 1}, inputs={"i": 2}, metrics={"s": 0.5})
    assert tracer.flush()
    (update,) = _updates(backend, event_id)
    assert update["metadata"] == {"m": 1, "inputs": {"i": 2}}
    assert update["metrics"] == {"s": 0.5}


def test_enrich_session_docstring_examples(backend: Collector) -> None:
    # core/context.py enrich_session docstring; a positional dict is metadata.
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    tracer.enrich_session({"plan": "pro"})
    tracer.enrich_session(
        inputs={"query": "hi"},
        outputs={"answer": "hello"},
        feedback={"rating": 5},
        metrics={"latency": 1.5},
        customer="acme",
    )
    tracer.enrich_session(user_properties={"user_id": "u1"})
    assert tracer.flush()

    # One PUT /events each (sent concurrently: in any order).
    updates = _updates(backend, tracer.session_id)
    assert len(updates) == 3
    (first,) = [u for u in updates if u.get("metadata") == {"plan": "pro"}]
    (second,) = [u for u in updates if "outputs" in u]
    (third,) = [u for u in updates if "user_properties" in u]
    assert first == {"event_id": tracer.session_id, "metadata": {"plan": "pro"}}
    assert second["metadata"] == {"inputs": {"query": "hi"}, "customer": "acme"}
    assert second["outputs"] == {"answer": "hello"}
    assert second["feedback"] == {"rating": 5}
    assert second["metrics"] == {"latency": 1.5}
    assert third["user_properties"] == {"user_id": "u1"}


def test_free_enrich_session_published_signature(backend: Collector) -> None:
    # tracer/integration/compatibility.py: enrich_session(session_id, metadata)
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    other = str(uuid.uuid4())
    enrich_session(other, {"k": 1})
    enrich_session(session_id=other, metadata={"k": 2}, tracer=tracer)
    enrich_session({"plan": "pro"})  # sends nothing in 1.7.0 (bug 33): metadata here
    assert tracer.flush()
    assert sorted(u["metadata"]["k"] for u in _updates(backend, other)) == [1, 2]
    (own,) = _updates(backend, tracer.session_id)
    assert own["metadata"] == {"plan": "pro"}


# -- tracer.trace, create_event, the config object, the default tracer, trace_class -------------


def test_direct_span_docstring(backend: Collector) -> None:
    # core/operations.py trace() docstring
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    with tracer.trace("my_operation", event_type="tool") as span:
        span.set_attribute("custom_attr", "value")
        with tracer.trace("nested_operation") as child:
            child.set_attribute("level", 2)
    assert tracer.flush()
    (parent,) = backend.spans_named("my_operation")
    (child_span,) = backend.spans_named("nested_operation")
    assert child_span.parent_span_id == parent.span_id
    assert parent.attributes["honeyhive_event_type"] == "tool"
    assert parent.attributes["custom_attr"] == "value"
    assert "custom_attr_" not in str(parent.attributes)  # no `_`-normalised copies (bug 28)


def test_create_event_docstring(backend: Collector) -> None:
    # core/tracer.py class docstring: the keyword form raises TypeError in 1.7.0 (bug 35)
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    event_id = tracer.create_event(
        event_name="my_event",
        event_type="tool",
        inputs={"input": "data"},
        outputs={"output": "result"},
    )
    dict_id = tracer.create_event({"event_name": "from_dict", "event_type": "model", "inputs": {}})
    assert tracer.flush()
    by_id = {e["event_id"]: e for e in backend.events}
    event = by_id[event_id]
    assert event["event_name"] == "my_event"
    assert event["event_type"] == "tool"
    assert event["session_id"] == tracer.session_id
    assert event["inputs"] == {"input": "data"}
    assert event["outputs"] == {"output": "result"}
    assert by_id[dict_id]["event_name"] == "from_dict"
    assert by_id[dict_id]["event_type"] == "model"
    assert _session(backend, tracer.session_id)  # the session the events belong to started


def test_pydantic_config_docstring(backend: Collector) -> None:
    # core/tracer.py: HoneyHiveTracer(config=TracerConfig(...)), keywords override it
    config = TracerConfig(api_key="...", project="config-project", verbose=True)
    tracer = HoneyHiveTracer(config=config, source="staging")
    assert (tracer.project_name, tracer.source_environment) == ("config-project", "staging")
    assert tracer.is_initialized
    assert not tracer.is_test_mode
    assert isinstance(tracer.config, DotDict)
    assert tracer.config.project == "config-project"
    with tracer.trace("configured"):
        pass
    assert tracer.flush()
    (span,) = backend.spans_named("configured")
    assert span.attributes["honeyhive.project"] == "config-project"
    assert span.attributes["honeyhive.source"] == "staging"
    # The published init() takes the config object first, too.
    positional = HoneyHiveTracer.init(TracerConfig(api_key="...", project="positional"))
    assert positional.project == "positional"
    # ... and all three of them: init(config, session_config, evaluation_config)
    from honeyhive.config.models import EvaluationConfig, SessionConfig

    three = HoneyHiveTracer.init(
        TracerConfig(api_key="...", project="three"),
        SessionConfig(session_name="three-session"),
        EvaluationConfig(is_evaluation=True, run_id="run-3"),
    )
    assert (three.project, three.session_name) == ("three", "three-session")
    assert (three.is_evaluation, three.run_id) == (True, "run-3")


def test_default_tracer_for_bare_decorators(backend: Collector) -> None:
    # tracer/registry.py set_default_tracer docstring
    first = HoneyHiveTracer.init(api_key="k", project="first")
    second = HoneyHiveTracer.init(api_key="k", project="second")
    set_default_tracer(second)

    @trace
    def plain() -> int:
        return 1

    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(plain()))
    worker.start()
    worker.join()
    plain()
    assert first.flush()
    assert second.flush()
    spans = [s for s in backend.spans if s.name.endswith("plain")]
    assert len(spans) == 2
    # The same tracer in every thread (bug 14 is not copied).
    assert {s.attributes["honeyhive.session_id"] for s in spans} == {second.session_id}


def test_trace_class_docstring(backend: Collector) -> None:
    # instrumentation/decorators.py trace_class
    HoneyHiveTracer.init(api_key="k", project="p")

    class Base:
        def inherited(self) -> str:
            return "base"

    @trace_class
    class MyService(Base):
        def process(self, item: str) -> str:
            return item.upper()

        @staticmethod
        def helper(x: int) -> int:
            return x + 1

        @classmethod
        def build(cls) -> str:
            return cls.__name__

        def _private(self) -> None:
            return None

    service = MyService()
    assert service.process("a") == "A"
    assert service.helper(1) == 2
    assert MyService.helper(1) == 2
    assert service.build() == "MyService"
    service._private()
    assert service.inherited() == "base"
    assert honeyhive.flush()
    names = sorted(s.name for s in backend.spans)
    assert names == ["MyService.build", "MyService.helper", "MyService.helper", "MyService.process"]
    (process,) = backend.spans_named("MyService.process")
    assert process.attributes["honeyhive_event_type"] == "tool"
    assert process.attributes["honeyhive_inputs.item"] == "a"


# -- per-request sessions: core/context.py docstrings ------------------------------------------


def test_create_session_in_fastapi_middleware(backend: Collector) -> None:
    # core/context.py create_session docstring (FastAPI middleware)
    from fastapi import FastAPI, Request
    from fastapi.testclient import TestClient

    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    app = FastAPI()

    @app.middleware("http")
    async def session_middleware(request: Request, call_next: Any) -> Any:
        session_id = tracer.create_session(
            session_name=f"api-{request.url.path}",
            inputs={"method": request.method, "path": str(request.url.path)},
        )
        response = await call_next(request)
        tracer.enrich_session(outputs={"status_code": response.status_code})
        response.headers["x-session"] = session_id
        return response

    @app.get("/api/chat")
    @trace(tracer=tracer, event_type="chain")
    async def chat(q: str) -> dict[str, str]:
        return {"answer": q.upper()}

    with TestClient(app) as client:
        answers = [client.get("/api/chat", params={"q": f"q{i}"}) for i in range(3)]
    assert tracer.flush()

    ids = [a.headers["x-session"] for a in answers]
    assert len(set(ids)) == 3
    assert tracer.session_id not in ids
    for i, sid in enumerate(ids):
        session = _session(backend, sid)
        assert session["session_name"] == "api-/api/chat"
        assert session["inputs"] == {"method": "GET", "path": "/api/chat"}
        spans = [s for s in backend.spans if s.attributes["honeyhive.session_id"] == sid]
        (span,) = spans
        assert span.attributes["honeyhive_inputs.q"] == f"q{i}"
        assert span.attributes["honeyhive_event_type"] == "chain"
        (update,) = _updates(backend, sid)
        assert update["outputs"] == {"status_code": 200}
    assert not [s for s in backend.sessions if s["session_id"] == tracer.session_id]


def test_acreate_session_concurrent_tasks_never_share(backend: Collector) -> None:
    # core/context.py acreate_session docstring, many requests at once
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")

    @trace(event_type="tool")
    async def step(n: int) -> int:
        await asyncio.sleep(0.001)
        return n

    async def handle(n: int) -> str:
        session_id = await tracer.acreate_session(session_name=f"req-{n}", inputs={"n": n})
        for _ in range(3):
            await step(n)
        tracer.enrich_session(metadata={"n": n})
        return session_id

    async def main() -> list[str]:
        return await asyncio.gather(*(handle(n) for n in range(20)))

    ids = asyncio.run(main())
    assert tracer.flush()
    assert len(set(ids)) == 20
    for n, sid in enumerate(ids):
        assert _session(backend, sid)["session_name"] == f"req-{n}"
        spans = [s for s in backend.spans if s.attributes["honeyhive.session_id"] == sid]
        assert [s.attributes["honeyhive_inputs.n"] for s in spans] == [n, n, n]
        (update,) = _updates(backend, sid)
        assert update["metadata"] == {"n": n}


def test_create_session_in_thread_pool_workers_never_bleeds(backend: Collector) -> None:
    # The same pattern in a thread pool: a reused worker thread never carries one task's
    # session into the next (bug 15 is not copied).
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    seen: dict[int, str] = {}

    def handle(n: int) -> str:
        if n % 2 == 0:
            session_id = tracer.create_session(session_name=f"job-{n}")
        else:
            session_id = tracer.session_id  # no session of its own: the tracer's
        with tracer.trace(f"work-{n}"):
            pass
        seen[n] = session_id
        return session_id

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(handle, range(12)))
    assert tracer.flush()
    for n in range(12):
        (span,) = backend.spans_named(f"work-{n}")
        assert span.attributes["honeyhive.session_id"] == seen[n], n
    assert len({seen[n] for n in range(0, 12, 2)}) == 6


def test_with_session_docstring(backend: Collector) -> None:
    # core/context.py with_session docstring
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    query = "what is a refund?"
    with tracer.with_session("user-request", inputs={"query": query}) as session_id:
        with tracer.trace("answer"):
            pass
        tracer.enrich_session(outputs={"response": "5 days"})
    with tracer.trace("after"):
        pass
    assert tracer.flush()
    session = _session(backend, session_id)
    assert (session["session_name"], session["inputs"]) == ("user-request", {"query": query})
    (inside,) = backend.spans_named("answer")
    assert inside.attributes["honeyhive.session_id"] == session_id
    (update,) = _updates(backend, session_id)
    assert update["outputs"] == {"response": "5 days"}
    (after,) = backend.spans_named("after")  # restored on exit (bug 15 is not copied)
    assert after.attributes["honeyhive.session_id"] == tracer.session_id


def test_create_session_with_id_and_skip_api_call(backend: Collector) -> None:
    # core/context.py: joining an existing session without starting it
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    existing = str(uuid.uuid4())

    def request() -> None:
        assert tracer.create_session(session_id=existing, skip_api_call=True) == existing
        with tracer.trace("joined"):
            pass

    worker = threading.Thread(target=request)
    worker.start()
    worker.join()
    assert tracer.flush()
    (span,) = backend.spans_named("joined")
    assert span.attributes["honeyhive.session_id"] == existing
    assert not [s for s in backend.sessions if s["session_id"] == existing]


def test_session_start_returns_the_session_it_started(backend: Collector) -> None:
    # core/context.py session_start docstring: session_id = tracer.session_start()
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    session_id = tracer.session_start()
    assert session_id == tracer.session_id
    assert tracer.flush()
    assert _session(backend, session_id)["session_id"] == session_id


# -- settings: instrumentors=, flush(timeout_millis=), settings with no effect here ------------


def test_init_instrumentors_are_instrumented(backend: Collector) -> None:
    # README "Auto-integration": init(..., instrumentors=[OpenAIInstrumentor()]); ignored by
    # 1.7.0, instrumented with the tracer's provider here.
    openai = pytest.importorskip("openai")
    instrumentation = pytest.importorskip("openinference.instrumentation.openai")
    with serve_fake_openai() as openai_url:
        tracer = HoneyHiveTracer.init(
            api_key="your-api-key",
            project="your-project",
            instrumentors=[instrumentation.OpenAIInstrumentor()],
        )
        client = openai.OpenAI(base_url=openai_url, api_key="sk-test-not-real", max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "refund?"}]
        )
        assert reply.choices[0].message.content == REPLY
        assert tracer.flush()
        tracer.close()  # uninstruments: a later call is not traced
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    (llm,) = backend.spans
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert llm.attributes["honeyhive.session_id"] == tracer.session_id


def test_init_instrumentors_that_are_not_instrumentors_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="instrumentors must hold instrumentors"):
        HoneyHiveTracer.init(api_key="k", project="p", instrumentors=["openai"])


def test_all_features_init_in_test_mode_sends_nothing(backend: Collector) -> None:
    # README "All features": test_mode=True with instrumentors and disable_http_tracing
    class Instrumentor:
        provider: Any = None

        def instrument(self, tracer_provider: Any = None) -> None:
            Instrumentor.provider = tracer_provider

        def uninstrument(self) -> None:
            Instrumentor.provider = None

    tracer = HoneyHiveTracer.init(
        api_key="your-api-key",
        project="your-project",
        test_mode=True,
        instrumentors=[Instrumentor()],
        disable_http_tracing=True,
    )
    assert Instrumentor.provider is tracer.provider
    with tracer.trace("local-only"):
        enrich_span(metadata={"k": 1})
    tracer.enrich_session(metadata={"k": 1})
    assert tracer.flush()
    assert backend.requests == []


def test_flush_spellings(backend: Collector) -> None:
    # core/tracer.py: flush(timeout_millis), force_flush(timeout_millis), flush_all(); the
    # free flush(tracer_instance) (and, unlike 1.7.0 (bug 2), flush() with no tracer).
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    for name in ("a", "b", "c", "d", "e"):
        with tracer.trace(name):
            pass
        if name == "a":
            assert tracer.flush(timeout_millis=5000)
        elif name == "b":
            assert tracer.force_flush(5000)
        elif name == "c":
            assert HoneyHiveTracer.flush_all(timeout_millis=5000)
        elif name == "d":
            assert honeyhive.flush(tracer, timeout_millis=5000)
        else:
            assert honeyhive.flush()
        assert backend.spans_named(name), name  # delivered when flush returned


def test_flush_with_a_timeout_that_is_not_milliseconds_says_so_and_delivers(
    backend: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    # The published default (30 s) stands in, never in silence.
    HoneyHiveTracer.reset()
    caplog.set_level(logging.WARNING, logger="honeyhive")
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    with tracer.trace("odd-timeout"):
        pass
    assert honeyhive.flush(tracer, timeout_millis="soon")  # type: ignore[arg-type]
    assert honeyhive.flush(tracer, timeout_millis=float("nan"))
    assert backend.spans_named("odd-timeout")
    said = [r.getMessage() for r in caplog.records if "timeout_millis" in r.getMessage()]
    assert said == [
        "honeyhive: flush(timeout_millis=...) takes a finite number of milliseconds; "
        "waiting the default 30000 instead"
    ]


def test_flush_is_false_within_its_timeout_when_the_backend_fails(backend: Collector) -> None:
    # Bug 1 is not copied: a flush that could not deliver says so, within its timeout.
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    backend.set_fault("hang")
    with tracer.trace("stuck"):
        pass
    assert tracer.flush(timeout_millis=300) is False
    backend.clear_fault()


def test_published_only_settings_warn_once_and_run(
    backend: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    # Settings 1.7.0 accepts and we cannot honour: a WARNING, once; never a TypeError.
    import requests

    HoneyHiveTracer.reset()  # whatever an earlier test said, say it again
    caplog.set_level(logging.WARNING, logger="honeyhive")
    for _ in range(2):
        tracer = HoneyHiveTracer.init(
            api_key="k", project="p", requests_session=requests.Session(), cache_enabled=True
        )
        with tracer.trace("ok"):
            pass
        assert tracer.flush()
    said = [r.getMessage() for r in caplog.records if "published honeyhive SDK" in r.message]
    assert len([m for m in said if "requests_session=" in m]) == 1
    assert len([m for m in said if "cache_enabled=" in m]) == 1
    assert len(backend.spans_named("ok")) == 2


def test_a_typo_in_a_setting_is_still_an_error() -> None:
    with pytest.raises(ValueError, match="did you mean session_name"):
        HoneyHiveTracer.init(api_key="k", project="p", sesion_name="x")


def test_skip_backend_session_creation(backend: Collector) -> None:
    # SessionConfig.skip_backend_session_creation: the session exists already
    existing = str(uuid.uuid4())
    tracer = HoneyHiveTracer.init(
        api_key="k", project="p", session_id=existing, skip_backend_session_creation=True
    )
    with tracer.trace("joined"):
        pass
    assert tracer.flush()
    assert backend.sessions == []
    (span,) = backend.spans_named("joined")
    assert span.attributes["honeyhive.session_id"] == existing


# -- propagation: baggage and carriers ----------------------------------------------------------


def test_baggage_and_carrier_methods(backend: Collector) -> None:
    # core/context.py: set_baggage/get_baggage, inject_context/extract_context
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    seen: dict[str, Any] = {}

    def request() -> None:
        tracer.set_baggage("my-key", "v1")
        seen["value"] = tracer.get_baggage("my_key")
        with tracer.trace("outgoing"):
            headers: dict[str, str] = {}
            tracer.inject_context(headers)
            seen["headers"] = headers

    worker = threading.Thread(target=request)
    worker.start()
    worker.join()
    assert seen["value"] == "v1"
    headers = seen["headers"]
    assert "my_key=v1" in headers["baggage"]
    assert f"session_id={tracer.session_id}" in headers["baggage"]
    assert tracer.get_baggage("my_key") is None  # set in that thread's context only

    extracted = tracer.extract_context(headers)
    assert extracted is not None
    from opentelemetry import baggage as otel_baggage
    from opentelemetry import trace as otel_trace

    assert otel_baggage.get_baggage("my_key", extracted) == "v1"
    parent = otel_trace.get_current_span(extracted).get_span_context()
    with tracer.start_span("downstream", context=extracted):
        pass
    assert tracer.flush()
    (down,) = backend.spans_named("downstream")
    assert down.parent_span_id == format(parent.span_id, "016x")


# -- the module-level helpers -------------------------------------------------------------------


def test_dotdict_get_logger_and_missing_api_key_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    d = DotDict({"a": {"b": 1}})
    d["c.d"] = 2
    assert (d.a.b, d["a.b"], d.get("c.d"), d.c.d) == (1, 1, 2, 2)
    assert d.to_dict() == {"a": {"b": 1}, "c": {"d": 2}}

    log = get_logger("my_app.module")
    caplog.set_level(logging.DEBUG)
    log.warning("from the app", honeyhive_data={"k": 1})
    assert any(r.getMessage().startswith("from the app") for r in caplog.records)

    monkeypatch.delenv("HH_API_KEY")
    monkeypatch.delenv("HH_API_URL")
    with pytest.raises(MissingApiKeyError) as raised:
        HoneyHiveTracer.init(project="p")
    assert isinstance(raised.value, ValueError)
    assert raised.value.key_kind == "project"


def test_shutdown_and_context_manager(backend: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    with tracer.trace("last"):
        pass
    tracer.shutdown()
    assert not tracer.is_initialized
    assert backend.spans_named("last")
    with HoneyHiveTracer.init(api_key="k", project="p") as scoped, scoped.trace("scoped"):
        pass
    assert backend.spans_named("scoped")


def test_http_tracing_enabled_as_published(backend: Collector) -> None:
    # README: init(..., disable_http_tracing=False) traces outgoing HTTP calls
    tracer = HoneyHiveTracer.init(
        api_key="your-api-key", project="your-project", disable_http_tracing=False
    )
    with tracer.trace("calls-out"):
        httpx.get(backend.url + "/no-such-route")
    assert tracer.flush()
    (parent,) = backend.spans_named("calls-out")
    client = [s for s in backend.spans if s.kind == "CLIENT"]
    assert client
    assert client[0].parent_span_id == parent.span_id


def test_the_ingestion_key_is_what_is_sent(backend: Collector) -> None:
    # The published SDK sends sessions, events and spans with ingestion_api_key when given.
    tracer = HoneyHiveTracer.init(
        api_key="hh_project_key", ingestion_api_key="hh_ingestion_key", project="p"
    )
    with tracer.trace("keyed"):
        pass
    assert tracer.flush()
    sent = {
        r.headers.get("authorization") or r.headers.get("Authorization") for r in backend.requests
    }
    assert sent == {"Bearer hh_ingestion_key"}


def test_the_published_tracer_module(backend: Collector) -> None:
    # core docstrings: from honeyhive.tracer import HoneyHiveTracer, trace, enrich_span
    import honeyhive.tracer as module

    ModuleTracer, module_trace, module_enrich_span = (
        module.HoneyHiveTracer,
        module.trace,
        module.enrich_span,
    )
    shutdown_tracer, graceful_shutdown_all = module.shutdown_tracer, module.graceful_shutdown_all

    first = ModuleTracer.init(api_key="k", project="p")
    second = ModuleTracer.init(api_key="k", project="p", session_name="second")

    @module_trace(tracer=first, event_type="tool")
    def step() -> None:
        module_enrich_span(metadata={"via": "honeyhive.tracer"})

    step()
    shutdown_tracer(first)  # delivers, then closes
    assert not first.is_initialized
    (span,) = [s for s in backend.spans if s.name.endswith("step")]
    assert span.attributes["honeyhive_metadata.via"] == "honeyhive.tracer"
    with second.trace("last"):
        pass
    graceful_shutdown_all()
    assert not second.is_initialized
    assert backend.spans_named("last")


def test_set_global_provider_in_a_process_of_its_own(backend: Collector) -> None:
    # tracer/integration/detection.py: set_global_provider(provider), get_global_provider()
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from opentelemetry import trace as otel\n"
        "from honeyhive import HoneyHiveTracer\n"
        "from honeyhive.tracer import get_global_provider, set_global_provider\n"
        "tracer = HoneyHiveTracer.init(api_key='k', project='p')\n"
        "set_global_provider(tracer.provider)\n"
        "assert get_global_provider() is tracer.provider\n"
        "with otel.get_tracer('some.library').start_as_current_span('from-the-global'):\n"
        "    pass\n"
        "other = HoneyHiveTracer.init(api_key='k', project='p')\n"
        "set_global_provider(other, force_override=True)  # kept, said\n"
        "assert get_global_provider() is tracer.provider\n"
        "assert tracer.flush()\n"
        "print(tracer.session_id)\n"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "already set and is kept (force_override is not honoured" in done.stderr
    (span,) = backend.spans_named("from-the-global")
    assert span.attributes["honeyhive.session_id"] == done.stdout.strip()


def test_free_enrichment_without_a_tracer_says_so(caplog: pytest.LogCaptureFixture) -> None:
    HoneyHiveTracer.reset()
    caplog.set_level(logging.WARNING, logger="honeyhive")
    enrich_session(user_properties={"user_id": "u1"})
    assert not enrich_span(metadata={"k": 1})  # false: it landed nowhere
    assert any("enrich_session() found no open tracer" in r.getMessage() for r in caplog.records)


# -- evaluation ids: core/base.py "Auto-infer is_evaluation when all evaluation identifiers are
# present" ------------------------------------------------------------------------------------


def test_the_three_evaluation_ids_make_an_evaluation_run(backend: Collector) -> None:
    tracer = HoneyHiveTracer.init(
        api_key="your-api-key",
        project="your-project",
        run_id="run-1",
        dataset_id="ds-1",
        datapoint_id="dp-1",
    )
    assert tracer.is_evaluation
    with tracer.trace("datapoint"):
        pass
    carrier: dict[str, str] = {}
    tracer.inject_context(carrier)
    assert tracer.flush()
    ids = {"run_id": "run-1", "dataset_id": "ds-1", "datapoint_id": "dp-1"}
    assert _session(backend, tracer.session_id)["metadata"] == ids
    (span,) = backend.spans_named("datapoint")
    assert {k: span.attributes[f"honeyhive_metadata.{k}"] for k in ids} == ids
    assert "run_id=run-1" in carrier["baggage"]


def test_evaluation_ids_without_an_evaluation_run_say_so(
    backend: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="honeyhive")
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project", run_id="run-2")
    assert not tracer.is_evaluation
    (said,) = [r.getMessage() for r in caplog.records if "run_id" in r.getMessage()]
    assert "is_evaluation=True" in said


# -- secrets: tracer.config and get_logger records ---------------------------------------------


def test_tracer_config_shows_no_credentials(backend: Collector) -> None:
    url = backend.url.replace("http://", "http://user:hunter2@") + "/?api_key=hh_in_the_query"
    tracer = HoneyHiveTracer.init(api_key="hh_topsecret", project="your-project", server_url=url)
    shown = f"{tracer.config} {tracer.config!r} {tracer.config.to_dict()}"
    for secret in ("hh_topsecret", "hunter2", "hh_in_the_query"):
        assert secret not in shown
    assert tracer.config.server_url.startswith(backend.url)
    assert tracer.config.project == "your-project"


def test_get_logger_records_carry_no_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(honeyhive_data)s %(api_key)s"))
    log = get_logger("my_app.secrets", handler=handler, level="INFO")
    log.info(
        "calling %s",
        "the model",
        api_key="sk-live-123",
        honeyhive_data={"model": "gpt-4o", "headers": {"Authorization": "Bearer sk-live-456"}},
    )
    written = stream.getvalue()
    assert "calling the model" in written
    assert "gpt-4o" in written  # what is not a secret is kept
    assert "sk-live-123" not in written
    assert "sk-live-456" not in written


# -- the published config objects: every field of 1.7.0's TracerConfig and SessionConfig ------


def test_published_fields_of_the_config_objects_are_honoured_or_said(
    backend: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    from honeyhive.config.models import EvaluationConfig, SessionConfig

    caplog.set_level(logging.WARNING, logger="honeyhive")
    existing = str(uuid.uuid4())
    config = TracerConfig(
        api_key="hh_project_key",
        ingestion_api_key="hh_ingestion_key",  # 1.7.0 TracerConfig fields from here on
        project="config-project",
        inputs={"q": "hello"},
        is_evaluation=True,
        run_id="run-7",
        dataset_id="ds-7",
        datapoint_id="dp-7",
        cache_enabled=True,
        max_attributes=512,
    )
    tracer = HoneyHiveTracer(
        config=config,
        session_config=SessionConfig(session_id=existing, skip_backend_session_creation=True),
        evaluation_config=EvaluationConfig(verbose=False),
    )
    assert tracer.is_evaluation
    with tracer.trace("configured"):
        pass
    assert tracer.flush()
    assert backend.sessions == []  # skip_backend_session_creation: the session exists
    (span,) = backend.spans_named("configured")
    assert span.attributes["honeyhive.session_id"] == existing
    assert span.attributes["honeyhive_metadata.run_id"] == "run-7"
    sent = {r.headers.get("authorization") for r in backend.requests}
    assert sent == {"Bearer hh_ingestion_key"}
    (update,) = _updates(backend, existing)  # joined: its inputs update the session
    assert update["metadata"]["inputs"] == {"q": "hello"}
    said = [r.getMessage() for r in caplog.records if "published honeyhive SDK" in r.message]
    assert [m for m in said if "cache_enabled=" in m]
    assert [m for m in said if "max_attributes=" in m]

    with pytest.raises(ValueError, match="cache_enabeld"):  # a typo is still an error
        TracerConfig(cache_enabeld=True)

    # The same fields in a config given as a dict.
    as_dict = HoneyHiveTracer(config={"project": "p", "is_evaluation": True, "run_id": "run-8"})
    assert (as_dict.is_evaluation, as_dict.run_id) == (True, "run-8")


def test_disable_tracing_in_the_config_object_sends_nothing(backend: Collector) -> None:
    tracer = HoneyHiveTracer(config=TracerConfig(api_key="k", project="p", disable_tracing=True))
    with tracer.trace("not-sent"):
        tracer.create_event("nor-this")
    assert tracer.flush()
    assert backend.requests == []


# -- README "Environment Variables": init() with nothing but the environment --------------------


def test_init_from_the_environment_alone(
    backend: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_PROJECT", "env-project")
    monkeypatch.setenv("HH_SOURCE", "env-source")
    monkeypatch.setenv("HH_SESSION_NAME", "env-session")
    tracer = HoneyHiveTracer.init()
    assert (tracer.project_name, tracer.source_environment) == ("env-project", "env-source")
    with tracer.trace("from-env"):
        pass
    assert tracer.flush()
    session = _session(backend, tracer.session_id)
    assert (session["project"], session["source"]) == ("env-project", "env-source")
    assert session["session_name"] == "env-session"
    (span,) = backend.spans_named("from-env")
    assert span.attributes["honeyhive.project"] == "env-project"
    assert {r.headers.get("authorization") for r in backend.requests} == {f"Bearer {API_KEY}"}


def test_hh_disable_tracing_sends_nothing(
    backend: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_DISABLE_TRACING", "true")
    tracer = HoneyHiveTracer.init(project="p")
    with tracer.trace("off"):
        tracer.enrich_session(metadata={"k": 1})
    assert tracer.flush()
    assert backend.requests == []


def test_an_enrichment_with_nothing_in_it_sends_nothing(backend: Collector) -> None:
    # core/context.py: the published enrich_session sends no update when every field is empty
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    tracer.enrich_session()
    tracer.enrich_session(metadata={}, session_id=tracer.session_id)
    enrich_session(tracer.session_id)
    assert tracer.flush()
    assert backend.requests == []  # no empty update, and no session started for one
    tracer.enrich_session(metadata={"k": 1})
    assert tracer.flush()
    assert [u["metadata"] for u in _updates(backend, tracer.session_id)] == [{"k": 1}]
    assert _session(backend, tracer.session_id)


def test_secret_named_keywords_are_redacted_in_api_calls(backend: Collector) -> None:
    # Extra keywords land in the update's metadata (and the event's fields): a secret-looking
    # name is redacted there as it is everywhere else.
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    enrich_session(metadata={"plan": "pro"}, api_key="sk-live-1")
    tracer.enrich_span(event_id=tracer.session_id, password="pw-2", note="kept")
    event_id = tracer.create_event("call", authorization="Bearer sk-live-3")
    assert tracer.flush()
    sent = repr(backend.event_updates) + repr(backend.events)
    for secret in ("sk-live-1", "pw-2", "sk-live-3"):
        assert secret not in sent
    updates = _updates(backend, tracer.session_id)
    assert {"plan": "pro", "api_key": "[REDACTED]"} in [u["metadata"] for u in updates]
    assert any(u["metadata"].get("note") == "kept" for u in updates)
    (event,) = [e for e in backend.events if e["event_id"] == event_id]
    assert event["authorization"] == "[REDACTED]"


def test_inject_and_extract_context_across_a_real_http_hop(backend: Collector) -> None:
    # core/context.py inject_context/extract_context, between two services over HTTP: the
    # downstream service's span is a child of the caller's, in the caller's request session,
    # and the caller's baggage arrives.
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry import context as otel_context

    upstream = HoneyHiveTracer.init(api_key="your-api-key", project="service-a")
    downstream = HoneyHiveTracer.init(api_key="your-api-key", project="service-b")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            token = otel_context.attach(downstream.extract_context(dict(self.headers)))
            try:
                with downstream.start_span("downstream"):
                    user = downstream.get_baggage("user_id")
            finally:
                otel_context.detach(token)
            body = json.dumps({"user": user}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:

        @trace(tracer=upstream, event_type="chain", event_name="call")
        def call() -> Any:
            upstream.set_baggage("user_id", "u-42")
            headers: dict[str, str] = {}
            upstream.inject_context(headers)
            url = f"http://127.0.0.1:{server.server_port}/"
            return httpx.get(url, headers=headers, timeout=10).json()

        with upstream.with_session("request") as session_id:
            assert call() == {"user": "u-42"}
    finally:
        server.shutdown()
        server.server_close()
    assert upstream.flush()
    assert downstream.flush()
    (up,) = backend.spans_named("call")
    (down,) = backend.spans_named("downstream")
    assert (down.trace_id, down.parent_span_id) == (up.trace_id, up.span_id)
    assert up.attributes["honeyhive.session_id"] == session_id
    assert down.attributes["honeyhive.session_id"] == session_id
    assert down.attributes["honeyhive.project"] == "service-b"
    assert [s["session_name"] for s in backend.sessions] == ["request"]


def test_a_tracer_passed_to_a_traced_function_is_not_an_input(backend: Collector) -> None:
    # tracer/instrumentation/decorators.py: self, cls and tracer are not captured as inputs
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")

    class Agent:
        @trace(event_type="chain", event_name="agent-run")
        def run(self, query: str, tracer: HoneyHiveTracer) -> str:
            with tracer.trace("inner"):
                return query.upper()

    assert Agent().run("hi", tracer=tracer) == "HI"
    assert tracer.flush()
    (span,) = backend.spans_named("agent-run")
    inputs = {k: v for k, v in span.attributes.items() if k.startswith("honeyhive_inputs.")}
    assert inputs == {"honeyhive_inputs.query": "hi"}

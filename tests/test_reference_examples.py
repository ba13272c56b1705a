"""Every code example of the HoneyHiveTracer API reference, run as written against a real collector.

Source: ``shared/reference/honeyhive-tracer-api.txt``, top to bottom. Each test runs one example
with the smallest adaptation that lets it run here:

* the API host is the loopback collector (``HH_API_URL`` is set for every test; examples that
  pass ``server_url=`` get ``collector.url`` instead of the real host);
* undefined helpers (``get_user_by_id``, ``risky_function``, ``fetch_user_from_db`` ...) are tiny
  local stand-ins, ``requests`` calls go to a loopback HTTP server, and instrumentors that are
  not installed (OpenAI, Anthropic) are a minimal stand-in that calls
  ``tracer_provider.get_tracer(...)`` the way OpenTelemetry instrumentors do;
* sleeps are shortened, infinite loops get a stop flag.

Each test then asserts what a user would see at the collector.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import json
import logging
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Optional

import pytest
import requests
from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

import honeyhive
from honeyhive import HoneyHiveTracer, _context, set_default_tracer, trace
from honeyhive.config.models import TracerConfig

from support.collector import Collector, ReceivedSpan

TRACE_PATH = "/opentelemetry/v1/traces"


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _api_url(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' "real API host" is the loopback collector."""
    monkeypatch.setenv("HH_API_URL", collector.url)


@pytest.fixture(autouse=True)
def _close_example_tracers(collector: Collector) -> Iterator[None]:
    """Close every tracer an example left open (before the collector stops)."""
    before = set(map(id, _context._tracers))
    logger = logging.getLogger("honeyhive")
    level = logger.level
    yield
    for tracer in list(_context._tracers):
        if id(tracer) not in before:
            tracer.close()
    set_default_tracer(None)
    logger.setLevel(level)  # verbose=True examples turn on DEBUG process-wide


@pytest.fixture(autouse=True)
def _restore_context() -> Iterator[None]:
    """An example that fails half-way (the Flask/Django ones, if ``trace()`` regresses) may
    leave a span attached: put the context back so that the next test starts clean."""
    before = otel_context.get_current()
    yield
    if otel_context.get_current() is not before:
        otel_context.attach(before)


def only(collector: Collector, name: str) -> ReceivedSpan:
    spans = collector.spans_named(name)
    assert len(spans) == 1, f"expected one span {name!r}\n{collector.describe()}"
    return spans[0]


def flushed(*tracers: HoneyHiveTracer) -> None:
    for tracer in tracers:
        assert tracer.flush(timeout=5.0) is True


def exceptions(span: ReceivedSpan) -> list[Any]:
    return [e for e in span.events if e.name == "exception"]


def assert_session_attributes(span: ReceivedSpan, tracer: HoneyHiveTracer) -> None:
    attrs = span.attributes
    assert attrs["honeyhive.session_id"] == tracer.session_id
    assert attrs["traceloop.association.properties.session_id"] == tracer.session_id
    assert attrs["honeyhive.source"] == tracer.source
    assert attrs["honeyhive.session_name"] == tracer.session_name
    assert attrs["honeyhive.tracer_version"] == honeyhive.__version__
    if tracer.project is not None:
        assert attrs["honeyhive.project"] == tracer.project
        assert attrs["traceloop.association.properties.project"] == tracer.project


def request_bodies(collector: Collector) -> bytes:
    out = []
    for r in collector.requests:
        body = r.body
        if r.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        out.append(body)
    return b"\n".join(out)


class WebServer:
    """A loopback HTTP server standing in for ``https://api.example.com``.

    Answers each request with the next status of ``statuses`` (200 when exhausted) and a JSON
    body; records method, path, headers and body of everything it receives.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.received.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status = owner.statuses.pop(0) if owner.statuses else 200
                payload = json.dumps({"status": status, "items": [1, 2]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


class StandInInstrumentor:
    """What ``OpenAIInstrumentor`` / ``AnthropicInstrumentor`` do with ``tracer_provider``:
    ask it for a tracer under their own scope name and start their spans from it."""

    def __init__(self, library: str, span_name: str) -> None:
        self.library = library
        self.span_name = span_name
        self._tracer: Optional[otel_trace.Tracer] = None

    def instrument(self, tracer_provider: Any = None) -> None:
        self._tracer = tracer_provider.get_tracer(
            f"openinference.instrumentation.{self.library}", "0.1.0"
        )

    def call_llm(self, prompt: str) -> str:
        """A stand-in for the instrumented client call (no network)."""
        assert self._tracer is not None, "instrument() was not called"
        with self._tracer.start_as_current_span(
            self.span_name,
            kind=otel_trace.SpanKind.CLIENT,
            attributes={"openinference.span.kind": "LLM", "llm.model_name": "gpt-4"},
        ) as span:
            span.set_attribute("llm.input_messages.0.message.content", prompt)
            return f"echo: {prompt}"


def OpenAIInstrumentor() -> StandInInstrumentor:
    return StandInInstrumentor("openai", "ChatCompletion")


def AnthropicInstrumentor() -> StandInInstrumentor:
    return StandInInstrumentor("anthropic", "Messages")


def _child_env(collector: Collector) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "HONEYHIVE_", "OTEL_"))}
    env["HH_API_URL"] = collector.url
    env["HH_API_KEY"] = "hh_subprocess_key"
    return env


# -- the class docstring and the three configuration patterns -----------------------------------


def test_class_docstring_example(collector: Collector) -> None:
    # >>> config = TracerConfig(api_key="...", project="...", verbose=True)
    config = TracerConfig(api_key="hh_docstring_key", project="docstring-project", verbose=True)
    tracer = HoneyHiveTracer(config=config)
    # >>> tracer = HoneyHiveTracer(api_key="...", project="...", verbose=True)
    tracer2 = HoneyHiveTracer(api_key="hh_docstring_key", project="docstring-project", verbose=True)
    assert tracer.project == tracer2.project == "docstring-project"

    # >>> with tracer.start_span("operation") as span: span.set_attribute("key", "value")
    with tracer.start_span("operation") as span:
        span.set_attribute("key", "value")

    # >>> event_id = tracer.create_event(event_name="my_event", event_type="tool", ...)
    event_id = tracer.create_event(
        event_name="my_event",
        event_type="tool",
        inputs={"input": "data"},
        outputs={"output": "result"},
    )
    flushed(tracer, tracer2)

    operation = only(collector, "operation")
    assert operation.attributes["key"] == "value"
    assert_session_attributes(operation, tracer)
    assert operation.headers["authorization"] == "Bearer hh_docstring_key"

    uuid.UUID(event_id)
    (event,) = collector.events
    assert event["event_id"] == event_id
    assert event["event_name"] == "my_event"
    assert event["event_type"] == "tool"
    assert event["inputs"] == {"input": "data"}
    assert event["outputs"] == {"output": "result"}
    assert event["session_id"] == tracer.session_id
    assert event["project"] == "docstring-project"


def test_three_configuration_patterns(
    collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("honeyhive")

    # Pattern 1: a TracerConfig
    config = TracerConfig(api_key="hh_1234567890abcdef", project="my-llm-project", verbose=True)
    tracer = HoneyHiveTracer(config=config)
    # Pattern 2: keyword arguments
    tracer = HoneyHiveTracer(api_key="hh_1234567890abcdef", project="my-llm-project", verbose=True)
    assert tracer.project == "my-llm-project"

    # Pattern 3: "verbose overrides config" (and the other way round)
    logger.setLevel(logging.WARNING)
    caplog.clear()
    quiet = TracerConfig(api_key="hh_1234567890abcdef", project="my-llm-project", verbose=True)
    HoneyHiveTracer(config=quiet, verbose=False)
    assert not logger.isEnabledFor(logging.DEBUG), "explicit verbose=False must beat the config"
    assert not any("tracer ready" in r.getMessage() for r in caplog.records)
    config = TracerConfig(api_key="hh_1234567890abcdef", project="my-llm-project")
    tracer = HoneyHiveTracer(config=config, verbose=True)  # verbose overrides config
    assert logger.level == logging.DEBUG
    assert any("tracer ready" in r.getMessage() for r in caplog.records)

    with tracer.trace("configured"):
        pass
    flushed(tracer)
    span = only(collector, "configured")
    assert span.attributes["honeyhive.project"] == "my-llm-project"
    assert span.headers["authorization"] == "Bearer hh_1234567890abcdef"
    # verbose logging never shows the API key
    assert "hh_1234567890abcdef" not in caplog.text


# -- init(): basic usage ------------------------------------------------------------------------


def test_init_minimal_setup_from_environment(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_API_KEY", "hh_from_env")
    monkeypatch.setenv("HH_PROJECT", "env-project")
    # Minimal setup (uses environment variables)
    tracer = HoneyHiveTracer.init()
    assert tracer.project == "env-project"
    assert tracer.server_url == collector.url
    with tracer.trace("minimal"):
        pass
    flushed(tracer)
    span = only(collector, "minimal")
    assert span.attributes["honeyhive.project"] == "env-project"
    assert span.headers["authorization"] == "Bearer hh_from_env"
    assert collector.sessions[0]["project"] == "env-project"


def test_init_explicit_project_and_explicit_configuration(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_PROJECT", "env-project")
    # Or specify project explicitly (beats HH_PROJECT)
    tracer = HoneyHiveTracer.init(project="your-project")
    assert tracer.project == "your-project"
    assert tracer.source == "dev"  # the documented default of init(source=...)
    # Explicit configuration
    tracer = HoneyHiveTracer.init(
        api_key="hh_your_api_key_here", project="your-project", source="production"
    )
    with tracer.trace("explicit"):
        pass
    flushed(tracer)
    span = only(collector, "explicit")
    assert_session_attributes(span, tracer)
    assert span.attributes["honeyhive.source"] == "production"
    assert span.headers["x-source"] == "production"
    assert span.headers["authorization"] == "Bearer hh_your_api_key_here"
    starts = [s for s in collector.sessions if s["session_id"] == tracer.session_id]
    assert [{k: v for k, v in s.items() if k != "start_time"} for s in starts] == [
        {
            "session_name": tracer.session_name,
            "source": "production",
            "session_id": tracer.session_id,
            "project": "your-project",
        }
    ]


def test_init_development_test_mode_sends_nothing(collector: Collector) -> None:
    # Development mode
    tracer = HoneyHiveTracer.init(
        api_key="hh_dev_key", project="your-project", source="development", test_mode=True
    )
    assert tracer.test_mode is True
    with tracer.trace("dev-work") as span:
        assert span.is_recording()
    assert tracer.flush(timeout=2.0) is True
    tracer.close()
    assert collector.requests == []


def test_environment_variable_table(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HH_API_URL")
    monkeypatch.setenv("HH_SERVER_URL", collector.url)  # the table's name for the server URL
    monkeypatch.setenv("HH_API_KEY", "hh_table_key")
    monkeypatch.setenv("HH_PROJECT", "table-project")
    monkeypatch.setenv("HH_SOURCE", "staging")
    monkeypatch.setenv("HH_SESSION_NAME", "table-session")
    monkeypatch.setenv("HH_TEST_MODE", "false")
    monkeypatch.setenv("HH_DISABLE_HTTP_TRACING", "true")
    tracer = HoneyHiveTracer.init()
    assert (tracer.project, tracer.source, tracer.session_name) == (
        "table-project",
        "staging",
        "table-session",
    )
    assert tracer.server_url == collector.url
    assert tracer.test_mode is False
    with tracer.trace("from-env"):
        pass
    flushed(tracer)
    span = only(collector, "from-env")
    assert span.attributes["honeyhive.session_name"] == "table-session"
    assert span.attributes["honeyhive.source"] == "staging"
    assert collector.sessions[0]["session_name"] == "table-session"

    # explicit parameters beat the environment
    explicit = HoneyHiveTracer.init(project="explicit-project", source="production")
    assert (explicit.project, explicit.source) == ("explicit-project", "production")

    monkeypatch.setenv("HH_TEST_MODE", "true")
    assert HoneyHiveTracer.init().test_mode is True


# -- BYOI ---------------------------------------------------------------------------------------


def test_byoi_single_instrumentor(collector: Collector) -> None:
    # Step 1: Initialize HoneyHive tracer first (without instrumentors)
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    # Step 2: Initialize instrumentor separately with tracer_provider
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer.provider)

    @trace(tracer=tracer, event_type="chain")
    def answer(question: str) -> str:
        return instrumentor.call_llm(question)

    assert answer("hi") == "echo: hi"
    flushed(tracer)
    llm = only(collector, "ChatCompletion")
    (parent,) = [s for s in collector.spans if s.name.endswith(".answer")]
    assert llm.scope_name == "openinference.instrumentation.openai"
    assert llm.parent_span_id == parent.span_id
    assert llm.trace_id == parent.trace_id
    assert llm.attributes["openinference.span.kind"] == "LLM"
    assert_session_attributes(llm, tracer)  # instrumentor spans carry the session too


def test_byoi_multiple_instrumentors(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="your-api-key", project="your-project")
    openai_instrumentor = OpenAIInstrumentor()
    anthropic_instrumentor = AnthropicInstrumentor()
    openai_instrumentor.instrument(tracer_provider=tracer.provider)
    anthropic_instrumentor.instrument(tracer_provider=tracer.provider)

    openai_instrumentor.call_llm("a")
    anthropic_instrumentor.call_llm("b")
    flushed(tracer)
    openai_span, anthropic_span = only(collector, "ChatCompletion"), only(collector, "Messages")
    assert openai_span.scope_name == "openinference.instrumentation.openai"
    assert anthropic_span.scope_name == "openinference.instrumentation.anthropic"
    for span in (openai_span, anthropic_span):
        assert_session_attributes(span, tracer)


# -- multi-instance examples of init() -----------------------------------------------------------


def test_multi_instance_different_projects(collector: Collector) -> None:
    user_tracer = HoneyHiveTracer.init(
        api_key="hh_user_service_key", project="user-service", source="production"
    )
    payment_tracer = HoneyHiveTracer.init(
        api_key="hh_payment_service_key", project="payment-service", source="production"
    )
    with user_tracer.trace("lookup_user"):
        pass
    with payment_tracer.trace("charge_card"):
        pass
    flushed(user_tracer, payment_tracer)

    user_span, payment_span = only(collector, "lookup_user"), only(collector, "charge_card")
    assert_session_attributes(user_span, user_tracer)
    assert_session_attributes(payment_span, payment_tracer)
    assert user_span.headers["authorization"] == "Bearer hh_user_service_key"
    assert payment_span.headers["authorization"] == "Bearer hh_payment_service_key"
    assert user_tracer.session_id != payment_tracer.session_id
    projects = {s["session_id"]: s["project"] for s in collector.sessions}
    assert projects == {
        user_tracer.session_id: "user-service",
        payment_tracer.session_id: "payment-service",
    }


def test_multi_instance_same_project_different_environments(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Option 1: Explicit parameters
    prod_tracer = HoneyHiveTracer.init(
        api_key="hh_my_project_key", project="my-project", source="production"
    )
    staging_tracer = HoneyHiveTracer.init(
        api_key="hh_my_project_key", project="my-project", source="staging"
    )
    # Option 2: Environment variables (works for single project only)
    monkeypatch.setenv("HH_API_KEY", "hh_my_project_key")
    monkeypatch.setenv("HH_PROJECT", "my-project")
    dev_tracer = HoneyHiveTracer.init(source="development", test_mode=True)
    assert dev_tracer.project == "my-project"

    for tracer in (prod_tracer, staging_tracer, dev_tracer):
        with tracer.trace(f"work-{tracer.source}"):
            pass
    flushed(prod_tracer, staging_tracer, dev_tracer)
    assert only(collector, "work-production").attributes["honeyhive.source"] == "production"
    assert only(collector, "work-staging").attributes["honeyhive.source"] == "staging"
    assert collector.spans_named("work-development") == []  # test mode sends nothing
    assert {s["source"] for s in collector.sessions} == {"production", "staging"}


def test_multi_instance_custom_environment_variables(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER_SERVICE_API_KEY", "hh_user_service_key")
    monkeypatch.setenv("USER_SERVICE_PROJECT", "user-service")
    monkeypatch.setenv("PAYMENT_SERVICE_API_KEY", "hh_payment_service_key")
    monkeypatch.setenv("PAYMENT_SERVICE_PROJECT", "payment-service")

    user_tracer = HoneyHiveTracer.init(
        api_key=os.getenv("USER_SERVICE_API_KEY"),
        project=os.getenv("USER_SERVICE_PROJECT"),
        source="production",
    )
    payment_tracer = HoneyHiveTracer.init(
        api_key=os.getenv("PAYMENT_SERVICE_API_KEY"),
        project=os.getenv("PAYMENT_SERVICE_PROJECT"),
        source="production",
    )
    with user_tracer.trace("u"):
        pass
    with payment_tracer.trace("p"):
        pass
    flushed(user_tracer, payment_tracer)
    assert only(collector, "u").attributes["honeyhive.project"] == "user-service"
    assert only(collector, "p").attributes["honeyhive.project"] == "payment-service"
    assert only(collector, "p").headers["authorization"] == "Bearer hh_payment_service_key"


def test_self_hosted_server_url_overrides_hh_api_url(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Collector() as elsewhere:
        monkeypatch.setenv("HH_API_URL", elsewhere.url)
        # server_url="https://honeyhive.company.com" (here: the loopback collector)
        tracer = HoneyHiveTracer.init(
            api_key="hh_your_key", project="your-project", server_url=collector.url + "/"
        )
        assert tracer.server_url == collector.url  # trailing "/" stripped
        with tracer.trace("self-hosted"):
            pass
        flushed(tracer)
        tracer.close()
        assert elsewhere.requests == []
    only(collector, "self-hosted")


# -- backwards compatibility examples ------------------------------------------------------------


def test_backwards_compatibility_all_sixteen_parameters(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(
        api_key="hh_your_key",
        project="my-project",
        session_name="evaluation-session",
        source="production",
        server_url=collector.url,  # "https://custom.honeyhive.ai"
        session_id="550e8400-e29b-41d4-a716-446655440000",
        disable_http_tracing=True,
        disable_batch=False,
        verbose=True,
        inputs={"user_id": "123", "query": "test"},
        is_evaluation=True,
        run_id="eval-run-001",
        dataset_id="dataset-123",
        datapoint_id="datapoint-456",
        test_mode=False,
    )
    assert tracer.session_id == "550e8400-e29b-41d4-a716-446655440000"
    assert tracer.session_name == "evaluation-session"
    with tracer.trace("compat"):
        pass
    flushed(tracer)
    span = only(collector, "compat")
    assert_session_attributes(span, tracer)
    assert span.attributes["honeyhive_metadata.run_id"] == "eval-run-001"
    assert span.attributes["honeyhive_metadata.dataset_id"] == "dataset-123"
    assert span.attributes["honeyhive_metadata.datapoint_id"] == "datapoint-456"


def test_backwards_compatibility_invalid_session_id_raises() -> None:
    # "Must be a valid UUID string. If invalid and not in test mode, raises ValueError."
    with pytest.raises(ValueError, match="session_id"):
        HoneyHiveTracer.init(api_key="hh_key", project="p", session_id="not-a-uuid")


def test_evaluation_workflow_example(collector: Collector) -> None:
    evaluation_tracer = HoneyHiveTracer.init(
        api_key="hh_eval_key",
        project="evaluation-project",
        is_evaluation=True,
        run_id="experiment-2024-001",
        dataset_id="benchmark-dataset",
        verbose=True,
    )
    with evaluation_tracer.trace("evaluate_datapoint") as parent:
        carrier = evaluation_tracer.inject({})
        with evaluation_tracer.trace("score"):
            pass
    flushed(evaluation_tracer)

    for name in ("evaluate_datapoint", "score"):
        span = only(collector, name)
        assert_session_attributes(span, evaluation_tracer)
        assert span.attributes["honeyhive_metadata.run_id"] == "experiment-2024-001"
        assert span.attributes["honeyhive_metadata.dataset_id"] == "benchmark-dataset"
        assert "honeyhive_metadata.datapoint_id" not in span.attributes
    (session,) = collector.sessions
    assert session["project"] == "evaluation-project"
    assert session["metadata"] == {
        "run_id": "experiment-2024-001",
        "dataset_id": "benchmark-dataset",
    }
    # "adds evaluation-specific baggage context"
    assert "run_id=experiment-2024-001" in carrier["baggage"]
    assert "dataset_id=benchmark-dataset" in carrier["baggage"]
    assert format(parent.get_span_context().trace_id, "032x") in carrier["traceparent"]


def test_context_propagation_example_with_malformed_carrier(collector: Collector) -> None:
    # The reference's carrier is not a valid traceparent: linking to it must not raise, and
    # spans then simply start new traces.
    parent_carrier = {"traceparent": "00-trace-id-span-id-01"}
    child_tracer = HoneyHiveTracer.init(
        api_key="hh_key", project="your-project", link_carrier=parent_carrier, verbose=True
    )
    with child_tracer.trace("first"):
        pass
    with child_tracer.trace("second"):
        pass
    flushed(child_tracer)
    first, second = only(collector, "first"), only(collector, "second")
    assert first.parent_span_id is None
    assert second.parent_span_id is None
    assert first.trace_id != second.trace_id
    assert_session_attributes(first, child_tracer)


def test_context_propagation_example_with_valid_carrier(collector: Collector) -> None:
    trace_id, span_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    parent_session = "0f7b4a0e-1b7d-4c2e-9d0e-2b1f4b8a9c11"
    parent_carrier = {
        "traceparent": f"00-{trace_id}-{span_id}-01",
        "baggage": f"session_id={parent_session}",
    }
    child_tracer = HoneyHiveTracer.init(
        api_key="hh_key", project="your-project", link_carrier=parent_carrier
    )
    with child_tracer.trace("linked"), child_tracer.trace("nested"):
        pass
    flushed(child_tracer)
    linked, nested = only(collector, "linked"), only(collector, "nested")
    assert (linked.trace_id, linked.parent_span_id) == (trace_id, span_id)
    assert (nested.trace_id, nested.parent_span_id) == (trace_id, linked.span_id)
    assert linked.attributes["honeyhive.session_id"] == parent_session


def test_performance_tuning_disable_batch_exports_each_span(collector: Collector) -> None:
    high_throughput_tracer = HoneyHiveTracer.init(
        api_key="hh_key",
        project="your-project",
        disable_batch=True,
        disable_http_tracing=True,
        verbose=False,
    )
    for i in range(5):
        with high_throughput_tracer.trace(f"fast-{i}"):
            pass
    # Spans leave one by one as they end, without a flush.
    collector.wait_for_spans(5, timeout=5.0)
    flushed(high_throughput_tracer)
    span_requests = [r for r in collector.requests if r.path == TRACE_PATH]
    assert len(span_requests) == len(collector.spans) == 5


# -- trace() --------------------------------------------------------------------------------------


def test_trace_automatic_span_attributes(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="attrs-project", source="qa")
    with tracer.trace("typed", event_type="chain"):
        pass
    with tracer.trace("untyped"):
        pass
    flushed(tracer)
    typed, untyped = only(collector, "typed"), only(collector, "untyped")
    assert_session_attributes(typed, tracer)
    assert_session_attributes(untyped, tracer)
    assert typed.attributes["honeyhive.event_type"] == "chain"
    assert typed.attributes["honeyhive_event_type"] == "chain"
    assert "honeyhive.event_type" not in untyped.attributes


def test_trace_basic_usage(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    def get_user_by_id(user_id: str) -> Optional[dict[str, str]]:
        return {"id": user_id} if user_id == "u-1" else None

    def process_batch(data: list[int]) -> int:
        return sum(data)

    # a stand-in for openai.OpenAI(): chat.completions.create(...) -> .choices[0].message.content
    def create(model: str, messages: list[dict[str, str]]) -> Any:
        message = SimpleNamespace(content=f"{model} says hi")
        return SimpleNamespace(choices=[SimpleNamespace(message=message)])

    openai_client = SimpleNamespace(
        chat=SimpleNamespace(completions=SimpleNamespace(create=create))
    )
    user_id, prompt, data = "u-1", "Say hi", [1, 2, 3]

    # Simple operation tracing
    with tracer.trace("user_lookup") as span:
        user = get_user_by_id(user_id)
        span.set_attribute("user.id", user_id)
        span.set_attribute("user.found", user is not None)

    # With custom event type
    with tracer.trace("llm_completion", event_type="openai_gpt4") as span:
        response = openai_client.chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": prompt}]
        )
        span.set_attribute("model", "gpt-4")
        span.set_attribute("prompt.length", len(prompt))
        span.set_attribute("response.length", len(response.choices[0].message.content))

    # With initial attributes
    with tracer.trace("data_processing", operation_type="batch", batch_size=100) as span:
        result = process_batch(data)
        span.set_attribute("processing.success", True)
    assert result == 6
    flushed(tracer)

    lookup = only(collector, "user_lookup")
    assert lookup.attributes["user.id"] == "u-1"
    assert lookup.attributes["user.found"] is True

    llm = only(collector, "llm_completion")
    assert llm.attributes["honeyhive.event_type"] == "openai_gpt4"
    assert llm.attributes["honeyhive_event_type"] == "tool"  # only model/tool/chain on the wire
    assert llm.attributes["model"] == "gpt-4"
    assert llm.attributes["prompt.length"] == len("Say hi")
    assert llm.attributes["response.length"] == len("gpt-4 says hi")

    batch = only(collector, "data_processing")
    assert batch.attributes["operation_type"] == "batch"
    assert batch.attributes["batch_size"] == 100
    assert batch.attributes["processing.success"] is True
    for span in (lookup, llm, batch):
        assert span.parent_span_id is None
        assert_session_attributes(span, tracer)


def test_trace_nested_spans(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    with tracer.trace("parent_operation") as parent:
        parent.set_attribute("operation.level", "parent")
        with tracer.trace("child_operation") as child:
            child.set_attribute("operation.level", "child")
            with tracer.trace("grandchild_operation") as grandchild:
                grandchild.set_attribute("operation.level", "grandchild")
    flushed(tracer)
    parent_span = only(collector, "parent_operation")
    child_span = only(collector, "child_operation")
    grandchild_span = only(collector, "grandchild_operation")
    assert parent_span.parent_span_id is None
    assert child_span.parent_span_id == parent_span.span_id
    assert grandchild_span.parent_span_id == child_span.span_id
    assert len({parent_span.trace_id, child_span.trace_id, grandchild_span.trace_id}) == 1
    assert grandchild_span.attributes["operation.level"] == "grandchild"


def _error_handling_example(tracer: HoneyHiveTracer, risky_function: Any) -> Any:
    """The "Error Handling and Status" example, verbatim."""
    from opentelemetry import trace

    with tracer.trace("risky_operation") as span:
        try:
            result = risky_function()
            span.set_status(trace.Status(trace.StatusCode.OK))
            span.set_attribute("operation.success", True)
        except ValueError as e:
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(e)))
            span.record_exception(e)
            span.set_attribute("operation.success", False)
            span.set_attribute("error.type", "ValueError")
            raise
        except Exception as e:
            span.set_status(trace.Status(trace.StatusCode.ERROR, "Unexpected error"))
            span.record_exception(e)
            span.set_attribute("operation.success", False)
            span.set_attribute("error.type", type(e).__name__)
            raise
    return result


def test_trace_error_handling_success(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    assert _error_handling_example(tracer, lambda: 42) == 42
    flushed(tracer)
    span = only(collector, "risky_operation")
    assert span.status_code == "OK"
    assert span.attributes["operation.success"] is True
    assert exceptions(span) == []


def test_trace_error_handling_value_error_recorded_once(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    error = ValueError("bad input")

    def risky_function() -> None:
        raise error

    with pytest.raises(ValueError) as raised:
        _error_handling_example(tracer, risky_function)
    assert raised.value is error
    flushed(tracer)
    span = only(collector, "risky_operation")
    assert span.status_code == "ERROR"
    assert span.attributes["operation.success"] is False
    assert span.attributes["error.type"] == "ValueError"
    (event,) = exceptions(span)  # the user recorded it; the SDK does not record it again
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "bad input"


def test_trace_error_handling_unexpected_error_recorded_once(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    def risky_function() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        _error_handling_example(tracer, risky_function)
    flushed(tracer)
    span = only(collector, "risky_operation")
    assert span.status_code == "ERROR"
    assert span.attributes["error.type"] == "KeyError"
    (event,) = exceptions(span)
    assert event.attributes["exception.type"] == "KeyError"


def test_trace_error_handling_keeps_the_users_status_description(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    def risky_function() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        _error_handling_example(tracer, risky_function)
    flushed(tracer)
    assert only(collector, "risky_operation").status_message == "Unexpected error"


def test_trace_performance_measurement(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    def expensive_computation() -> int:
        time.sleep(0.002)
        return sum(range(1000))

    with tracer.trace("performance_critical_operation") as span:
        start_time = time.perf_counter()
        result = expensive_computation()
        duration = time.perf_counter() - start_time
        span.set_attribute("performance.duration_seconds", duration)
        span.set_attribute("performance.operations_per_second", 1 / duration)
    assert result == 499500
    flushed(tracer)
    span_received = only(collector, "performance_critical_operation")
    seconds = span_received.attributes["performance.duration_seconds"]
    assert isinstance(seconds, float)
    assert seconds >= 0.002
    assert span_received.attributes["performance.operations_per_second"] == pytest.approx(
        1 / seconds
    )
    assert span_received.duration_ms >= seconds * 1000


# -- enrich_current_span() ----------------------------------------------------------------------


def test_enrich_current_span_in_decorated_function(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    start_time = time.time()  # used, but never defined, by the reference example

    def get_user_tier(user_id: str) -> str:
        return "premium" if user_id.startswith("p") else "basic"

    def process_request(request_data: dict[str, Any]) -> dict[str, Any]:
        return {"handled": request_data.get("type", "unknown")}

    @trace(tracer=tracer, event_type="user_processing")
    def process_user_request(user_id: str, request_data: dict) -> dict:
        # Add attributes to the automatically created span
        tracer.enrich_current_span(
            {
                "user.id": user_id,
                "user.tier": get_user_tier(user_id),
                "request.size": len(str(request_data)),
                "request.type": request_data.get("type", "unknown"),
                "request.timestamp": time.time(),
            }
        )
        result = process_request(request_data)
        helper_function([1, 2, 3])
        tracer.enrich_current_span(
            {
                "response.success": True,
                "response.size": len(str(result)),
                "processing.duration": time.time() - start_time,
            }
        )
        return result

    # In a nested function without decorator
    def helper_function(data: list[int]) -> list[int]:
        # This will add to the active span from the parent function
        tracer.enrich_current_span(
            {"helper.input_size": len(data), "helper.processing_method": "optimized"}
        )
        return data

    request_data = {"type": "search", "query": "shoes"}
    assert process_user_request("p-7", request_data) == {"handled": "search"}
    flushed(tracer)
    span = only(
        collector, "test_enrich_current_span_in_decorated_function.<locals>.process_user_request"
    )
    attrs = span.attributes
    assert attrs["user.id"] == "p-7"
    assert attrs["user.tier"] == "premium"
    assert attrs["request.size"] == len(str(request_data))
    assert attrs["request.type"] == "search"
    assert isinstance(attrs["request.timestamp"], float)
    assert attrs["response.success"] is True
    assert attrs["processing.duration"] >= 0
    assert attrs["helper.input_size"] == 3
    assert attrs["helper.processing_method"] == "optimized"
    assert attrs["honeyhive.event_type"] == "user_processing"
    assert attrs["honeyhive_event_type"] == "tool"
    assert attrs["honeyhive_inputs.user_id"] == "p-7"
    assert attrs["honeyhive_inputs.request_data.type"] == "search"
    assert attrs["honeyhive_outputs.result.handled"] == "search"
    assert_session_attributes(span, tracer)


def test_conditional_enrichment(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    def get_user_tier(user_id: str) -> str:
        return "premium" if user_id.startswith("p") else "basic"

    @trace(tracer=tracer)
    def conditional_processing(user_id: str, options: dict):
        # Always add basic info
        tracer.enrich_current_span({"user.id": user_id, "options.provided": len(options)})
        # Conditionally add detailed info for premium users
        user_tier = get_user_tier(user_id)
        if user_tier == "premium":
            tracer.enrich_current_span(
                {
                    "user.tier": user_tier,
                    "user.detailed_options": str(options),
                    "processing.enhanced": True,
                }
            )

    conditional_processing("p-1", {"fast": True})
    conditional_processing("b-2", {})
    flushed(tracer)
    spans = {s.attributes["user.id"]: s for s in collector.spans}
    premium, basic = spans["p-1"], spans["b-2"]
    assert premium.attributes["user.tier"] == "premium"
    assert premium.attributes["user.detailed_options"] == "{'fast': True}"
    assert premium.attributes["processing.enhanced"] is True
    assert premium.attributes["options.provided"] == 1
    assert basic.attributes["options.provided"] == 0
    assert "user.tier" not in basic.attributes
    assert "honeyhive_outputs.result" not in premium.attributes  # returned None


# -- flush() --------------------------------------------------------------------------------------


def test_flush_before_application_shutdown(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    for i in range(20):
        with tracer.trace(f"work-{i}"):
            pass
    success = tracer.flush(timeout=10.0)
    assert success is True
    # flush returned True: everything is already at the collector, no waiting needed
    assert len(collector.spans) == 20
    assert len(collector.sessions) == 1


def test_flush_reports_failure_when_traces_were_not_sent(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    collector.set_fault("status", status=400)
    with tracer.trace("rejected"):
        pass
    started = time.monotonic()
    success = tracer.flush(timeout=2.0)
    assert time.monotonic() - started < 2.5
    assert success is False  # "Warning: Some traces may not have been sent"
    collector.clear_fault()


def test_flush_in_exception_handler(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    def main_application_logic() -> None:
        with tracer.trace("main"):
            raise KeyboardInterrupt

    flushes = []

    def run() -> None:
        # In exception handlers
        try:
            main_application_logic()
        except KeyboardInterrupt:
            flushes.append(tracer.flush(timeout=5.0))
            raise

    with pytest.raises(KeyboardInterrupt):
        run()
    assert flushes == [True]
    span = only(collector, "main")
    # KeyboardInterrupt is not an application error: not marked ERROR, and nothing recorded
    assert span.status_code == "UNSET"
    assert exceptions(span) == []


def test_periodic_flush_thread(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(
        api_key="hh_key", project="your-project", schedule_delay=60.0
    )  # the batch timer alone would not deliver anything during this test
    stop = threading.Event()
    results: list[bool] = []

    def periodic_flush() -> None:
        while not stop.wait(0.05):  # the reference sleeps 60 s in a `while True` loop
            success = tracer.flush(timeout=30.0)
            results.append(success)
            if not success:
                logging.getLogger(__name__).warning("Periodic flush failed")

    flush_thread = threading.Thread(target=periodic_flush, daemon=True)
    flush_thread.start()
    try:
        with tracer.trace("background"):
            pass
        collector.wait_for_spans(1, timeout=5.0)
    finally:
        stop.set()
        flush_thread.join(timeout=5)
    assert results
    assert all(results)


# -- close() --------------------------------------------------------------------------------------


def test_clean_shutdown_sequence(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    with tracer.trace("before-close"):
        pass
    try:
        assert tracer.flush(timeout=10.0) is True
    finally:
        tracer.close()
    assert tracer.closed
    only(collector, "before-close")
    # a closed tracer stays usable and inert
    with tracer.trace("after-close") as span:
        span.set_attribute("ignored", True)
        assert not span.is_recording()
    tracer.close()  # idempotent
    time.sleep(0.1)
    assert collector.spans_named("after-close") == []


def test_context_manager_flushes_and_closes_on_exit(collector: Collector) -> None:
    done = []

    def do_work() -> None:
        done.append(True)

    # schedule_delay=60: only the exit of the block can deliver the span in time
    with HoneyHiveTracer.init(
        api_key="hh_key", project="your-project", schedule_delay=60.0
    ) as tracer:
        with tracer.trace("operation"):
            do_work()
        assert collector.spans_named("operation") == []  # still batched (no flush yet)
    # Tracer automatically flushed and closed here
    assert tracer.closed
    assert done == [True]
    assert_session_attributes(only(collector, "operation"), tracer)


def test_context_manager_flushes_when_the_block_raises(collector: Collector) -> None:
    made = []

    def run() -> None:
        with HoneyHiveTracer.init(api_key="hh_key", project="your-project") as tracer:
            made.append(tracer)
            with tracer.trace("failing-operation"):
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run()
    (tracer,) = made
    assert tracer.closed
    span = only(collector, "failing-operation")
    assert span.status_code == "ERROR"
    assert len(exceptions(span)) == 1


def test_atexit_cleanup_handler_in_a_real_process(collector: Collector) -> None:
    script = textwrap.dedent(
        """
        import atexit
        from honeyhive import HoneyHiveTracer

        tracer = HoneyHiveTracer.init(
            api_key="hh_key", project="your-project", schedule_delay=60.0
        )

        def cleanup_tracer():
            print("Cleaning up tracer...")
            print("flushed:", tracer.flush(timeout=5.0))
            tracer.close()

        atexit.register(cleanup_tracer)
        with tracer.trace("work-before-exit"):
            pass
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_child_env(collector),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "Cleaning up tracer...\nflushed: True" in done.stdout
    assert "Traceback" not in done.stderr
    span = only(collector, "work-before-exit")
    assert span.attributes["honeyhive.project"] == "your-project"


# -- link() / unlink() / inject() -----------------------------------------------------------------


def test_link_example_with_the_references_malformed_headers(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    before = otel_trace.get_current_span()
    # Link to parent trace from HTTP headers
    headers = {"traceparent": "00-trace-id-span-id-01"}
    token = tracer.link(headers)
    # Your traced operations will now be children of the parent trace
    with tracer.trace("child_operation") as span:
        span.set_attribute("linked_to_parent", True)
    with tracer.trace("another_operation"):
        pass
    # Unlink when done
    tracer.unlink(token)
    assert otel_trace.get_current_span() is before
    flushed(tracer)
    child, another = only(collector, "child_operation"), only(collector, "another_operation")
    # the carrier is malformed: nothing to join, each span starts its own trace
    assert child.parent_span_id is None
    assert another.parent_span_id is None
    assert child.trace_id != another.trace_id
    assert child.attributes["linked_to_parent"] is True
    assert_session_attributes(child, tracer)


def test_link_and_unlink_with_a_valid_parent(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    parent_carrier = {"traceparent": f"00-{trace_id}-{span_id}-01"}

    def do_work() -> None:
        with tracer.trace("inner_work"):
            pass

    token = tracer.link(parent_carrier)
    try:
        with tracer.trace("linked_operation"):
            do_work()
    finally:
        tracer.unlink(token)
    with tracer.trace("after_unlink"):
        pass
    flushed(tracer)
    linked = only(collector, "linked_operation")
    assert (linked.trace_id, linked.parent_span_id) == (trace_id, span_id)
    inner = only(collector, "inner_work")
    assert (inner.trace_id, inner.parent_span_id) == (trace_id, linked.span_id)
    after = only(collector, "after_unlink")
    assert after.parent_span_id is None
    assert after.trace_id != trace_id


def test_inject_into_http_headers_and_send(collector: Collector, web: WebServer) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project", source="production")
    payload = {"q": 1}
    with tracer.trace("call_downstream") as span:
        # Inject current trace context into HTTP headers
        headers = {"Content-Type": "application/json"}
        headers_with_trace = tracer.inject(headers)
        # Make HTTP request with trace context
        response = requests.post(
            web.url + "/data", headers=headers_with_trace, json=payload, timeout=5
        )
    assert response.status_code == 200
    assert headers_with_trace is headers  # the carrier is filled in and returned
    ctx = span.get_span_context()
    (received,) = web.received
    sent = received["headers"]
    assert sent["traceparent"].startswith(
        f"00-{format(ctx.trace_id, '032x')}-{format(ctx.span_id, '016x')}-"
    )
    baggage = dict(item.split("=", 1) for item in sent["baggage"].split(","))
    assert baggage["session_id"] == tracer.session_id
    assert baggage["project"] == "your-project"
    assert baggage["source"] == "production"
    assert sent["content-type"] == "application/json"
    assert json.loads(received["body"]) == payload


def test_inject_into_empty_carrier(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    # Or inject into empty carrier
    trace_context = tracer.inject()
    assert "traceparent" not in trace_context  # no span is current here
    assert f"session_id={tracer.session_id}" in trace_context["baggage"]
    with tracer.trace("current"):
        trace_context = tracer.inject()
    assert trace_context["traceparent"].startswith("00-")
    assert f"session_id={tracer.session_id}" in trace_context["baggage"]


# -- properties ----------------------------------------------------------------------------------


def test_properties(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HH_API_KEY", "hh_props_key")
    tracer = HoneyHiveTracer.init(project="user-service")
    assert tracer.project == "user-service"

    tracer = HoneyHiveTracer.init(project="your-project", source="production")
    assert tracer.source == "production"

    tracer = HoneyHiveTracer.init(project="your-project", session_name="user-onboarding")
    assert str(uuid.UUID(tracer.session_id)) == tracer.session_id  # auto-generated UUID
    assert tracer.session_name == "user-onboarding"
    assert tracer.test_mode is False
    with tracer.trace("onboarding-step"):
        pass
    flushed(tracer)
    span = only(collector, "onboarding-step")
    assert span.attributes["honeyhive.session_id"] == tracer.session_id
    (start,) = [s for s in collector.sessions if s["session_name"] == "user-onboarding"]
    assert start["session_id"] == tracer.session_id

    tracer = HoneyHiveTracer.init(project="your-project", test_mode=True)
    assert tracer.test_mode is True


# -- multi-instance architecture -----------------------------------------------------------------


def test_environment_separation(collector: Collector) -> None:
    prod_tracer = HoneyHiveTracer.init(
        api_key="prod-api-key", project="my-project", source="production"
    )
    staging_tracer = HoneyHiveTracer.init(
        api_key="staging-api-key", project="my-project", source="staging"
    )
    dev_tracer = HoneyHiveTracer.init(
        api_key="dev-api-key", project="my-project", source="development", test_mode=True
    )
    for tracer in (prod_tracer, staging_tracer, dev_tracer):
        with tracer.trace("handle"):
            pass
    flushed(prod_tracer, staging_tracer, dev_tracer)
    received = {s.attributes["honeyhive.source"]: s for s in collector.spans}
    assert set(received) == {"production", "staging"}
    assert received["production"].headers["authorization"] == "Bearer prod-api-key"
    assert received["staging"].headers["authorization"] == "Bearer staging-api-key"
    assert_session_attributes(received["staging"], staging_tracer)


def test_service_based_separation(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HH_API_KEY", "hh_shared_key")
    auth_tracer = HoneyHiveTracer.init(project="auth-service", session_name="auth_operations")
    user_tracer = HoneyHiveTracer.init(project="user-service", session_name="user_operations")
    payment_tracer = HoneyHiveTracer.init(
        project="payment-service", session_name="payment_operations"
    )
    tracers = (auth_tracer, user_tracer, payment_tracer)
    for tracer in tracers:
        with tracer.trace(f"{tracer.project}-op"):
            pass
    flushed(*tracers)
    for tracer in tracers:
        assert_session_attributes(only(collector, f"{tracer.project}-op"), tracer)
    assert sorted((s["project"], s["session_name"]) for s in collector.sessions) == [
        ("auth-service", "auth_operations"),
        ("payment-service", "payment_operations"),
        ("user-service", "user_operations"),
    ]


def test_workflow_based_separation(collector: Collector) -> None:
    chat_tracer = HoneyHiveTracer.init(project="chat-service")
    chat_instrumentor = OpenAIInstrumentor()
    chat_instrumentor.instrument(tracer_provider=chat_tracer.provider)
    analysis_tracer = HoneyHiveTracer.init(project="analysis-service")
    analysis_instrumentor = AnthropicInstrumentor()
    analysis_instrumentor.instrument(tracer_provider=analysis_tracer.provider)
    background_tracer = HoneyHiveTracer.init(project="background-tasks")

    chat_instrumentor.call_llm("hello")
    analysis_instrumentor.call_llm("analyse")
    with background_tracer.trace("nightly_job"):
        pass
    flushed(chat_tracer, analysis_tracer, background_tracer)
    assert_session_attributes(only(collector, "ChatCompletion"), chat_tracer)
    assert_session_attributes(only(collector, "Messages"), analysis_tracer)
    assert_session_attributes(only(collector, "nightly_job"), background_tracer)


# -- thread safety -------------------------------------------------------------------------------


def test_thread_safety_example(collector: Collector) -> None:
    # Global tracer instance
    tracer = HoneyHiveTracer.init(api_key="your-key", project="your-project")

    @trace(tracer=tracer)
    def worker_function(worker_id: int, data: str):
        """Safe to call from multiple threads simultaneously."""
        with tracer.trace(f"worker_{worker_id}_processing") as span:
            span.set_attribute("worker.id", worker_id)
            span.set_attribute("data.length", len(data))
            # Simulate work (the reference sleeps 0.1-0.5 s)
            time.sleep(random.uniform(0.001, 0.005))
            tracer.enrich_current_span(
                {
                    "worker.completion_time": time.time(),
                    "worker.thread_id": threading.current_thread().ident,
                }
            )
            return f"Worker {worker_id} processed {len(data)} characters"

    # Concurrent execution
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as executor:
        futures = []
        for i in range(50):
            future = executor.submit(worker_function, i, f"data_for_worker_{i}")
            futures.append(future)
        results = [f.result(timeout=10) for f in concurrent.futures.as_completed(futures)]
    assert len(results) == 50
    assert "Worker 7 processed 17 characters" in results
    flushed(tracer)

    spans = collector.wait_for_spans(100)
    assert len(spans) == 100
    assert collector.duplicates == 0
    outer = {s.span_id: s for s in spans if s.name.endswith("worker_function")}
    assert len(outer) == 50
    for i in range(50):
        inner = only(collector, f"worker_{i}_processing")
        parent = outer[inner.parent_span_id]  # each inner span is a child of its own call
        assert parent.attributes["honeyhive_inputs.worker_id"] == i
        assert parent.trace_id == inner.trace_id
        assert parent.attributes["honeyhive_outputs.result"] == (
            f"Worker {i} processed {len(f'data_for_worker_{i}')} characters"
        )
        assert inner.attributes["worker.id"] == i
        assert isinstance(inner.attributes["worker.thread_id"], int)
        assert_session_attributes(inner, tracer)


# -- context propagation -------------------------------------------------------------------------


def _thread_example(tracer: HoneyHiveTracer) -> None:
    """The "Thread Context Propagation" example, verbatim."""

    @trace(tracer=tracer, event_type="parent_operation")
    def parent_function():
        # Start a parent span
        tracer.enrich_current_span({"operation.type": "parent"})

        def worker():
            # Child span automatically inherits parent context
            with tracer.trace("child_operation") as span:
                span.set_attribute("operation.type", "child")
                span.set_attribute("thread.id", threading.current_thread().ident)

        # Start worker in separate thread
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()

    parent_function()


def test_thread_context_propagation_example(collector: Collector) -> None:
    """As written: the child span in the thread inherits the parent context."""
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    _thread_example(tracer)
    flushed(tracer)
    (parent,) = [s for s in collector.spans if s.name.endswith("parent_function")]
    child = only(collector, "child_operation")
    assert child.parent_span_id == parent.span_id
    assert child.trace_id == parent.trace_id
    assert parent.attributes["operation.type"] == "parent"
    assert parent.attributes["honeyhive.event_type"] == "parent_operation"
    assert parent.attributes["honeyhive_event_type"] == "tool"
    assert child.attributes["thread.id"] != threading.get_ident()


def test_thread_context_propagation_can_be_turned_off(collector: Collector) -> None:
    """With propagate_thread_context=False a plain Thread starts with an empty context (the
    OpenTelemetry default): the child span is the root of a new trace."""
    tracer = HoneyHiveTracer.init(
        api_key="hh_key", project="your-project", propagate_thread_context=False
    )
    _thread_example(tracer)
    flushed(tracer)
    (parent,) = [s for s in collector.spans if s.name.endswith("parent_function")]
    child = only(collector, "child_operation")
    assert child.parent_span_id is None
    assert child.trace_id != parent.trace_id
    assert_session_attributes(child, tracer)


def test_async_context_propagation_example(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    @trace(tracer=tracer, event_type="async_parent")
    async def async_parent():
        tracer.enrich_current_span({"operation.type": "async_parent"})
        # Child async operations inherit context
        await async_child()

    @trace(tracer=tracer, event_type="async_child")
    async def async_child():
        tracer.enrich_current_span({"operation.type": "async_child"})
        await asyncio.sleep(0.01)

    # Run async operations
    asyncio.run(async_parent())
    flushed(tracer)
    (parent,) = [s for s in collector.spans if s.name.endswith("async_parent")]
    (child,) = [s for s in collector.spans if s.name.endswith("async_child")]
    assert child.parent_span_id == parent.span_id
    assert parent.attributes["operation.type"] == "async_parent"
    assert child.attributes["operation.type"] == "async_child"
    assert child.attributes["honeyhive.event_type"] == "async_child"
    assert child.duration_ms >= 10
    assert parent.duration_ms >= child.duration_ms


def test_http_context_propagation_example(collector: Collector, web: WebServer) -> None:
    from opentelemetry.propagate import inject

    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")

    @trace(tracer=tracer, event_type="http_client_call")
    def make_http_request(url: str):
        headers = {"Content-Type": "application/json"}
        # Inject trace context into HTTP headers
        inject(headers)
        response = requests.get(url, headers=headers, timeout=5)
        tracer.enrich_current_span(
            {
                "http.url": url,
                "http.status_code": response.status_code,
                "http.response_size": len(response.content),
            }
        )
        return response

    response = make_http_request(web.url + "/items")
    assert response.status_code == 200
    flushed(tracer)
    (span,) = collector.spans
    assert span.attributes["http.status_code"] == 200
    assert span.attributes["http.response_size"] == len(response.content)
    assert span.attributes["honeyhive.event_type"] == "http_client_call"
    # OpenTelemetry's own inject() sees the decorator's span as current
    (received,) = web.received
    assert received["headers"]["traceparent"].startswith(f"00-{span.trace_id}-{span.span_id}-")


# -- error handling and resilience ---------------------------------------------------------------


def test_graceful_degradation_when_the_key_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with Collector(api_key="hh_the_real_key") as strict_backend:
        monkeypatch.setenv("HH_API_URL", strict_backend.url)
        calls = []

        def business_logic() -> str:
            calls.append(1)
            return "done"

        try:
            tracer = HoneyHiveTracer.init(api_key="potentially_invalid_key", project="your-project")
        except Exception as e:  # pragma: no cover - the point is that this does not happen
            print(f"Tracing unavailable: {e}")
            tracer = None

        def safe_trace_operation():
            if tracer:
                with tracer.trace("operation") as span:
                    span.set_attribute("tracing.enabled", True)
                    result = business_logic()
            else:
                result = business_logic()
            return result

        assert tracer is not None  # init never contacts the backend
        assert safe_trace_operation() == "done"
        assert tracer.flush(timeout=3.0) is False  # the backend said 401
        tracer.close()
        assert calls == [1]
        assert strict_backend.spans == []
        assert {r.response_status for r in strict_backend.requests} == {401}

        tracer = None  # "Business logic still runs without tracing"
        assert safe_trace_operation() == "done"


@pytest.mark.parametrize(
    ("rolls", "expected"),
    [([0.1], ValueError), ([0.5, 0.5], ConnectionError), ([0.9, 0.9], None)],
    ids=["value-error", "connection-error", "success"],
)
def test_automatic_exception_capture(
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
    rolls: list[float],
    expected: Optional[type[Exception]],
) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    monkeypatch.setattr(random, "random", iter(rolls).__next__)
    calls = []

    @trace(tracer=tracer, event_type="error_prone_operation")
    def operation_that_might_fail():
        calls.append(1)
        if random.random() < 0.3:
            raise ValueError("Simulated failure")
        elif random.random() < 0.6:  # noqa: RET506 - verbatim from the reference
            raise ConnectionError("Network issue")
        return "Success!"

    try:
        result = operation_that_might_fail()
    except Exception as e:
        caught: Optional[Exception] = e
        result = None
    else:
        caught = None
    assert calls == [1]
    flushed(tracer)
    (span,) = collector.spans
    if expected is None:
        assert result == "Success!"
        assert caught is None
        assert span.status_code == "UNSET"
        assert exceptions(span) == []
        assert span.attributes["honeyhive_outputs.result"] == "Success!"
        return
    assert type(caught) is expected
    assert span.status_code == "ERROR"
    (event,) = exceptions(span)  # recorded exactly once
    assert event.attributes["exception.type"] == expected.__name__
    assert event.attributes["exception.message"] == str(caught)
    assert "operation_that_might_fail" in event.attributes["exception.stacktrace"]
    assert span.attributes["honeyhive_error"] == str(caught)
    assert span.attributes["honeyhive_error_type"] == expected.__name__
    assert "honeyhive_outputs.result" not in span.attributes
    assert len(collector.spans) == 1  # no second "<name>_error" span


def _retry_example(tracer: HoneyHiveTracer, url: str) -> Any:
    """The "Retry Logic Integration" example (delay shortened, URL local)."""
    from functools import wraps

    def with_retry(max_retries=3, delay=1.0):
        def decorator(func):
            @wraps(func)  # noqa: RET503 - verbatim from the reference
            def wrapper(*args, **kwargs):
                for attempt in range(max_retries):
                    try:
                        with tracer.trace(f"{func.__name__}_attempt_{attempt + 1}") as span:
                            span.set_attribute("retry.attempt", attempt + 1)
                            span.set_attribute("retry.max_attempts", max_retries)
                            result = func(*args, **kwargs)
                            span.set_attribute("retry.success", True)
                            span.set_attribute("retry.final_attempt", attempt + 1)
                            return result
                    except Exception as e:
                        span.set_attribute("retry.success", False)
                        span.set_attribute("retry.error", str(e))
                        if attempt == max_retries - 1:
                            span.set_attribute("retry.exhausted", True)
                            raise
                        time.sleep(delay * (2**attempt))  # Exponential backoff

            return wrapper

        return decorator

    @with_retry(max_retries=3, delay=0.005)
    @trace(tracer=tracer, event_type="external_api_call")
    def call_external_api():
        # Potentially flaky external API call
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        return response.json()

    return call_external_api()


def test_retry_logic_integration_succeeds_on_second_attempt(
    collector: Collector, web: WebServer
) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    web.statuses = [503]
    assert _retry_example(tracer, web.url + "/data") == {"status": 200, "items": [1, 2]}
    assert len(web.received) == 2
    flushed(tracer)
    first, second = (
        only(collector, "call_external_api_attempt_1"),
        only(collector, "call_external_api_attempt_2"),
    )
    calls = {s.parent_span_id: s for s in collector.spans if s.name.endswith("call_external_api")}
    failed, succeeded = calls[first.span_id], calls[second.span_id]
    assert first.status_code == "ERROR"
    assert failed.status_code == "ERROR"
    assert len(exceptions(first)) == 1
    assert len(exceptions(failed)) == 1
    assert exceptions(failed)[0].attributes["exception.type"] == "requests.exceptions.HTTPError"
    assert second.status_code == "UNSET"
    assert succeeded.status_code == "UNSET"
    assert second.attributes["retry.success"] is True
    assert second.attributes["retry.final_attempt"] == 2
    assert succeeded.attributes["honeyhive_outputs.result.status"] == 200
    assert succeeded.attributes["honeyhive_outputs.result.items.1"] == 2
    assert succeeded.attributes["honeyhive.event_type"] == "external_api_call"
    assert len(collector.spans) == 4


def test_retry_logic_integration_exhausted(collector: Collector, web: WebServer) -> None:
    tracer = HoneyHiveTracer.init(api_key="hh_key", project="your-project")
    web.statuses = [500, 500, 500]
    with pytest.raises(requests.HTTPError):
        _retry_example(tracer, web.url + "/data")
    assert len(web.received) == 3
    flushed(tracer)
    attempts = [only(collector, f"call_external_api_attempt_{n}") for n in (1, 2, 3)]
    assert all(a.status_code == "ERROR" and len(exceptions(a)) == 1 for a in attempts)
    assert len(collector.spans) == 6


# -- framework integration examples --------------------------------------------------------------


def _flask_app(tracer: HoneyHiveTracer) -> Any:
    """The Flask example, verbatim apart from the helper and the tracer being passed in."""
    from flask import Flask, g, request

    app = Flask(__name__)

    def fetch_user_from_db(user_id: str) -> Optional[dict[str, str]]:
        return {"id": user_id, "name": "User Name"} if user_id == "42" else None

    @app.before_request
    def start_trace():
        g.span = tracer.trace(f"{request.method} {request.path}")
        g.span.__enter__()
        g.span.set_attribute("http.method", request.method)
        g.span.set_attribute("http.url", request.url)
        g.span.set_attribute("http.user_agent", request.headers.get("User-Agent", ""))

    @app.after_request
    def end_trace(response):
        if hasattr(g, "span"):
            g.span.set_attribute("http.status_code", response.status_code)
            g.span.set_attribute("http.response_size", len(response.get_data()))
            g.span.__exit__(None, None, None)
        return response

    @app.route("/users/<user_id>")
    def get_user(user_id):
        with tracer.trace("get_user_operation") as span:
            span.set_attribute("user.id", user_id)
            user_data = fetch_user_from_db(user_id)
            span.set_attribute("user.found", user_data is not None)
            return {"user": user_data}

    return app


def test_flask_integration_example(collector: Collector) -> None:
    pytest.importorskip("flask", reason="Flask is not installed in this environment")
    tracer = HoneyHiveTracer.init(project="flask-app")
    app = _flask_app(tracer)
    app.testing = True  # let an error in a hook reach the test instead of becoming a 500
    client = app.test_client()
    response = client.get("/users/42", headers={"User-Agent": "pytest-agent"})
    assert response.status_code == 200
    assert response.get_json() == {"user": {"id": "42", "name": "User Name"}}
    flushed(tracer)
    server, child = only(collector, "GET /users/42"), only(collector, "get_user_operation")
    assert child.parent_span_id == server.span_id
    assert server.attributes["http.method"] == "GET"
    assert server.attributes["http.url"] == "http://localhost/users/42"
    assert server.attributes["http.user_agent"] == "pytest-agent"
    assert server.attributes["http.status_code"] == 200
    assert server.attributes["http.response_size"] == len(response.get_data())
    assert child.attributes["user.found"] is True
    assert_session_attributes(server, tracer)
    assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN


def test_flask_integration_example_hooks_without_flask(collector: Collector) -> None:
    """The Flask example's hook sequence (before_request, view, after_request) replayed with
    stand-ins for ``g``/``request``/``response``, so it runs where Flask is not installed."""
    tracer = HoneyHiveTracer.init(project="flask-app")
    g = SimpleNamespace()
    request = SimpleNamespace(
        method="GET",
        path="/users/42",
        url="http://localhost/users/42",
        headers={"User-Agent": "pytest-agent"},
    )

    def start_trace():
        g.span = tracer.trace(f"{request.method} {request.path}")
        g.span.__enter__()
        g.span.set_attribute("http.method", request.method)
        g.span.set_attribute("http.url", request.url)
        g.span.set_attribute("http.user_agent", request.headers.get("User-Agent", ""))

    def end_trace(response):
        if hasattr(g, "span"):
            g.span.set_attribute("http.status_code", response.status_code)
            g.span.set_attribute("http.response_size", len(response.get_data()))
            g.span.__exit__(None, None, None)
        return response

    def get_user(user_id):
        with tracer.trace("get_user_operation") as span:
            span.set_attribute("user.id", user_id)
            span.set_attribute("user.found", True)
            return {"user": {"id": user_id}}

    start_trace()
    body = json.dumps(get_user("42")).encode()
    end_trace(SimpleNamespace(status_code=200, get_data=lambda: body))
    assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN
    flushed(tracer)
    server, child = only(collector, "GET /users/42"), only(collector, "get_user_operation")
    assert child.parent_span_id == server.span_id
    assert server.attributes["http.status_code"] == 200
    assert server.attributes["http.response_size"] == len(body)


def test_fastapi_integration_example(collector: Collector) -> None:
    pytest.importorskip("fastapi", reason="FastAPI is not installed in this environment")
    from fastapi import FastAPI, Request
    from fastapi.testclient import TestClient

    app = FastAPI()
    tracer = HoneyHiveTracer.init(project="fastapi-app")

    @app.middleware("http")
    async def trace_requests(request: Request, call_next):
        start_time = time.time()
        with tracer.trace(f"{request.method} {request.url.path}") as span:
            span.set_attribute("http.method", request.method)
            span.set_attribute("http.url", str(request.url))
            span.set_attribute("http.user_agent", request.headers.get("user-agent", ""))
            response = await call_next(request)
            duration = time.time() - start_time
            span.set_attribute("http.status_code", response.status_code)
            span.set_attribute("http.duration", duration)
            return response

    @app.get("/users/{user_id}")
    async def get_user(user_id: str):
        with tracer.trace("get_user_async") as span:
            span.set_attribute("user.id", user_id)
            await asyncio.sleep(0.01)  # Simulate async database call (0.1 s in the reference)
            user_data = {"id": user_id, "name": "User Name"}
            span.set_attribute("user.found", True)
            return user_data

    with TestClient(app) as client:
        response = client.get("/users/42")
    assert response.json() == {"id": "42", "name": "User Name"}
    flushed(tracer)
    server, child = only(collector, "GET /users/42"), only(collector, "get_user_async")
    assert child.parent_span_id == server.span_id
    assert server.attributes["http.status_code"] == 200
    assert server.attributes["http.duration"] >= 0.01


def test_fastapi_integration_example_without_fastapi(collector: Collector) -> None:
    """The FastAPI middleware and endpoint, driven the way Starlette drives them (the endpoint
    runs in a task spawned by ``call_next``), with stand-ins for ``Request``/``Response``."""
    tracer = HoneyHiveTracer.init(project="fastapi-app")

    class URL:
        path = "/users/42"

        def __str__(self) -> str:
            return "http://testserver/users/42"

    async def trace_requests(request, call_next):
        start_time = time.time()
        with tracer.trace(f"{request.method} {request.url.path}") as span:
            span.set_attribute("http.method", request.method)
            span.set_attribute("http.url", str(request.url))
            span.set_attribute("http.user_agent", request.headers.get("user-agent", ""))
            response = await call_next(request)
            duration = time.time() - start_time
            span.set_attribute("http.status_code", response.status_code)
            span.set_attribute("http.duration", duration)
            return response

    async def get_user(user_id: str):
        with tracer.trace("get_user_async") as span:
            span.set_attribute("user.id", user_id)
            await asyncio.sleep(0.01)
            user_data = {"id": user_id, "name": "User Name"}
            span.set_attribute("user.found", True)
            return user_data

    async def call_next(request):
        body = await asyncio.create_task(get_user("42"))
        return SimpleNamespace(status_code=200, body=body)

    async def serve_two_requests_concurrently():
        request = SimpleNamespace(method="GET", url=URL(), headers={"user-agent": "ua"})
        return await asyncio.gather(
            trace_requests(request, call_next), trace_requests(request, call_next)
        )

    responses = asyncio.run(serve_two_requests_concurrently())
    assert [r.body["id"] for r in responses] == ["42", "42"]
    flushed(tracer)
    servers = {s.span_id: s for s in collector.spans_named("GET /users/42")}
    children = collector.spans_named("get_user_async")
    assert len(servers) == 2
    assert len(children) == 2
    assert {c.parent_span_id for c in children} == set(servers)  # one child per request
    for server in servers.values():
        assert server.attributes["http.status_code"] == 200
        assert server.attributes["http.url"] == "http://testserver/users/42"
        assert server.parent_span_id is None


def _django_standins(tracer: HoneyHiveTracer, base: type) -> tuple[type, Any]:
    """The Django middleware and view of the reference (``settings`` is passed in)."""

    class HoneyHiveMiddleware(base):  # type: ignore[misc, valid-type]
        def process_request(self, request):
            request.honeyhive_span = tracer.trace(f"{request.method} {request.path}")
            request.honeyhive_span.__enter__()
            request.honeyhive_span.set_attribute("http.method", request.method)
            request.honeyhive_span.set_attribute("http.path", request.path)
            request.honeyhive_span.set_attribute(
                "http.user_agent", request.META.get("HTTP_USER_AGENT", "")
            )

        def process_response(self, request, response):
            if hasattr(request, "honeyhive_span"):
                request.honeyhive_span.set_attribute("http.status_code", response.status_code)
                request.honeyhive_span.__exit__(None, None, None)
            return response

    def user_detail(request, user_id, settings=None, JsonResponse=None):
        with settings.HONEYHIVE_TRACER.trace("get_user_detail") as span:
            span.set_attribute("user.id", user_id)
            user_data = {"id": user_id, "name": "User Name"}
            span.set_attribute("user.found", True)
            return JsonResponse(user_data)

    return HoneyHiveMiddleware, user_detail


def test_django_integration_example_without_django(collector: Collector) -> None:
    """The Django middleware and view driven as Django drives them (process_request, view,
    process_response), with stand-ins for the request, the response and ``settings``."""
    tracer = HoneyHiveTracer.init(project="django-app")
    middleware_class, user_detail = _django_standins(tracer, object)
    middleware = middleware_class()
    settings = SimpleNamespace(HONEYHIVE_TRACER=tracer)

    def JsonResponse(data):
        return SimpleNamespace(status_code=200, content=json.dumps(data).encode())

    request = SimpleNamespace(
        method="GET", path="/users/42/", META={"HTTP_USER_AGENT": "pytest-agent"}
    )
    middleware.process_request(request)
    response = user_detail(request, "42", settings=settings, JsonResponse=JsonResponse)
    middleware.process_response(request, response)
    assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN
    flushed(tracer)
    server, child = only(collector, "GET /users/42/"), only(collector, "get_user_detail")
    assert child.parent_span_id == server.span_id
    assert server.attributes["http.status_code"] == 200
    assert server.attributes["http.user_agent"] == "pytest-agent"
    assert child.attributes["user.id"] == "42"


def test_django_integration_example(collector: Collector) -> None:
    pytest.importorskip("django", reason="Django is not installed in this environment")
    import types

    import django
    from django.conf import settings
    from django.http import JsonResponse
    from django.test import Client
    from django.urls import path
    from django.utils.deprecation import MiddlewareMixin

    tracer = HoneyHiveTracer.init(project="django-app")
    middleware_class, view = _django_standins(tracer, MiddlewareMixin)
    module = types.ModuleType("honeyhive_django_example")
    module.HoneyHiveMiddleware = middleware_class  # type: ignore[attr-defined]
    module.urlpatterns = [  # type: ignore[attr-defined]
        path(
            "users/<user_id>/",
            lambda request, user_id: view(
                request, user_id, settings=settings, JsonResponse=JsonResponse
            ),
        )
    ]
    sys.modules[module.__name__] = module
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="not-secret",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=module.__name__,
            MIDDLEWARE=[f"{module.__name__}.HoneyHiveMiddleware"],
        )
        django.setup()
    from django.test import override_settings

    # Django's settings are process-wide: other tests may have configured them first.
    example_settings = override_settings(
        ROOT_URLCONF=module.__name__,
        MIDDLEWARE=[f"{module.__name__}.HoneyHiveMiddleware"],
        ALLOWED_HOSTS=["testserver"],
        HONEYHIVE_TRACER=tracer,
    )
    try:
        with example_settings:
            response = Client().get("/users/42/", HTTP_USER_AGENT="pytest-agent")
    finally:
        sys.modules.pop(module.__name__, None)
    assert response.status_code == 200
    flushed(tracer)
    server, child = only(collector, "GET /users/42/"), only(collector, "get_user_detail")
    assert child.parent_span_id == server.span_id
    assert server.attributes["http.status_code"] == 200


# -- performance considerations ------------------------------------------------------------------


def test_sampling_example(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """``@trace(tracer=tracer if should_trace() else None)``.

    What a user observes differs from the example's comment ("Only 10% of calls will be
    traced"): ``should_trace()`` runs once, when the function is decorated, and ``tracer=None``
    means "no explicit tracer", i.e. the default tracer, exactly like a bare ``@trace``. So the
    function is traced on every call either way. This test pins that behaviour.
    """
    tracer = HoneyHiveTracer.init(project="your-project")

    def should_trace():
        return random.random() < 0.1  # 10% sampling

    for roll in (0.05, 0.95):
        monkeypatch.setattr(random, "random", lambda roll=roll: roll)

        @trace(tracer=tracer if should_trace() else None)
        def high_volume_operation():
            # Only 10% of calls will be traced
            pass

        for _ in range(3):
            high_volume_operation()
    flushed(tracer)
    assert len(collector.spans) == 6
    for span in collector.spans:
        assert_session_attributes(span, tracer)


def test_efficient_attribute_setting(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(project="your-project")
    user_id, user_tier, batch_size, priority = "u-1", "gold", 25, 2.5
    with tracer.trace("efficient_operation") as span:
        attributes = {
            "user.id": user_id,
            "user.tier": user_tier,
            "operation.type": "batch",
            "operation.size": batch_size,
            "operation.priority": priority,
        }
        for key, value in attributes.items():
            span.set_attribute(key, value)
    flushed(tracer)
    received = only(collector, "efficient_operation").attributes
    assert {k: received[k] for k in attributes} == attributes


# -- best practices ------------------------------------------------------------------------------


def test_naming_conventions(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(project="your-project")
    with tracer.trace("user.authentication.login"):
        pass
    with tracer.trace("payment.processing.stripe.charge"):
        pass
    with tracer.trace("llm.openai.completion.gpt4"):
        pass
    with tracer.trace("operation"):
        pass
    with tracer.trace("func1"):
        pass
    flushed(tracer)
    assert sorted(s.name for s in collector.spans) == sorted(
        [
            "user.authentication.login",
            "payment.processing.stripe.charge",
            "llm.openai.completion.gpt4",
            "operation",
            "func1",
        ]
    )
    # a span name never turns into an event type (no guessing from "llm"/"openai" in a name)
    assert not any("honeyhive_event_type" in s.attributes for s in collector.spans)


def test_consistent_attribute_patterns(collector: Collector) -> None:
    tracer = HoneyHiveTracer.init(project="your-project")
    user_id, user_email, user_tier = 7, "a@example.com", "gold"
    duration, success = 0.25, True
    with tracer.trace("user_operation") as span:
        span.set_attribute("user.id", user_id)
        span.set_attribute("user.email", user_email)
        span.set_attribute("user.tier", user_tier)
        span.set_attribute("operation.type", "user_update")
        span.set_attribute("operation.duration", duration)
        span.set_attribute("operation.success", success)
        span.set_attribute("resource.database", "users")
        span.set_attribute("resource.table", "user_profiles")
    flushed(tracer)
    attrs = only(collector, "user_operation").attributes
    # types survive the wire: int stays int, float float, bool bool
    assert attrs["user.id"] == 7
    assert type(attrs["user.id"]) is int
    assert attrs["operation.duration"] == 0.25
    assert type(attrs["operation.duration"]) is float
    assert attrs["operation.success"] is True
    assert attrs["resource.table"] == "user_profiles"


def test_resource_management_signal_and_atexit_handlers(collector: Collector) -> None:
    script = textwrap.dedent(
        """
        import atexit
        import os
        import signal
        import sys
        from honeyhive import HoneyHiveTracer

        tracer = HoneyHiveTracer.init(project="your-project", schedule_delay=60.0)

        def cleanup_handler(signum=None, frame=None):
            print("Shutting down, flushing traces...", flush=True)
            tracer.flush(timeout=10.0)
            tracer.close()
            if signum:
                sys.exit(0)

        atexit.register(cleanup_handler)
        signal.signal(signal.SIGINT, cleanup_handler)
        signal.signal(signal.SIGTERM, cleanup_handler)

        with tracer.trace("long_running_work"):
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # what a process manager does
        print("not reached")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_child_env(collector),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "not reached" not in done.stdout
    # the handler ran from the signal and again at exit; the second run is harmless
    assert done.stdout.count("Shutting down, flushing traces...") == 2
    assert "Traceback" not in done.stderr
    span = only(collector, "long_running_work")
    assert span.attributes["honeyhive.project"] == "your-project"

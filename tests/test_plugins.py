"""Exporters, processors and propagators are plug-ins found through entry points."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from honeyhive import HoneyHiveTracer, _plugins

from support.collector import Collector

MakeTracer = Callable[..., HoneyHiveTracer]


def test_builtins_are_registered_through_the_entry_point_groups() -> None:
    assert {"honeyhive", "otlp", "console"} <= set(_plugins.available("exporter"))
    assert {"tracecontext", "baggage"} <= set(_plugins.available("propagator"))
    assert "baggage" in _plugins.available("processor")


@pytest.fixture
def third_party(tmp_path: Path) -> Iterator[Path]:
    """A distribution on sys.path that declares plug-ins, as `pip install` would leave it."""
    package = tmp_path / "hh_thirdparty.py"
    package.write_text(
        textwrap.dedent(
            """
            import copy

            from opentelemetry.sdk.trace import SpanProcessor
            from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

            EXPORTED = []
            COPIED = []

            class Collecting(SpanExporter):
                def export(self, spans):
                    EXPORTED.extend(spans)
                    return SpanExportResult.SUCCESS

            class DeepCopying(SpanExporter):
                def export(self, spans):
                    COPIED.extend(copy.deepcopy(list(spans)))
                    return SpanExportResult.SUCCESS

            class Exiting(SpanExporter):
                # Its first export calls sys.exit, its second raises KeyboardInterrupt (a
                # plug-in wrapping a CLI tool, say); then it works.
                def __init__(self):
                    self.calls = 0

                def export(self, spans):
                    self.calls += 1
                    if self.calls == 1:
                        raise SystemExit(3)
                    if self.calls == 2:
                        raise KeyboardInterrupt
                    EXPORTED.extend(spans)
                    return SpanExportResult.SUCCESS

            def exiting(config):
                return Exiting()

            class ExitingAtShutdown(SpanExporter):
                def export(self, spans):
                    return SpanExportResult.SUCCESS

                def shutdown(self):
                    raise SystemExit(4)  # a plug-in that ends "its" process when closed

            def exiting_at_shutdown(config):
                return ExitingAtShutdown()

            class Tagging(SpanProcessor):
                def on_start(self, span, parent_context=None):
                    span.set_attribute("tagged.by", "third-party")

            class Exploding(SpanProcessor):
                def on_start(self, span, parent_context=None):
                    raise RuntimeError("processor bug")

                def on_end(self, span):
                    raise RuntimeError("processor bug")

            class ExitingProcessor(SpanProcessor):
                def on_end(self, span):
                    raise SystemExit(5)

                def shutdown(self):
                    raise SystemExit(6)

            def collecting(config):
                return Collecting()

            from opentelemetry import trace
            from opentelemetry.propagators.textmap import TextMapPropagator

            class SingleHeader(TextMapPropagator):
                # x-trace: <trace id>-<span id>, a stand-in for B3 single-header

                def extract(self, carrier, context=None, getter=None):
                    value = getter.get(carrier, "x-trace")
                    if not value:
                        return context
                    trace_id, span_id = value[0].split("-")
                    parent = trace.SpanContext(
                        int(trace_id, 16), int(span_id, 16), is_remote=True,
                        trace_flags=trace.TraceFlags(1),
                    )
                    return trace.set_span_in_context(trace.NonRecordingSpan(parent), context)

                def inject(self, carrier, context=None, setter=None):
                    pass

                @property
                def fields(self):
                    return {"x-trace"}

            def single_header(config):
                return SingleHeader()

            def deepcopying(config):
                return DeepCopying()

            def tagging(config):
                return Tagging()

            def exploding(config):
                return Exploding()

            def exiting_processor(config):
                return ExitingProcessor()

            def broken(config):
                raise RuntimeError("cannot start")

            def wrong_kind(config):
                return object()
            """
        )
    )
    dist = tmp_path / "hh_thirdparty-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hh-thirdparty\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [honeyhive.exporters]
            collecting = hh_thirdparty:collecting
            deepcopying = hh_thirdparty:deepcopying
            exiting = hh_thirdparty:exiting
            exiting_at_shutdown = hh_thirdparty:exiting_at_shutdown
            broken = hh_thirdparty:broken
            missing_module = hh_no_such_module:factory

            [honeyhive.propagators]
            single_header = hh_thirdparty:single_header

            [honeyhive.processors]
            tagging = hh_thirdparty:tagging
            exploding = hh_thirdparty:exploding
            exiting = hh_thirdparty:exiting_processor
            wrong_kind = hh_thirdparty:wrong_kind
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    _plugins._cache.clear()
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("hh_thirdparty", None)
    _plugins._cache.clear()


def test_a_third_party_exporter_and_processor_by_name(
    third_party: Path, make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(exporters=["honeyhive", "collecting"], processors=["tagging"])
    with tracer.trace("op"):
        pass
    assert tracer.flush(5)
    import hh_thirdparty

    (exported,) = hh_thirdparty.EXPORTED  # type: ignore[attr-defined]
    assert exported.attributes["tagged.by"] == "third-party"
    assert exported.attributes["honeyhive.session_id"] == tracer.session_id  # same pipeline
    (received,) = collector.wait_for_spans(1)
    assert received.attributes["tagged.by"] == "third-party"


def test_an_exporter_may_deep_copy_what_it_is_given(
    third_party: Path, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(exporters=["collecting", "deepcopying"], api_key="hh-test-key-123456")
    with tracer.trace("op", event_type="model") as span:
        span.set_attribute("note", "uses hh-test-key-123456")
    assert tracer.flush(5)
    import hh_thirdparty

    (copied,) = hh_thirdparty.COPIED  # type: ignore[attr-defined]
    assert copied.name == "op"
    assert copied.attributes["honeyhive.project"] == "test-project"  # the stamp, copied
    assert copied.attributes["honeyhive_event_type"] == "model"
    assert copied.attributes["note"] == "uses [REDACTED]"  # scrubbed, as exported
    assert copied.end_time is not None


def test_request_spans_continue_a_trace_a_plugin_propagator_reads(
    third_party: Path, make_tracer: MakeTracer, collector: Collector
) -> None:
    from honeyhive.http_server import RequestInfo, RequestTracer, ServerConfig

    tracer = make_tracer(propagators=["single_header"])
    server = RequestTracer(tracer, ServerConfig.from_settings(), "test")
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    info = RequestInfo(
        method="GET", path="/", scheme="http", headers=[("x-trace", f"{trace_id}-{span_id}")]
    )
    scope = server.start(info)
    assert scope is not None
    scope.finish()
    assert tracer.flush(5)
    (received,) = collector.wait_for_spans(1)
    assert (received.trace_id, received.parent_span_id) == (trace_id, span_id)


def test_a_raising_processor_is_isolated_and_the_span_still_delivered(
    third_party: Path, make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(processors=["exploding"])

    with pytest.raises(KeyError, match="the app's own error"), tracer.trace("op"):
        raise KeyError("the app's own error")
    assert tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    assert span.status_code == "ERROR"
    assert span.attributes["honeyhive_error_type"] == "KeyError"
    assert tracer.processor_errors == {"exploding": 2}  # on_start and on_end


def test_a_processor_that_calls_sys_exit_does_not_end_the_application(
    third_party: Path, make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(processors=["exiting"])
    with tracer.trace("op"):
        pass  # the processor's sys.exit in on_end stays in the SDK
    tracer.close()  # and in shutdown
    assert [s.name for s in collector.spans] == ["op"]
    assert tracer.processor_errors == {"exiting": 2}


def test_an_exporter_that_raises_systemexit_costs_its_batch_not_the_delivery_thread(
    third_party: Path, make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(exporters=["honeyhive", "exiting"])
    for name in ("exits", "interrupts", "works"):
        with tracer.trace(name):
            pass
        tracer.flush(5)  # one batch each
    import hh_thirdparty

    assert [s.name for s in hh_thirdparty.EXPORTED] == ["works"]  # type: ignore[attr-defined]
    assert tracer.dropped_by_exporter["exiting"]["internal_error"] == 2
    # The delivery thread lived on: every span reached the other exporter.
    assert sorted(s.name for s in collector.wait_for_spans(3)) == ["exits", "interrupts", "works"]


def test_an_exporter_that_calls_sys_exit_when_closed_does_not_end_the_caller(
    third_party: Path, make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(exporters=["exiting_at_shutdown", "honeyhive"], schedule_delay=30)
    with tracer.trace("last"):
        tracer.create_event("last-event")
    tracer.close()  # the caller's close() returns; the process is not ended by a plug-in
    assert tracer.closed
    assert [s.name for s in collector.spans] == ["last"]
    assert [e["event_name"] for e in collector.events] == ["last-event"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"exporters": ["nope"]}, "unknown exporter 'nope'"),
        ({"exporters": ["broken"]}, "exporter 'broken' failed to start"),
        ({"exporters": ["missing_module"]}, "failed to import"),
        ({"processors": ["wrong_kind"]}, "not a SpanProcessor"),
        ({"propagators": ["b3-not-installed"]}, "unknown propagator"),
        ({"processors": ["baggage"]}, "baggage_span_keys"),
    ],
)
def test_plugin_problems_are_clear_errors_at_init(
    third_party: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HoneyHiveTracer(test_mode=True, **settings)  # type: ignore[arg-type]


def test_otlp_exporter_honours_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, collector: Collector
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=llm,authorization=Bearer%20abc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    tracer = HoneyHiveTracer(exporters=["otlp"], project="p", schedule_delay=0.05)
    with tracer.trace("to-any-collector"):
        pass
    assert tracer.flush(5)
    tracer.close()
    (span,) = collector.wait_for_spans(1)
    assert span.path == "/v1/traces"
    assert span.encoding == "json"
    assert span.headers["x-team"] == "llm"
    assert span.headers["content-encoding"] == "gzip"
    assert span.attributes["honeyhive.project"] == "p"
    assert collector.sessions == []  # no HoneyHive API calls without the honeyhive exporter


def test_a_malformed_otlp_header_variable_never_shows_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "hh_SENTINEL_header_secret")
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_HEADERS") as error:
        HoneyHiveTracer(exporters=["otlp"], test_mode=True)
    assert "SENTINEL" not in str(error.value)


def test_baggage_processor_copies_chosen_keys(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(processors=["baggage"], baggage_span_keys=["tenant"])
    token = tracer.link({"baggage": "tenant=acme,other=x"})
    try:
        with tracer.trace("op"):
            pass
    finally:
        tracer.unlink(token)
    tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    assert span.attributes["baggage.tenant"] == "acme"
    assert "baggage.other" not in span.attributes


def test_several_exporters_at_once(
    make_tracer: MakeTracer, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    tracer = make_tracer(exporters=["honeyhive", "console"])
    with tracer.trace("both"):
        pass
    assert tracer.flush(5)
    assert collector.wait_for_spans(1)[0].name == "both"
    assert '"name":"both"' in capsys.readouterr().out

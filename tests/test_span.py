"""HoneyHiveSpan, the span trace()/@trace/start_span() make, behaves as the SDK's span does.

The equivalence tests run one script of span operations on an OpenTelemetry SDK span and on ours,
both over the same provider, and compare what OpenTelemetry's own OTLP encoder makes of them.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from honeyhive import HoneyHiveTracer, trace
from honeyhive._spans import HoneyHiveSpan, SpanFactory, set_clean

from support.collector import Collector


class Recorder(SpanProcessor):
    """Keeps what the processor hooks were given."""

    def __init__(self) -> None:
        self.started: list[Any] = []
        self.ended: list[ReadableSpan] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started.append(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _pair(
    limits: SpanLimits | None = None,
) -> tuple[Recorder, Callable[..., Any], Callable[..., Any]]:
    provider = TracerProvider(shutdown_on_exit=False, span_limits=limits)
    recorder = Recorder()
    provider.add_span_processor(recorder)
    scope = InstrumentationScope("t", "1")
    sdk = provider.get_tracer("t", "1")
    ours = SpanFactory(sdk, scope, limits or SpanLimits())
    return recorder, sdk.start_span, ours.start


def _proto(span: ReadableSpan) -> SpanProto:
    request = encode_spans([span])
    (proto,) = request.resource_spans[0].scope_spans[0].spans
    proto.trace_id = proto.span_id = proto.parent_span_id = b""
    proto.flags = 0
    return proto


LINKED = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1))


def _script(start: Callable[..., Any]) -> Any:
    span = start(
        "first",
        kind=SpanKind.CLIENT,
        attributes={"given": "at start", "n": 1},
        links=[Link(LINKED, {"why": "batch"}), None],
        start_time=1_000,
    )
    span.set_attribute("str", "value")
    span.set_attribute("list", ["a", "b"])
    span.set_attribute("bad", {"a": "dict"})  # the SDK drops invalid values with a warning
    span.set_attribute("none", None)
    span.set_attributes({"f": 1.5, "b": True, "long": "x" * 50, 7: "not a str key"})
    span.add_event("step", {"k": "v", "i": 2}, timestamp=2_000)
    span.add_link(LINKED, {"later": True})
    span.add_link(SpanContext(0, 0, False))  # invalid, no attributes: dropped by the SDK too
    span.update_name("renamed")
    span.set_status(StatusCode.ERROR, "first failure")
    span.set_status(Status(StatusCode.UNSET))  # never replaces a status
    span.set_status("OK")  # neither a Status nor a StatusCode: ignored
    try:
        raise ValueError("boom")
    except ValueError as exc:
        span.record_exception(exc, {"extra": "x"}, timestamp=3_000)
    span.end(end_time=4_000)
    # An ended span refuses every change.
    span.set_attribute("late", 1)
    span.add_event("late")
    span.set_status(StatusCode.OK)
    span.update_name("late")
    span.end(end_time=5_000)
    return span


def test_the_same_operations_export_the_same_otlp_as_the_sdk_span() -> None:
    recorder, sdk_start, ours_start = _pair(SpanLimits(max_span_attribute_length=20))
    sdk_span = _script(sdk_start)
    ours_span = _script(ours_start)
    assert isinstance(sdk_span, SdkSpan)
    assert type(ours_span) is HoneyHiveSpan
    assert len(recorder.ended) == 2  # ended once each, however often end() is called
    sdk_proto, ours_proto = (_proto(s) for s in recorder.ended)
    # The stack trace names the line that raised: the same line for both.
    assert ours_proto == sdk_proto
    assert ours_proto.name == "renamed"
    assert len(ours_proto.events) == 2
    assert dict(ours_span.attributes)["long"] == "x" * 20  # the span limits apply


def test_limits_and_drop_counts_match_the_sdk() -> None:
    limits = SpanLimits(max_span_attributes=3, max_events=2, max_links=1)
    recorder, sdk_start, ours_start = _pair(limits)
    for start in (sdk_start, ours_start):
        span = start("limited", links=[Link(LINKED), Link(LINKED)], start_time=1)
        for i in range(5):
            span.set_attribute(f"a{i}", i)
            span.add_event(f"e{i}", timestamp=10 + i)
        span.end(end_time=20)
    sdk_span, ours_span = recorder.ended
    for what in ("dropped_attributes", "dropped_events", "dropped_links"):
        assert getattr(ours_span, what) == getattr(sdk_span, what) > 0, what
    assert _proto(ours_span) == _proto(sdk_span)


def test_used_as_a_context_manager_an_exception_is_recorded_as_the_sdk_does() -> None:
    recorder, sdk_start, ours_start = _pair()
    for start in (sdk_start, ours_start):
        with pytest.raises(KeyError), start("cm", start_time=1) as span:
            raise KeyError("missing")
    sdk_proto, ours_proto = (_proto(s) for s in recorder.ended)
    for proto in (sdk_proto, ours_proto):
        proto.end_time_unix_nano = 0
        for event in proto.events:
            event.time_unix_nano = 0
    assert ours_proto == sdk_proto
    assert ours_proto.status.code == 2  # STATUS_CODE_ERROR
    assert not span.is_recording()


def test_a_span_reaches_every_processor_of_the_provider_even_one_added_later(
    make_tracer: Callable[..., HoneyHiveTracer], collector: Collector
) -> None:
    tracer = make_tracer()
    with tracer.trace("before"):
        pass
    late = Recorder()
    tracer.provider.add_span_processor(late)

    @trace(tracer=tracer, event_name="work")
    def work() -> int:
        return 1

    with tracer.trace("outer") as outer:
        work()
    assert [s.name for s in late.started] == ["outer", "work"]
    assert [s.name for s in late.ended] == ["work", "outer"]
    assert late.started[0] is outer
    assert tracer.flush(5.0)
    names = sorted(s.name for s in collector.spans)
    assert names == ["before", "outer", "work"]


def test_a_sampler_from_the_environment_is_honoured(
    make_tracer: Callable[..., HoneyHiveTracer],
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    tracer = make_tracer()
    with tracer.trace("unsampled") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid
        assert not span.get_span_context().trace_flags.sampled
    assert tracer.flush(5.0)
    assert collector.spans_named("unsampled") == []


def test_a_parent_that_was_not_sampled_is_respected_as_the_sdk_does(
    make_tracer: Callable[..., HoneyHiveTracer], collector: Collector
) -> None:
    tracer = make_tracer()
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    token = tracer.link({"traceparent": f"00-{trace_id}-b7ad6b7169203331-00"})
    try:
        with tracer.trace("child-of-unsampled") as span:
            assert not span.is_recording()
            assert format(span.get_span_context().trace_id, "032x") == trace_id
    finally:
        tracer.unlink(token)
    token = tracer.link({"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    try:
        with tracer.trace("child-of-sampled") as span:
            assert span.is_recording()
    finally:
        tracer.unlink(token)
    assert tracer.flush(5.0)
    assert collector.spans_named("child-of-unsampled") == []
    (sampled,) = collector.spans_named("child-of-sampled")
    assert sampled.trace_id == trace_id
    assert sampled.parent_span_id == "b7ad6b7169203331"


def test_trace_flags_and_trace_state_follow_the_sdk(
    make_tracer: Callable[..., HoneyHiveTracer],
) -> None:
    tracer = make_tracer()
    sdk = tracer.provider.get_tracer("other")
    with tracer.trace("ours-root") as ours_root:
        pass
    with sdk.start_as_current_span("sdk-root") as sdk_root:
        pass
    assert ours_root.get_span_context().trace_flags == sdk_root.get_span_context().trace_flags
    token = tracer.link(
        {
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "vendor=value",
        }
    )
    try:
        with tracer.trace("ours-child") as child:
            assert child.get_span_context().trace_state.get("vendor") == "value"
    finally:
        tracer.unlink(token)


def test_instrumentor_spans_under_ours_share_the_trace_and_the_tracer(
    make_tracer: Callable[..., HoneyHiveTracer], collector: Collector
) -> None:
    tracer = make_tracer()
    instrumentor = tracer.provider.get_tracer("openai-instrumentation")
    with tracer.trace("agent") as agent, instrumentor.start_as_current_span("chat") as chat:

        @trace(event_name="tool")
        def tool() -> None:
            pass

        tool()  # a bare @trace finds our tracer through the SDK span's provider
    assert isinstance(chat, SdkSpan)
    assert type(agent) is HoneyHiveSpan
    assert tracer.flush(5.0)
    by_name = {s.name: s for s in collector.spans}
    assert by_name["chat"].parent_span_id == by_name["agent"].span_id
    assert by_name["tool"].parent_span_id == by_name["chat"].span_id
    assert by_name["chat"].attributes["honeyhive.project"] == "test-project"


def test_changes_racing_with_end_never_raise_and_the_span_is_delivered_once(
    make_tracer: Callable[..., HoneyHiveTracer], collector: Collector
) -> None:
    tracer = make_tracer()
    errors: list[BaseException] = []
    spans: list[Any] = []
    for round_ in range(20):
        span = tracer.start_span(f"raced-{round_}")
        spans.append(span)
        go = threading.Barrier(5)

        def change(span: Any = span, go: threading.Barrier = go) -> None:
            try:
                go.wait()
                for i in range(200):
                    span.set_attribute(f"k{i % 50}", i)
                    span.add_event("e")
                    set_clean(span, {"clean": i})
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=change) for _ in range(4)]
        for thread in threads:
            thread.start()
        go.wait()
        span.end()
        for thread in threads:
            thread.join()
    assert errors == []
    assert tracer.flush(5.0)
    delivered = [s.name for s in collector.spans]
    assert sorted(delivered) == sorted(f"raced-{i}" for i in range(20))
    assert collector.duplicates == 0


def test_set_clean_on_our_span_stores_clean_values_and_leaves_others_to_the_sdk() -> None:
    _, _, ours_start = _pair(SpanLimits(max_span_attribute_length=5, max_span_attributes=4))
    span = ours_start("s")
    set_clean(span, {"s": "abc", "i": 1})
    set_clean(span, {"long": "x" * 10})  # too long: the SDK's rules truncate it
    assert dict(span.attributes) == {"s": "abc", "i": 1, "long": "xxxxx"}
    set_clean(span, {"a": 1, "b": 2})  # over the count limit: the SDK's rules drop one
    assert len(span.attributes) == 4
    assert span.dropped_attributes == 1
    span.end()
    set_clean(span, {"late": "x"})
    assert "late" not in span.attributes


def test_repr_names_the_span_and_nothing_else() -> None:
    _, _, ours_start = _pair()
    span = ours_start("op", attributes={"api_key": "hh-secret-value"})
    assert repr(span).startswith("HoneyHiveSpan(name='op', context=SpanContext(")
    assert "hh-secret-value" not in repr(span)


def test_a_provider_sampler_that_drops_gives_a_valid_non_recording_span() -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    recorder = Recorder()
    provider.add_span_processor(recorder)
    factory = SpanFactory(provider.get_tracer("t"), InstrumentationScope("t"), SpanLimits())
    span = factory.start("dropped")
    assert isinstance(span, trace_api.NonRecordingSpan)
    assert span.get_span_context().is_valid
    span.end()
    assert recorder.started == []
    assert recorder.ended == []


def test_a_processor_may_deep_copy_the_span_it_is_given() -> None:
    import copy

    recorder, sdk_start, ours_start = _pair()
    for start in (sdk_start, ours_start):
        span = start("copied", attributes={"k": "v"}, start_time=1)
        span.add_event("e", timestamp=2)
        span.end(end_time=3)
    try:
        sdk_copy = copy.deepcopy(recorder.ended[0])
    except TypeError:
        pytest.skip("this SDK's own ReadableSpan does not deep-copy either")
    ours_copy = copy.deepcopy(recorder.ended[1])
    assert type(ours_copy) is ReadableSpan
    assert _proto(ours_copy) == _proto(sdk_copy)


def test_nothing_is_recorded_when_the_sdk_is_disabled(
    make_tracer: Callable[..., HoneyHiveTracer],
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracer = make_tracer()

    @trace(tracer=tracer)
    def work() -> int:
        return 2

    with tracer.trace("disabled") as span:
        assert not span.is_recording()
        assert work() == 2
    assert not tracer.start_span("also-disabled").is_recording()
    assert tracer.flush(5.0)
    assert collector.spans == []

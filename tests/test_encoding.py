"""Tests for honeyhive._export._encoding: hand-written OTLP protobuf and JSON trace encoders.

The reference is OpenTelemetry's own encoder
(``opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans``): our protobuf
bytes must decode to the same ``ExportTraceServiceRequest``, and our OTLP/JSON must parse
(with a standard protobuf JSON parser) to that same message. Where we deliberately differ
(values the reference encoder drops or chokes on, and ``Link.trace_state`` which it leaves
empty) the tests assert our documented behaviour instead.
"""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from google.protobuf import json_format, text_format
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import NonRecordingSpan, TraceState

import honeyhive._export._encoding as encoding_module
from honeyhive._export import encode_json, encode_protobuf

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is optional
    st = None

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

REMOTE_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
REMOTE_SPAN_ID = 0xB7AD6B7169203331
REMOTE_STATE = TraceState([("vendor", "opaque-value"), ("rojo", "00f067aa0ba902b7")])


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _decode(data: bytes) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(data)


def _assert_same_message(
    ours: ExportTraceServiceRequest, expected: ExportTraceServiceRequest
) -> None:
    """Messages are equal, field presence included.

    ``==`` on messages holding NaN is always false, so compare the serialized bytes, and
    when those differ compare the text format, which shows a readable diff and treats all
    NaNs alike (OTLP/JSON's "NaN" cannot carry a NaN's payload bits).
    """
    if ours.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True):
        return
    assert text_format.MessageToString(ours) == text_format.MessageToString(expected)


def _iter_spans(message: ExportTraceServiceRequest) -> Iterator[Any]:
    for resource_spans in message.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            yield from scope_spans.spans


def _expected(spans: list[ReadableSpan]) -> ExportTraceServiceRequest:
    """OpenTelemetry's encoding plus what we intentionally add: ``Link.trace_state``."""
    expected = encode_spans(spans)
    by_id = {(s.context.trace_id, s.context.span_id): s for s in spans}
    for pb_span in _iter_spans(expected):
        sdk_span = by_id[
            (int.from_bytes(pb_span.trace_id, "big"), int.from_bytes(pb_span.span_id, "big"))
        ]
        for pb_link, link in zip(pb_span.links, sdk_span.links):
            pb_link.trace_state = link.context.trace_state.to_header()
    return expected


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; the generic protobuf JSON parser expects base64."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if isinstance(node, dict):
        converted = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId"):
                assert isinstance(value, str)
                assert value == value.lower()
                assert len(value) == (32 if key == "traceId" else 16)
                value = base64.b64encode(bytes.fromhex(value)).decode()
            converted[key] = _hex_ids_to_base64(value)
        return converted
    return node


def _reject_constant(token: str) -> Any:
    raise AssertionError(f"bare {token} is not JSON; OTLP/JSON writes it as a string")


def _parse_json(data: bytes) -> ExportTraceServiceRequest:
    assert isinstance(data, bytes)
    document = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    # Compact separators, nothing to strip.
    assert data == json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return json_format.Parse(json.dumps(_hex_ids_to_base64(document)), ExportTraceServiceRequest())


def _attributes(kvs: Any) -> dict[str, AnyValue]:
    return {kv.key: kv.value for kv in kvs}


def _provider(
    exporter: InMemorySpanExporter, resource: Resource, limits: SpanLimits | None = None
) -> TracerProvider:
    provider = TracerProvider(resource=resource, span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _remote_parent_context() -> otel_context.Context:
    parent = SpanContext(
        REMOTE_TRACE_ID,
        REMOTE_SPAN_ID,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=REMOTE_STATE,
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


ALL_TYPES: dict[str, Any] = {
    "str": "value",
    "str.empty": "",
    "str.unicode": 'héllo wörld ✓ 𝄞 日本語 \u0000 \n\t"quoted" \\',
    "bool.true": True,
    "bool.false": False,
    "int.zero": 0,
    "int.small": 127,
    "int.two_bytes": 128,
    "int.negative": -1,
    "int.max": INT64_MAX,
    "int.min": INT64_MIN,
    "float.zero": 0.0,
    "float.negative_zero": -0.0,
    "float.value": -1.5,
    "float.big": 1e300,
    "float.tiny": 5e-324,
    "float.nan": math.nan,
    "float.inf": math.inf,
    "float.ninf": -math.inf,
    "bytes": b"\x00\xff binary",
    "bytes.empty": b"",
    "none": None,
    "seq.str": ("a", "", "ü", "x" * 300),
    "seq.int": (1, -2, INT64_MAX, INT64_MIN),
    "seq.float": (0.5, math.inf, -0.0),
    "seq.bool": (True, False),
    "seq.empty": (),
    "seq.with_none": ("a", None, "b"),
    "seq.mixed": (1, "a", 2.5, True, b"\x01"),
    "seq.nested": ((1, 2), ("x",), ()),
    "map": {"k": "v", "n": 1, "nested": {"deep": (1, "x")}, "empty": {}},
    "map.empty": {},
    "long.value": "y" * 20_000,
    "k" * 200: "long key",
}


def _feature_spans() -> list[ReadableSpan]:
    """Real SDK spans exercising every field of the OTLP span model."""
    exporter = InMemorySpanExporter()
    resource_a = Resource.create(
        {"service.name": "svc-a", "deployment.environment": "test", "resource.list": ("x", "y")},
        schema_url="https://opentelemetry.io/schemas/1.21.0",
    )
    # Two distinct but equal Resource objects: grouped together, like OpenTelemetry does.
    resource_b1 = Resource({"service.name": "svc-b"})
    resource_b2 = Resource({"service.name": "svc-b"})
    resource_limited = Resource({"service.name": "svc-limited"})

    provider_a = _provider(exporter, resource_a)
    # Same Resource object; its tracers get their own (equal) InstrumentationScope objects.
    provider_a_again = _provider(exporter, resource_a)
    provider_b1 = _provider(exporter, resource_b1)
    provider_b2 = _provider(exporter, resource_b2)
    provider_limited = _provider(
        exporter,
        resource_limited,
        SpanLimits(
            max_span_attributes=2,
            max_events=1,
            max_links=1,
            max_event_attributes=1,
            max_link_attributes=1,
        ),
    )

    scope_attrs = {"scope.attr": "x", "scope.n": 3}
    tracer_one = provider_a.get_tracer("scope.one", "1.2.3", "https://example.com/s", scope_attrs)
    # Equal scope, different InstrumentationScope object: grouped together with tracer_one.
    tracer_one_again = provider_a_again.get_tracer(
        "scope.one", "1.2.3", "https://example.com/s", dict(scope_attrs)
    )
    tracer_two = provider_a.get_tracer("scope.two")
    tracer_b1 = provider_b1.get_tracer("scope.b", "0.1")
    tracer_b2 = provider_b2.get_tracer("scope.b", "0.1")
    tracer_limited = provider_limited.get_tracer("scope.limited")

    remote_link = SpanContext(
        REMOTE_TRACE_ID, 0x1111111111111111, is_remote=True, trace_state=REMOTE_STATE
    )
    with tracer_one.start_as_current_span(
        "server root", kind=SpanKind.SERVER, context=_remote_parent_context(), attributes=ALL_TYPES
    ) as root:
        root.add_event("event.plain")
        root.add_event(
            "event.attrs",
            {"e.str": "x", "e.int": 5, "e.seq": ("a", "b"), "e.nan": math.nan},
            timestamp=1_700_000_000_123_456_789,
        )
        root.add_event("", {})  # empty name
        with tracer_two.start_as_current_span(
            "client child",
            kind=SpanKind.CLIENT,
            links=[
                Link(root.get_span_context(), {"link.attr": "v", "link.n": 7}),
                Link(remote_link),
            ],
        ) as child:
            with tracer_one_again.start_as_current_span("internal grandchild") as grandchild:
                grandchild.set_status(Status(StatusCode.OK))
            with tracer_b1.start_as_current_span("producer", kind=SpanKind.PRODUCER) as producer:
                producer.set_status(Status(StatusCode.ERROR))
            child.set_status(Status(StatusCode.ERROR, "boom: something failed ✗"))
        with tracer_b2.start_as_current_span("consumer", kind=SpanKind.CONSUMER):
            pass
        with tracer_two.start_as_current_span(""):  # empty name
            pass
        root.set_attribute("late.attr", "set after creation")
    with tracer_limited.start_as_current_span(
        "limited",
        links=[  # the oldest links are dropped
            Link(root.get_span_context()),
            Link(remote_link, {"a": 1, "b": 2, "c": 3}),
        ],
        attributes={"a1": 1, "a2": 2, "a3": 3, "a4": 4},
    ) as limited:
        limited.add_event("e1")
        limited.add_event("e2")
        limited.add_event("e3", {"x": 1, "y": 2, "z": 3})  # the oldest events are dropped
    span = tracer_one.start_span("explicit times", start_time=1_000, kind=SpanKind.INTERNAL)
    span.end(end_time=2_000_000_000_000_000_000)

    spans = list(exporter.get_finished_spans())
    for provider in (provider_a, provider_a_again, provider_b1, provider_b2, provider_limited):
        provider.shutdown()
    return spans


@pytest.fixture(scope="module")
def feature_spans() -> list[ReadableSpan]:
    return _feature_spans()


# ---------------------------------------------------------------------------------------
# Protobuf
# ---------------------------------------------------------------------------------------


def test_feature_spans_cover_everything(feature_spans: list[ReadableSpan]) -> None:
    kinds = {span.kind for span in feature_spans}
    assert kinds == set(SpanKind)
    assert any(span.parent is not None and span.parent.is_remote for span in feature_spans)
    assert any(span.parent is not None and not span.parent.is_remote for span in feature_spans)
    assert any(span.parent is None for span in feature_spans)
    assert any(span.dropped_attributes for span in feature_spans)
    assert any(span.dropped_events for span in feature_spans)
    assert any(span.dropped_links for span in feature_spans)
    assert any(e.dropped_attributes for span in feature_spans for e in span.events)
    assert any(link.dropped_attributes for span in feature_spans for link in span.links)
    assert len({id(span.resource) for span in feature_spans}) == 4
    assert len({id(span.instrumentation_scope) for span in feature_spans}) == 6


def test_protobuf_matches_opentelemetry(feature_spans: list[ReadableSpan]) -> None:
    ours = _decode(encode_protobuf(feature_spans))
    _assert_same_message(ours, _expected(feature_spans))


def test_protobuf_grouping(feature_spans: list[ReadableSpan]) -> None:
    message = _decode(encode_protobuf(feature_spans))
    # svc-a, svc-b (two equal Resource objects), svc-limited.
    services = [
        _attributes(rs.resource.attributes)["service.name"].string_value
        for rs in message.resource_spans
    ]
    assert sorted(services) == ["svc-a", "svc-b", "svc-limited"]
    by_service = dict(zip(services, message.resource_spans))
    svc_a = by_service["svc-a"]
    assert svc_a.schema_url == "https://opentelemetry.io/schemas/1.21.0"
    scopes = {(ss.scope.name, ss.scope.version, ss.schema_url): ss for ss in svc_a.scope_spans}
    # The two equal "scope.one" scopes share one ScopeSpans.
    assert set(scopes) == {("scope.one", "1.2.3", "https://example.com/s"), ("scope.two", "", "")}
    one = scopes[("scope.one", "1.2.3", "https://example.com/s")]
    assert {span.name for span in one.spans} == {
        "server root",
        "internal grandchild",
        "explicit times",
    }
    assert _attributes(one.scope.attributes)["scope.n"].int_value == 3
    assert len(by_service["svc-b"].scope_spans) == 1
    assert len(by_service["svc-b"].scope_spans[0].spans) == 2


def test_protobuf_span_fields(feature_spans: list[ReadableSpan]) -> None:
    message = _decode(encode_protobuf(feature_spans))
    spans = {span.name: span for span in _iter_spans(message)}
    sdk = {span.name: span for span in feature_spans}

    root = spans["server root"]
    assert root.trace_id == REMOTE_TRACE_ID.to_bytes(16, "big")
    assert root.span_id == sdk["server root"].context.span_id.to_bytes(8, "big")
    assert root.parent_span_id == REMOTE_SPAN_ID.to_bytes(8, "big")
    assert root.trace_state == "vendor=opaque-value,rojo=00f067aa0ba902b7"
    assert root.flags == 0x300  # HAS_IS_REMOTE | IS_REMOTE, as OpenTelemetry's encoder sets
    assert root.kind == 2
    assert [event.name for event in root.events] == ["event.plain", "event.attrs", ""]
    assert root.events[1].time_unix_nano == 1_700_000_000_123_456_789
    assert root.status.code == 0
    attrs = _attributes(root.attributes)
    assert attrs["int.min"].int_value == INT64_MIN
    assert attrs["str.empty"].WhichOneof("value") == "string_value"
    assert attrs["none"].WhichOneof("value") is None
    assert attrs["bytes"].bytes_value == b"\x00\xff binary"
    assert math.isnan(attrs["float.nan"].double_value)
    assert attrs["float.ninf"].double_value == -math.inf
    assert [v.string_value for v in attrs["seq.str"].array_value.values] == [
        "a",
        "",
        "ü",
        "x" * 300,
    ]

    child = spans["client child"]
    assert child.flags == 0x100
    assert child.kind == 3
    assert child.status.code == 2
    assert child.status.message == "boom: something failed ✗"
    assert child.links[0].flags == 0x100
    assert child.links[1].flags == 0x300
    assert child.links[1].trace_state == "vendor=opaque-value,rojo=00f067aa0ba902b7"
    assert child.links[0].trace_state == root.trace_state  # inherited from the remote parent

    assert spans["internal grandchild"].kind == 1
    assert spans["internal grandchild"].status.code == 1
    assert spans["producer"].kind == 4
    assert spans["consumer"].kind == 5
    assert not spans["consumer"].HasField("status") or spans["consumer"].status.code == 0

    limited = spans["limited"]
    assert limited.dropped_attributes_count == 2
    assert limited.dropped_events_count == 2
    assert limited.dropped_links_count == 1
    assert limited.events[0].dropped_attributes_count == 2
    assert limited.links[0].dropped_attributes_count == 2

    explicit = spans["explicit times"]
    assert explicit.start_time_unix_nano == 1_000
    assert explicit.end_time_unix_nano == 2_000_000_000_000_000_000
    assert not explicit.parent_span_id


def test_protobuf_bytes_identical_to_opentelemetry() -> None:
    """Fields are written in field-number order with the same presence rules as
    OpenTelemetry's encoder, so for data it encodes the same way the bytes match exactly
    (protobuf serializers also write known fields in field-number order)."""
    exporter = InMemorySpanExporter()
    provider = _provider(exporter, Resource.create({"service.name": "bytes"}))
    tracer = provider.get_tracer("t", "1", "https://s", {"a": 1})
    with tracer.start_as_current_span(
        "a", attributes={"s": "x", "i": -3, "f": 1.5, "l": (1, 2)}
    ) as a:
        a.add_event("e", {"k": "v"})
        with tracer.start_as_current_span("b", links=[Link(a.get_span_context(), {"x": True})]):
            pass
    spans = list(exporter.get_finished_spans())
    assert encode_protobuf(spans) == encode_spans(spans).SerializeToString()


def test_empty_batch() -> None:
    assert encode_protobuf([]) == b""
    assert encode_json([]) == b"{}"
    assert _parse_json(encode_json([])) == ExportTraceServiceRequest()


def test_span_without_scope_or_status() -> None:
    context = SpanContext(1, 2, is_remote=False)
    span = ReadableSpan("bare", context=context, resource=Resource({}), status=None)  # type: ignore[arg-type]
    message = _decode(encode_protobuf([span]))
    (resource_spans,) = message.resource_spans
    assert resource_spans.HasField("resource")
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.HasField("scope")
    (pb_span,) = scope_spans.spans
    assert not pb_span.HasField("status")
    assert pb_span.start_time_unix_nano == 0
    _assert_same_message(_parse_json(encode_json([span])), message)


# ---------------------------------------------------------------------------------------
# Values OpenTelemetry's encoder drops or fails on: our documented behaviour
# ---------------------------------------------------------------------------------------


class _Stringy:
    def __str__(self) -> str:
        return "stringy!"


class _BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


class _BadMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "bad mapping"


def _self_referencing_list() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


def _deeply_nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return hex(value)


ODD_VALUES: dict[str, Any] = {
    "int.above": INT64_MAX + 1,
    "int.below": INT64_MIN - 1,
    "int.u64": 2**64,
    "int.huge": 10**5000,
    "seq.big_int": (1, 2**70),
    "surrogate.lone": "a\ud800b",
    "surrogate.pair": "\ud83d\ude00",
    "key.surrogate\udfff": "v",
    "bytearray": bytearray(b"\x01\x02"),
    "memoryview": memoryview(b"\x03"),
    "object": _Stringy(),
    "set": {1},
    "bad.str": _BadStr(),
    "bad.mapping": _BadMapping(),
    "self.ref": _self_referencing_list(),
    "deep": _deeply_nested(300),
    "map.odd.keys": {1: "one", None: "none", ("t",): "tuple", "ok": _Stringy()},
    "enum": StatusCode.ERROR,  # an Enum, not an int: str()
    "": "empty key",
}


def _odd_span(attributes: Mapping[Any, Any] | None = None) -> ReadableSpan:
    # Built directly, bypassing the SDK's attribute cleaning, as if odd values slipped in.
    return ReadableSpan(
        "odd \ud800 name",
        context=SpanContext(REMOTE_TRACE_ID, 0x42, is_remote=False),
        resource=Resource({"r": "x"}),
        attributes=ODD_VALUES if attributes is None else attributes,  # type: ignore[arg-type]
        events=[Event("event \udc00", {"e": "\udfff"}, timestamp=5)],
        instrumentation_scope=InstrumentationScope("odd"),
        status=Status(StatusCode.ERROR, "message \ud800"),
        start_time=1,
        end_time=2,
    )


def test_odd_values_never_raise_and_follow_documented_behaviour() -> None:
    message = _decode(encode_protobuf([_odd_span()]))
    (pb_span,) = _iter_spans(message)
    assert pb_span.name == "odd \ufffd name"
    assert pb_span.status.message == "message \ufffd"
    assert pb_span.events[0].name == "event \ufffd"
    assert pb_span.events[0].attributes[0].value.string_value == "\ufffd"
    attrs = _attributes(pb_span.attributes)
    assert set(attrs) == {key.replace("\udfff", "\ufffd") for key in ODD_VALUES}
    # Out-of-range ints become their decimal string.
    assert attrs["int.above"].string_value == str(INT64_MAX + 1)
    assert attrs["int.below"].string_value == str(INT64_MIN - 1)
    assert attrs["int.u64"].string_value == str(2**64)
    assert attrs["int.huge"].string_value == _int_text(10**5000)
    big = attrs["seq.big_int"].array_value.values
    assert big[0].int_value == 1
    assert big[1].string_value == str(2**70)
    # Lone surrogates become U+FFFD; a split-up surrogate pair is joined.
    assert attrs["surrogate.lone"].string_value == "a\ufffdb"
    assert attrs["surrogate.pair"].string_value == "\U0001f600"
    assert attrs["key.surrogate\ufffd"].string_value == "v"
    assert attrs["bytearray"].bytes_value == b"\x01\x02"
    assert attrs["memoryview"].bytes_value == b"\x03"
    # Anything else: str(), with fallbacks.
    assert attrs["object"].string_value == "stringy!"
    assert attrs["set"].string_value == "{1}"
    assert attrs["bad.str"].string_value == "<unprintable _BadStr>"
    assert attrs["bad.mapping"].string_value == "bad mapping"
    assert attrs["enum"].string_value == str(StatusCode.ERROR)
    assert attrs[""].string_value == "empty key"
    self_ref = attrs["self.ref"].array_value.values
    assert self_ref[0].int_value == 1
    assert self_ref[1].array_value.values[0].int_value == 1
    deep = attrs["deep"]
    depth = 0
    while deep.WhichOneof("value") == "array_value":
        deep = deep.array_value.values[0]
        depth += 1
    assert 0 < depth < 300
    assert deep.string_value.startswith("[[")
    odd_keys = _attributes(attrs["map.odd.keys"].kvlist_value.values)
    assert odd_keys["1"].string_value == "one"
    assert odd_keys["None"].string_value == "none"
    assert odd_keys["('t',)"].string_value == "tuple"
    assert odd_keys["ok"].string_value == "stringy!"


def test_odd_values_json_matches_protobuf() -> None:
    span = _odd_span()
    data = encode_json([span])
    data.decode("utf-8")  # valid UTF-8 despite the lone surrogates
    _assert_same_message(_parse_json(data), _decode(encode_protobuf([span])))


def test_odd_attribute_containers() -> None:
    class _Keyless(dict):  # type: ignore[type-arg]
        def copy(self) -> Any:
            raise RuntimeError("no copy")

    for attributes in (
        MappingProxyType({"a": 1}),
        _Keyless(a=1),
        _BadMapping(),
        {("tuple", "key"): 1, "a": 1},
    ):
        span = _odd_span(attributes)
        message = _decode(encode_protobuf([span]))
        _assert_same_message(_parse_json(encode_json([span])), message)
        (pb_span,) = _iter_spans(message)
        keys = [kv.key for kv in pb_span.attributes]
        assert keys == ([] if isinstance(attributes, _BadMapping) else list(map(str, attributes)))


def test_opentelemetry_drops_what_we_keep() -> None:
    """Sanity check of the premise: these attributes are lost by OpenTelemetry's encoder."""
    span = _odd_span({"ok": 1, "int.above": INT64_MAX + 1, "surrogate": "a\ud800"})
    span._name = "fine"  # OpenTelemetry's encoder raises on a lone surrogate in the name
    span._events = []
    span._status = Status(StatusCode.ERROR, "fine")
    (theirs,) = _iter_spans(encode_spans([span]))
    assert [kv.key for kv in theirs.attributes] == ["ok"]
    (ours,) = _iter_spans(_decode(encode_protobuf([span])))
    assert [kv.key for kv in ours.attributes] == ["ok", "int.above", "surrogate"]


# ---------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------


def test_json_parses_to_the_same_message(feature_spans: list[ReadableSpan]) -> None:
    parsed = _parse_json(encode_json(feature_spans))
    _assert_same_message(parsed, _decode(encode_protobuf(feature_spans)))
    _assert_same_message(parsed, _expected(feature_spans))


def test_json_conventions(feature_spans: list[ReadableSpan]) -> None:
    document = json.loads(encode_json(feature_spans))
    (resource_a,) = [
        rs
        for rs in document["resourceSpans"]
        if {"key": "service.name", "value": {"stringValue": "svc-a"}}
        in rs["resource"]["attributes"]
    ]
    assert resource_a["schemaUrl"] == "https://opentelemetry.io/schemas/1.21.0"
    spans = {
        span.get("name", ""): span
        for rs in document["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    }
    root = spans["server root"]
    assert root["traceId"] == f"{REMOTE_TRACE_ID:032x}"
    assert root["parentSpanId"] == f"{REMOTE_SPAN_ID:016x}"
    assert root["kind"] == 2
    assert root["flags"] == 0x300
    assert root["traceState"] == "vendor=opaque-value,rojo=00f067aa0ba902b7"
    assert isinstance(root["startTimeUnixNano"], str)
    assert root["events"][1]["timeUnixNano"] == "1700000000123456789"
    assert root["status"] == {}
    attrs = {kv.get("key", ""): kv["value"] for kv in root["attributes"]}
    assert attrs["int.max"] == {"intValue": str(INT64_MAX)}
    assert attrs["int.zero"] == {"intValue": "0"}
    assert attrs["float.nan"] == {"doubleValue": "NaN"}
    assert attrs["float.inf"] == {"doubleValue": "Infinity"}
    assert attrs["float.ninf"] == {"doubleValue": "-Infinity"}
    assert attrs["float.value"] == {"doubleValue": -1.5}
    assert attrs["bool.false"] == {"boolValue": False}
    assert attrs["str.empty"] == {"stringValue": ""}
    assert attrs["none"] == {}
    assert attrs["bytes"] == {"bytesValue": base64.b64encode(b"\x00\xff binary").decode()}
    assert attrs["seq.empty"] == {"arrayValue": {}}
    assert attrs["map.empty"] == {"kvlistValue": {}}
    assert attrs["seq.float"] == {
        "arrayValue": {
            "values": [{"doubleValue": 0.5}, {"doubleValue": "Infinity"}, {"doubleValue": -0.0}]
        }
    }
    child = spans["client child"]
    assert child["status"] == {"code": 2, "message": "boom: something failed ✗"}
    assert child["links"][1] == {
        "traceId": f"{REMOTE_TRACE_ID:032x}",
        "spanId": "1111111111111111",
        "traceState": "vendor=opaque-value,rojo=00f067aa0ba902b7",
        "flags": 0x300,
    }
    assert spans["limited"]["droppedAttributesCount"] == 2
    assert spans[""]["kind"] == 1
    assert "name" not in spans[""]
    assert "parentSpanId" not in spans["explicit times"]
    assert spans["explicit times"]["endTimeUnixNano"] == "2000000000000000000"


def test_json_is_utf8_not_escaped() -> None:
    span = _odd_span({"u": "日本"})
    assert "日本".encode() in encode_json([span])


def test_json_omits_empty_key() -> None:
    document = json.loads(encode_json([_odd_span({"": "empty key"})]))
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["attributes"] == [{"value": {"stringValue": "empty key"}}]


# ---------------------------------------------------------------------------------------
# Module hygiene
# ---------------------------------------------------------------------------------------


def test_does_not_import_protobuf() -> None:
    # Load the module file on its own (not through the honeyhive package, whose other
    # modules may legitimately import more) in a fresh interpreter.
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('_encoding_alone', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert module.__all__ == ['encode_json', 'encode_protobuf', 'split_request']\n"
        "prefixes = ('google', 'opentelemetry.proto', 'opentelemetry.exporter')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(prefixes))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, encoding_module.__file__],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == ""


# ---------------------------------------------------------------------------------------
# Property tests (hypothesis is optional)
# ---------------------------------------------------------------------------------------

if st is not None:
    _scalars = (
        st.none()
        | st.booleans()
        | st.integers(INT64_MIN, INT64_MAX)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text()
        | st.binary()
    )
    _values = st.recursive(
        _scalars,
        lambda children: (
            st.lists(children, max_size=4).map(tuple)
            | st.dictionaries(st.text(), children, max_size=4)
        ),
        max_leaves=12,
    )
    _attribute_dicts = st.dictionaries(st.text(), _values, max_size=8)

    def _property_span(
        attributes: dict[str, Any], event_attributes: dict[str, Any]
    ) -> ReadableSpan:
        return ReadableSpan(
            "prop",
            context=SpanContext(REMOTE_TRACE_ID, 7, is_remote=False),
            parent=SpanContext(REMOTE_TRACE_ID, 8, is_remote=True),
            resource=Resource({"service.name": "prop"}),
            attributes=attributes,
            events=[Event("e", event_attributes, timestamp=3)],
            links=[Link(SpanContext(1, 2, is_remote=False), event_attributes)],
            instrumentation_scope=InstrumentationScope("p", "1", None, attributes),
            start_time=1,
            end_time=2,
        )

    @settings(
        max_examples=300,
        deadline=None,
        database=None,  # keep no example database between runs
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(attributes=_attribute_dicts, event_attributes=_attribute_dicts)
    def test_property_matches_opentelemetry(
        attributes: dict[str, Any], event_attributes: dict[str, Any]
    ) -> None:
        spans = [_property_span(attributes, event_attributes)]
        ours = _decode(encode_protobuf(spans))
        _assert_same_message(ours, encode_spans(spans))
        _assert_same_message(_parse_json(encode_json(spans)), ours)

    _anything = st.recursive(
        _scalars
        | st.integers()
        | st.lists(st.characters() | st.sampled_from(["\ud800", "\udbff", "\udc00"])).map(
            "".join
        )  # lone surrogates and split-up surrogate pairs
        | st.builds(bytearray, st.binary())
        | st.builds(object)
        | st.sets(st.integers(), max_size=3),
        lambda children: (
            st.lists(children, max_size=4)
            | st.lists(children, max_size=4).map(tuple)
            | st.dictionaries(st.integers() | st.text() | st.none(), children, max_size=4)
        ),
        max_leaves=12,
    )

    @settings(
        max_examples=300,
        deadline=None,
        database=None,  # keep no example database between runs
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.dictionaries(st.text() | st.integers(), _anything, max_size=8))
    def test_property_never_raises(attributes: dict[Any, Any]) -> None:
        span = _odd_span(attributes)
        message = _decode(encode_protobuf([span]))
        data = encode_json([span])
        data.decode("utf-8")
        _assert_same_message(_parse_json(data), message)

else:  # pragma: no cover

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_property_matches_opentelemetry() -> None:
        pass

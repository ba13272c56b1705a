"""Tests for the loopback HoneyHive collector in tests/support/collector.py, driven by real
clients: OpenTelemetry's OTLP/HTTP exporter, httpx and raw sockets."""

from __future__ import annotations

import gzip
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, StatusCode

from support.collector import Collector, ReceivedSpan

TIMEOUT = httpx.Timeout(3.0)
PROTOBUF = {"content-type": "application/x-protobuf"}
TRACE_ID = "5b8efff798038103d269b633813fc60c"
ROOT_ID = "eee19b7ec3c1b174"
CHILD_ID = "eee19b7ec3c1b173"
LINKED_TRACE = "0af7651916cd43dd8448eb211c80319c"
LINKED_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c
    assert c.errors == []


@pytest.fixture
def client(collector: Collector) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=collector.url, timeout=TIMEOUT) as c:
        yield c


def _provider(collector: Collector, **exporter_kwargs: Any) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "collector-test"}))
    exporter = OTLPSpanExporter(endpoint=collector.url + "/v1/traces", timeout=5, **exporter_kwargs)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


# -- hand-built OTLP payloads: the same two spans as protobuf and as OTLP/JSON ------------------


def _kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def _proto_request() -> ExportTraceServiceRequest:
    attrs = [
        _kv("str", AnyValue(string_value="hello")),
        _kv("bool", AnyValue(bool_value=True)),
        _kv("int", AnyValue(int_value=9007199254740993)),  # > 2**53: must stay exact
        _kv("float", AnyValue(double_value=1.5)),
        _kv(
            "list",
            AnyValue(
                array_value=ArrayValue(values=[AnyValue(string_value="a"), AnyValue(int_value=2)])
            ),
        ),
        _kv(
            "map",
            AnyValue(kvlist_value=KeyValueList(values=[_kv("inner", AnyValue(bool_value=False))])),
        ),
        _kv("bytes", AnyValue(bytes_value=b"\x00\x01\xff")),
    ]
    root = Span(
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(ROOT_ID),
        name="root",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_500_000_000,
        attributes=attrs,
        events=[
            Span.Event(
                name="exception",
                time_unix_nano=1_700_000_000_100_000_000,
                attributes=[_kv("exception.type", AnyValue(string_value="ValueError"))],
            )
        ],
        links=[
            Span.Link(
                trace_id=bytes.fromhex(LINKED_TRACE),
                span_id=bytes.fromhex(LINKED_SPAN),
                attributes=[_kv("why", AnyValue(string_value="retry"))],
            )
        ],
        status=Status(code=Status.STATUS_CODE_ERROR, message="boom"),
    )
    child = Span(
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(CHILD_ID),
        parent_span_id=bytes.fromhex(ROOT_ID),
        name="child",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1_700_000_000_200_000_000,
        end_time_unix_nano=1_700_000_000_300_000_000,
    )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=PbResource(attributes=[_kv("service.name", AnyValue(string_value="svc"))]),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name="my.scope", version="1.2.3"),
                        spans=[root, child],
                    )
                ],
            )
        ]
    )


def _json_request() -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "my.scope", "version": "1.2.3"},
                        "spans": [
                            {
                                "traceId": TRACE_ID.upper(),  # hex is case-insensitive
                                "spanId": ROOT_ID,
                                "parentSpanId": "",
                                "name": "root",
                                "kind": 2,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": 1700000000500000000,
                                "attributes": [
                                    {"key": "str", "value": {"stringValue": "hello"}},
                                    {"key": "bool", "value": {"boolValue": True}},
                                    {"key": "int", "value": {"intValue": "9007199254740993"}},
                                    {"key": "float", "value": {"doubleValue": 1.5}},
                                    {
                                        "key": "list",
                                        "value": {
                                            "arrayValue": {
                                                "values": [
                                                    {"stringValue": "a"},
                                                    {"intValue": 2},
                                                ]
                                            }
                                        },
                                    },
                                    {
                                        "key": "map",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [
                                                    {
                                                        "key": "inner",
                                                        "value": {"boolValue": False},
                                                    }
                                                ]
                                            }
                                        },
                                    },
                                    {"key": "bytes", "value": {"bytesValue": "AAH/"}},
                                ],
                                "events": [
                                    {
                                        "name": "exception",
                                        "timeUnixNano": "1700000000100000000",
                                        "attributes": [
                                            {
                                                "key": "exception.type",
                                                "value": {"stringValue": "ValueError"},
                                            }
                                        ],
                                    }
                                ],
                                "links": [
                                    {
                                        "traceId": LINKED_TRACE,
                                        "spanId": LINKED_SPAN,
                                        "attributes": [
                                            {"key": "why", "value": {"stringValue": "retry"}}
                                        ],
                                    }
                                ],
                                "status": {"code": 2, "message": "boom"},
                                "someFutureField": {"ignored": True},
                            },
                            {
                                "traceId": TRACE_ID,
                                "spanId": CHILD_ID,
                                "parentSpanId": ROOT_ID,
                                "name": "child",
                                "kind": 3,
                                "startTimeUnixNano": "1700000000200000000",
                                "endTimeUnixNano": "1700000000300000000",
                            },
                        ],
                    }
                ],
            }
        ]
    }


def _send_one_span(
    client: httpx.Client, name: str = "probe", timeout: float = 3.0
) -> httpx.Response:
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            Span(
                                trace_id=bytes.fromhex(TRACE_ID),
                                span_id=bytes.fromhex(ROOT_ID),
                                name=name,
                            )
                        ]
                    )
                ]
            )
        ]
    )
    body = request.SerializeToString()
    return client.post("/v1/traces", content=body, headers=PROTOBUF, timeout=timeout)


# -- OTLP ----------------------------------------------------------------------------------------


def test_otel_exporter_protobuf_round_trip(collector: Collector) -> None:
    provider = _provider(collector)
    tracer = provider.get_tracer("test.scope", "0.1")
    linked = tracer.start_span("linked")
    linked.end()
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("s", "x")
        parent.set_attribute("b", True)
        parent.set_attribute("i", 7)
        parent.set_attribute("f", 0.25)
        parent.set_attribute("seq", ["a", "b"])
        parent.add_event("checkpoint", {"n": 1})
        with tracer.start_as_current_span(
            "child", links=[Link(linked.get_span_context(), {"k": "v"})]
        ) as child:
            child.set_status(StatusCode.ERROR, "bad thing")
    provider.shutdown()

    spans = collector.wait_for_spans(3)
    assert len(spans) == 3
    by_name = {s.name: s for s in spans}
    parent_span, child_span = by_name["parent"], by_name["child"]
    ctx = parent.get_span_context()
    assert parent_span.trace_id == f"{ctx.trace_id:032x}"
    assert parent_span.span_id == f"{ctx.span_id:016x}"
    assert parent_span.parent_span_id is None
    assert parent_span.kind == "SERVER"
    assert parent_span.attributes == {"s": "x", "b": True, "i": 7, "f": 0.25, "seq": ["a", "b"]}
    assert [(e.name, e.attributes) for e in parent_span.events] == [("checkpoint", {"n": 1})]
    assert parent_span.end_time_unix_nano > parent_span.start_time_unix_nano > 0
    assert parent_span.resource["service.name"] == "collector-test"
    assert (parent_span.scope_name, parent_span.scope_version) == ("test.scope", "0.1")
    assert parent_span.encoding == "protobuf"
    assert parent_span.path == "/v1/traces"
    assert parent_span.headers["content-type"] == "application/x-protobuf"

    assert child_span.parent_span_id == parent_span.span_id
    assert child_span.trace_id == parent_span.trace_id
    assert child_span.kind == "INTERNAL"
    assert (child_span.status_code, child_span.status_message) == ("ERROR", "bad thing")
    linked_ctx = linked.get_span_context()
    assert [(lk.trace_id, lk.span_id, lk.attributes) for lk in child_span.links] == [
        (f"{linked_ctx.trace_id:032x}", f"{linked_ctx.span_id:016x}", {"k": "v"})
    ]
    assert collector.duplicates == 0
    assert collector.spans_named("child") == [child_span]

    tree = collector.span_tree()
    parent_line = next(line for line in tree.splitlines() if "parent [SERVER]" in line)
    child_line = next(line for line in tree.splitlines() if "child [INTERNAL]" in line)
    indent = len(parent_line) - len(parent_line.lstrip())
    assert len(child_line) - len(child_line.lstrip()) == indent + 2
    assert "ERROR: bad thing" in child_line


def test_otel_exporter_gzip(collector: Collector) -> None:
    provider = _provider(collector, compression=Compression.Gzip)
    with provider.get_tracer("t").start_as_current_span("zipped"):
        pass
    provider.shutdown()
    (span,) = collector.wait_for_spans(1)
    assert span.name == "zipped"
    assert span.headers["content-encoding"] == "gzip"
    assert collector.requests[0].body[:2] == b"\x1f\x8b"  # the raw, compressed body


def test_json_and_protobuf_decode_identically(collector: Collector, client: httpx.Client) -> None:
    r1 = client.post(
        "/opentelemetry/v1/traces",
        content=_proto_request().SerializeToString(),
        headers=PROTOBUF,
    )
    assert r1.status_code == 200
    assert r1.headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(r1.content) == ExportTraceServiceResponse()

    r2 = client.post(
        "/v1/traces",
        content=gzip.compress(json.dumps(_json_request()).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert r2.status_code == 200, r2.text
    assert r2.headers["content-type"] == "application/json"
    assert r2.json() == {}

    spans = collector.wait_for_spans(4)
    from_proto, from_json = spans[:2], spans[2:]
    assert [s.encoding for s in spans] == ["protobuf", "protobuf", "json", "json"]
    assert [s.path for s in spans] == ["/opentelemetry/v1/traces"] * 2 + ["/v1/traces"] * 2
    assert from_proto == from_json

    root, child = from_json
    assert root.trace_id == TRACE_ID
    assert root.parent_span_id is None
    assert child.parent_span_id == ROOT_ID
    assert (root.kind, child.kind) == ("SERVER", "CLIENT")
    assert root.attributes == {
        "str": "hello",
        "bool": True,
        "int": 9007199254740993,
        "float": 1.5,
        "list": ["a", 2],
        "map": {"inner": False},
        "bytes": b"\x00\x01\xff",
    }
    assert root.start_time_unix_nano == 1_700_000_000_000_000_000
    assert (root.status_code, root.status_message) == ("ERROR", "boom")
    assert root.events[0].time_unix_nano == 1_700_000_000_100_000_000
    assert root.links[0].trace_id == LINKED_TRACE
    assert root.resource == {"service.name": "svc"}
    assert (root.scope_name, root.scope_version) == ("my.scope", "1.2.3")
    # the same spans twice: both counted as duplicates
    assert collector.duplicates == 2
    assert "(received 2x)" in collector.span_tree()


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (PROTOBUF, b"not a protobuf", 400),
        ({"content-type": "application/json"}, b'{"resourceSpans": [', 400),
        ({"content-type": "application/json"}, b"[]", 400),
        ({"content-type": "application/json"}, b'{"resourceSpans": 5}', 400),
        (
            {"content-type": "application/json"},
            json.dumps(
                {
                    "resourceSpans": [
                        {"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "aa"}]}]}
                    ]
                }
            ).encode(),
            400,
        ),
        (
            {"content-type": "application/json"},  # a trace id of the wrong length
            json.dumps(
                {
                    "resourceSpans": [
                        {"scopeSpans": [{"spans": [{"traceId": "ab", "spanId": ROOT_ID}]}]}
                    ]
                }
            ).encode(),
            400,
        ),
        ({**PROTOBUF, "content-encoding": "gzip"}, b"not gzip", 400),
        ({**PROTOBUF, "content-encoding": "br"}, b"", 415),
        ({"content-type": "text/plain"}, b"hi", 415),
    ],
)
def test_malformed_trace_exports_are_rejected(
    collector: Collector, client: httpx.Client, headers: dict[str, str], body: bytes, status: int
) -> None:
    response = client.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == status
    assert response.text.strip()  # a message saying what was wrong
    assert collector.spans == []
    assert [r.response_status for r in collector.requests] == [status]


def test_protobuf_span_without_ids_is_rejected(collector: Collector, client: httpx.Client) -> None:
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[Span(name="no ids")])])]
    ).SerializeToString()
    response = client.post("/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 400
    assert "traceId" in response.text
    assert collector.spans == []


def test_unknown_path_and_wrong_method(collector: Collector, client: httpx.Client) -> None:
    assert client.post("/v2/nothing", json={}).status_code == 404
    assert client.get("/events").status_code == 405
    assert [(r.method, r.path) for r in collector.requests] == [
        ("POST", "/v2/nothing"),
        ("GET", "/events"),
    ]


# -- HoneyHive JSON endpoints --------------------------------------------------------------------


def test_sessions_and_events(collector: Collector, client: httpx.Client) -> None:
    r = client.post("/session/start", json={"session": {"session_name": "s", "source": "t"}})
    assert r.status_code == 200
    generated = r.json()["session_id"]
    assert len(generated) == 36
    r = client.post(
        "/session/start",
        json={
            "session": {
                "session_name": "s2",
                "source": "t",
                "session_id": "sess-1",
                "project": "p",
                "inputs": {"q": 1},
                "metadata": {"m": True},
            }
        },
    )
    assert r.json() == {"session_id": "sess-1"}

    r = client.post("/events", json={"event": {"event_type": "model", "event_id": "ev-1"}})
    assert r.json() == {"success": True, "event_id": "ev-1"}
    r = client.post("/events", json={"event": {"event_type": "tool"}})
    assert r.json()["success"] is True
    assert len(r.json()["event_id"]) == 36

    r = client.put("/events", json={"event_id": "ev-1", "feedback": {"rating": 5}, "duration": 3})
    assert r.json() == {"success": True}

    assert collector.sessions == [
        {"session_name": "s", "source": "t"},
        {
            "session_name": "s2",
            "source": "t",
            "session_id": "sess-1",
            "project": "p",
            "inputs": {"q": 1},
            "metadata": {"m": True},
        },
    ]
    assert collector.events == [{"event_type": "model", "event_id": "ev-1"}, {"event_type": "tool"}]
    assert collector.event_updates == [
        {"event_id": "ev-1", "feedback": {"rating": 5}, "duration": 3}
    ]
    # accessors hand out copies
    collector.sessions[0]["session_name"] = "mutated"
    assert collector.sessions[0]["session_name"] == "s"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/session/start", {"json": {"session": {"source": "t"}}}, 400),
        ("POST", "/session/start", {"json": {"nope": 1}}, 400),
        (
            "POST",
            "/session/start",
            {"content": b"{oops", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("POST", "/events", {"json": {"event": "x"}}, 400),
        ("PUT", "/events", {"json": {"metadata": {}}}, 400),
        ("POST", "/events", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415),
    ],
)
def test_invalid_json_requests(
    collector: Collector,
    client: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    assert client.request(method, path, **kwargs).status_code == status
    assert (collector.sessions, collector.events, collector.event_updates) == ([], [], [])


@pytest.fixture
def secured() -> Iterator[Collector]:
    with Collector(api_key="secret") as c:
        yield c


def test_api_key_is_enforced(secured: Collector) -> None:
    collector = secured
    with httpx.Client(base_url=collector.url, timeout=TIMEOUT) as client:
        body = {"session": {"session_name": "s", "source": "t"}}
        missing = client.post("/session/start", json=body)
        wrong = client.post("/session/start", json=body, headers={"authorization": "Bearer nope"})
        no_spans = _send_one_span(client)
        assert (missing.status_code, wrong.status_code, no_spans.status_code) == (401, 401, 401)
        assert missing.headers["www-authenticate"] == "Bearer"
        assert collector.sessions == []
        assert collector.spans == []

        ok = client.post("/session/start", json=body, headers={"authorization": "Bearer secret"})
        assert ok.status_code == 200
        assert len(collector.sessions) == 1
        assert [r.response_status for r in collector.requests] == [401, 401, 401, 200]
        assert collector.requests[3].headers["authorization"] == "Bearer secret"


# -- faults --------------------------------------------------------------------------------------


def test_fault_status_with_retry_after(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("status", status=503, retry_after="10")
    response = _send_one_span(client)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    collector.set_fault("status", status=429, retry_after=date)
    response = client.post("/events", json={"event": {}})
    assert (response.status_code, response.headers["retry-after"]) == (429, date)
    collector.set_fault("status", status=500)
    assert client.post("/session/start", json={}).status_code == 500
    assert collector.spans == []
    assert collector.events == []
    assert [(r.fault, r.response_status) for r in collector.requests] == [
        ("status", 503),
        ("status", 429),
        ("status", 500),
    ]

    collector.clear_fault()
    assert _send_one_span(client).status_code == 200
    assert len(collector.spans) == 1


def test_fault_count_then_clears_itself(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("status", status=502, count=2)
    codes = [_send_one_span(client).status_code for _ in range(3)]
    assert codes == [502, 502, 200]
    assert collector.active_fault is None
    assert len(collector.spans) == 1


def test_otel_exporter_retries_through_a_transient_503(collector: Collector) -> None:
    collector.set_fault("status", status=503, retry_after="0", count=1)
    provider = _provider(collector)
    with provider.get_tracer("t").start_as_current_span("retried"):
        pass
    provider.shutdown()
    assert [s.name for s in collector.wait_for_spans(1)] == ["retried"]
    assert [r.response_status for r in collector.requests] == [503, 200]
    assert collector.duplicates == 0


def test_fault_hang_is_released_by_clear_fault(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("hang")
    with ThreadPoolExecutor(1) as pool:
        start = time.monotonic()
        pending: Future[httpx.Response] = pool.submit(_send_one_span, client)
        collector.wait_for(lambda c: len(c.requests) == 1, timeout=2)
        time.sleep(0.2)
        assert not pending.done()  # still hanging
        collector.clear_fault()
        with pytest.raises(httpx.RemoteProtocolError):
            pending.result(timeout=2)
    assert time.monotonic() - start < 2
    assert collector.spans == []
    (request,) = collector.requests
    assert (request.fault, request.response_status) == ("hang", None)
    assert request.body  # the request was read
    assert _send_one_span(client).status_code == 200


def test_fault_hang_for_seconds_then_client_timeout(
    collector: Collector, client: httpx.Client
) -> None:
    collector.set_fault("hang", seconds=0.3)
    start = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        _send_one_span(client)
    assert 0.25 < time.monotonic() - start < 2
    collector.set_fault("hang")
    with pytest.raises(httpx.ReadTimeout):
        _send_one_span(client, timeout=0.3)
    assert collector.spans == []


def test_stop_does_not_hang_on_a_hung_request(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("hang")
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_send_one_span, client)
        collector.wait_for(lambda c: len(c.requests) == 1, timeout=2)
        start = time.monotonic()
        collector.stop()
        assert time.monotonic() - start < 1.5
        with pytest.raises(httpx.TransportError):
            pending.result(timeout=2)


def test_fault_reset(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("reset")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        _send_one_span(client)
    assert collector.spans == []
    assert [(r.fault, r.response_status) for r in collector.requests] == [("reset", None)]
    collector.clear_fault()
    assert _send_one_span(client).status_code == 200


def test_fault_down_refuses_connections_and_comes_back_on_the_same_port(
    collector: Collector, client: httpx.Client
) -> None:
    port, url = collector.port, collector.url
    assert _send_one_span(client).status_code == 200  # a keep-alive connection exists now
    collector.set_fault("down")
    with pytest.raises(httpx.ConnectError):
        _send_one_span(client)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    collector.clear_fault()
    assert (collector.port, collector.url) == (port, url)
    assert _send_one_span(client, "after").status_code == 200
    assert [s.name for s in collector.spans] == ["probe", "after"]


def test_fault_too_large(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("too_large", max_bytes=100)
    assert _send_one_span(client, "small").status_code == 200
    big = _send_one_span(client, "x" * 200)
    assert big.status_code == 413
    assert [s.name for s in collector.spans] == ["small"]


def test_fault_slow(collector: Collector, client: httpx.Client) -> None:
    collector.set_fault("slow", seconds=0.3)
    start = time.monotonic()
    assert _send_one_span(client).status_code == 200
    assert time.monotonic() - start >= 0.3
    assert len(collector.spans) == 1
    with pytest.raises(httpx.ReadTimeout):
        _send_one_span(client, timeout=0.1)


def test_set_fault_validates_its_arguments(collector: Collector) -> None:
    with pytest.raises(ValueError, match="unknown fault mode"):
        collector.set_fault("explode")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="missing"):
        collector.set_fault("status")
    with pytest.raises(TypeError, match="unknown"):
        collector.set_fault("reset", seconds=1)
    with pytest.raises(ValueError, match="count"):
        collector.set_fault("down", count=1)
    assert collector.active_fault is None


# -- waiting and reporting -----------------------------------------------------------------------


def test_wait_for_spans_reports_what_arrived(collector: Collector, client: httpx.Client) -> None:
    _send_one_span(client, "only-one")
    start = time.monotonic()
    with pytest.raises(AssertionError) as excinfo:
        collector.wait_for_spans(2, timeout=0.2)
    assert time.monotonic() - start < 1
    message = str(excinfo.value)
    assert "expected at least 2 span(s)" in message
    assert "only-one" in message
    assert "POST /v1/traces -> 200" in message


def test_wait_for_wakes_up_when_data_arrives(collector: Collector, client: httpx.Client) -> None:
    def later() -> None:
        time.sleep(0.1)
        client.post("/events", json={"event": {"event_id": "late"}})

    thread = threading.Thread(target=later)
    thread.start()
    collector.wait_for(lambda c: any(e.get("event_id") == "late" for e in c.events), timeout=3)
    thread.join()
    with pytest.raises(AssertionError, match="not met"):
        collector.wait_for(lambda c: False, timeout=0.1)


def test_clear_forgets_everything(collector: Collector, client: httpx.Client) -> None:
    _send_one_span(client)
    _send_one_span(client)
    client.post("/events", json={"event": {}})
    assert collector.duplicates == 1
    collector.clear()
    assert (collector.spans, collector.events, collector.requests) == ([], [], [])
    assert collector.duplicates == 0


def test_span_tree_marks_missing_parents() -> None:
    common: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "kind": "INTERNAL",
        "start_time_unix_nano": 0,
        "end_time_unix_nano": 1_000_000,
        "attributes": {},
        "status_code": "UNSET",
        "status_message": "",
        "events": [],
        "links": [],
        "resource": {},
        "scope_name": "",
        "scope_version": "",
    }
    orphan = ReceivedSpan(name="orphan", span_id=CHILD_ID, parent_span_id=ROOT_ID, **common)
    tree = Collector().span_tree([orphan])
    assert f"orphan [INTERNAL] {CHILD_ID} 1.0ms (parent {ROOT_ID} not received)" in tree


def test_cli_prints_received_spans() -> None:
    script = Path(__file__).parent / "support" / "collector.py"
    with subprocess.Popen(
        [sys.executable, str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True
        )
        reader.start()
        try:
            first = lines.get(timeout=10)
            assert first.startswith("collector listening on http://127.0.0.1:")
            url = first.rsplit(" ", 1)[1].strip()
            with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
                assert _send_one_span(client, "from-cli-test").status_code == 200
            output = ""
            deadline = time.monotonic() + 5
            while "from-cli-test" not in output and time.monotonic() < deadline:
                output += lines.get(timeout=5)
            assert "from-cli-test [UNSPECIFIED]" in output
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=5) == 0
            reader.join(timeout=5)


def test_concurrent_exports_are_all_stored(collector: Collector) -> None:
    def export(worker: int) -> list[int]:
        with httpx.Client(base_url=collector.url, timeout=TIMEOUT) as client:
            codes = []
            for i in range(10):
                span = Span(
                    trace_id=bytes.fromhex(TRACE_ID),
                    span_id=(worker * 100 + i + 1).to_bytes(8, "big"),
                    name=f"w{worker}-{i}",
                )
                body = ExportTraceServiceRequest(
                    resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
                ).SerializeToString()
                codes.append(client.post("/v1/traces", content=body, headers=PROTOBUF).status_code)
            return codes

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(export, range(8)))
    assert results == [[200] * 10] * 8
    assert len(collector.wait_for_spans(80)) == 80
    assert collector.duplicates == 0
    assert len({s.span_id for s in collector.spans}) == 80

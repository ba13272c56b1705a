"""OTLP protobuf ``ExportTraceServiceRequest`` -> :class:`~.records.SpanBatch`.

Parsing is opentelemetry-proto's (upb); this module turns the messages into rows. Needs the
``collector`` extra. Ids must have their OTLP sizes and not be all zeros; a request with one bad
span is refused whole.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any, Optional

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from honeyhive._collector.normalize import span_facts
from honeyhive._collector.records import (
    MAX_TIME_NS,
    PayloadError,
    SpanBatch,
    SpanRow,
    dumps,
    failure,
    finite,
    hint_from,
    time_ns,
)

__all__ = ["decode_protobuf"]

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_LAST_TIME = MAX_TIME_NS


def _value(value: AnyValue, kind: Optional[str]) -> Any:
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return finite(value.double_value)
    if kind == "array_value":
        return [_value(item, item.WhichOneof("value")) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:  # strings are most attributes: they skip a call
        value = pair.value
        kind = value.WhichOneof("value")
        out[pair.key] = value.string_value if kind == "string_value" else _value(value, kind)
    return out


def _id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise PayloadError(f"{what} must be {size} bytes, got {len(raw)}")
    if raw == (_ZERO_TRACE if size == 16 else _ZERO_SPAN):
        raise PayloadError(f"{what} is all zeros (invalid)")
    return raw.hex()


def _parent(raw: bytes) -> Optional[str]:
    if not raw or raw == _ZERO_SPAN:
        return None
    if len(raw) != 8:
        raise PayloadError(f"parent_span_id must be 8 bytes, got {len(raw)}")
    return raw.hex()


def _time(value: int, what: str) -> int:
    # fixed64 on the wire: anything from 2**63 on does not fit the database's integers.
    return value if value <= _LAST_TIME else time_ns(value, what)


def decode_protobuf(data: bytes) -> SpanBatch:
    """Decode and validate a protobuf trace export request."""
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except (DecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"malformed protobuf ExportTraceServiceRequest: {exc}") from None
    batch = SpanBatch()
    rows, sessions, texts = batch.rows, batch.sessions, batch.texts
    append = rows.append
    for resource_spans in request.resource_spans:
        resource = dumps(_attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            scope = dumps({"name": scope_spans.scope.name, "version": scope_spans.scope.version})
            for span in scope_spans.spans:
                attributes = _attributes(span.attributes)
                session_id, hint = hint_from(attributes)
                if session_id is not None and hint is not None and session_id not in sessions:
                    sessions[session_id] = hint
                events = [
                    {
                        "name": event.name,
                        "time_ns": _time(event.time_unix_nano, "event time"),
                        "attributes": _attributes(event.attributes),
                    }
                    for event in span.events
                ]
                links = [
                    {
                        "trace_id": _id(link.trace_id, 16, "link trace_id"),
                        "span_id": _id(link.span_id, 8, "link span_id"),
                        "attributes": _attributes(link.attributes),
                    }
                    for link in span.links
                ]
                status = span.status
                facts = span_facts(attributes)
                texts.append((facts.input_text, facts.output_text))
                append(
                    SpanRow(
                        _id(span.trace_id, 16, "trace_id"),
                        _id(span.span_id, 8, "span_id"),
                        _parent(span.parent_span_id),
                        session_id,
                        span.name,
                        span.kind,
                        _time(span.start_time_unix_nano, "start time"),
                        _time(span.end_time_unix_nano, "end time"),
                        status.code,
                        status.message,
                        facts.event_type,
                        failure(attributes, status.code, status.message, events),
                        dumps(attributes),
                        dumps(events) if events else "[]",
                        dumps(links) if links else "[]",
                        resource,
                        scope,
                        facts.model,
                        facts.prompt_tokens,
                        facts.completion_tokens,
                        facts.total_tokens,
                    )
                )
    return batch

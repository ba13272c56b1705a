"""OTLP/JSON ``ExportTraceServiceRequest`` -> :class:`~.records.SpanBatch`, standard library only.

Follows the OTLP/HTTP JSON mapping: ``lowerCamelCase`` keys (``snake_case`` is accepted too),
trace and span ids as hex strings, 64-bit integers as strings or numbers, enums as integers or
their names, ``AnyValue`` as ``{"stringValue": ...}`` and friends, ``bytesValue`` in base64.
Anything malformed refuses the whole request (:class:`~.records.PayloadError`): nothing is stored
half.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional

from honeyhive._collector.normalize import span_facts
from honeyhive._collector.records import (
    PayloadError,
    SpanBatch,
    SpanRow,
    dumps,
    failure,
    finite,
    hint_from,
    time_ns,
)

__all__ = ["decode_json"]

_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_SPECIAL_DOUBLES = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}


def _get(obj: Mapping[str, Any], camel: str, snake: Optional[str] = None) -> Any:
    value = obj.get(camel)
    if value is None and snake is not None:
        value = obj.get(snake)
    return value


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{what} must be a JSON list, got {type(value).__name__}")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise PayloadError(f"{what} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise PayloadError(f"{what} must be an integer (or a string of one), got {value!r:.60}")


def _time(value: Any, what: str) -> int:
    if value is None:
        return 0
    return time_ns(_int(value, what), what)


def _enum(value: Any, names: Mapping[str, int], what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    number = _int(value, what)
    if number not in names.values():
        raise PayloadError(f"{what} has no value {number}")
    return number


def _hex_id(value: Any, size: int, what: str, *, optional: bool = False) -> Optional[str]:
    if value is None or value == "":
        if optional:
            return None
        raise PayloadError(f"{what} is required")
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a hex string")
    if len(value) != size * 2:
        raise PayloadError(f"{what} must be {size * 2} hex digits, got {len(value)} characters")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise PayloadError(f"{what} is not valid hex: {value!r:.60}") from None
    if not any(raw):
        if optional:
            return None
        raise PayloadError(f"{what} is all zeros (invalid)")
    return raw.hex()


def _any_value(value: Any, depth: int = 0) -> Any:
    if depth > 32:
        raise PayloadError("attribute values nest too deeply")
    if not isinstance(value, dict):
        raise PayloadError(f"an AnyValue must be a JSON object, got {type(value).__name__}")
    if not value:
        return None
    for key, raw in value.items():
        if key in ("stringValue", "string_value"):
            if not isinstance(raw, str):
                raise PayloadError("stringValue must be a string")
            return raw
        if key in ("boolValue", "bool_value"):
            if not isinstance(raw, bool):
                raise PayloadError("boolValue must be true or false")
            return raw
        if key in ("intValue", "int_value"):
            return _int(raw, "intValue")
        if key in ("doubleValue", "double_value"):
            if isinstance(raw, str) and raw in _SPECIAL_DOUBLES:
                return _SPECIAL_DOUBLES[raw]
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise PayloadError("doubleValue must be a number")
            return finite(float(raw))
        if key in ("bytesValue", "bytes_value"):
            if not isinstance(raw, str):
                raise PayloadError("bytesValue must be a base64 string")
            return raw
        if key in ("arrayValue", "array_value"):
            items = _list(_object(raw, "arrayValue").get("values"), "arrayValue.values")
            return [_any_value(item, depth + 1) for item in items]
        if key in ("kvlistValue", "kvlist_value"):
            pairs = _list(_object(raw, "kvlistValue").get("values"), "kvlistValue.values")
            return _attributes(pairs, "kvlistValue", depth + 1)
    return None  # an AnyValue with only unknown fields: empty, as protobuf would read it


def _attributes(pairs: Any, what: str, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in _list(pairs, what):
        pair = _object(pair, f"an entry of {what}")
        key = pair.get("key")
        if not isinstance(key, str):
            raise PayloadError(f"every entry of {what} needs a string key")
        out[key] = _any_value(pair.get("value") or {}, depth)
    return out


def _events(raw: Any) -> list[dict[str, Any]]:
    events = []
    for event in _list(raw, "span.events"):
        event = _object(event, "a span event")
        events.append(
            {
                "name": event.get("name") if isinstance(event.get("name"), str) else "",
                "time_ns": _time(_get(event, "timeUnixNano", "time_unix_nano"), "event time"),
                "attributes": _attributes(event.get("attributes"), "event attributes"),
            }
        )
    return events


def _links(raw: Any) -> list[dict[str, Any]]:
    links = []
    for link in _list(raw, "span.links"):
        link = _object(link, "a span link")
        links.append(
            {
                "trace_id": _hex_id(_get(link, "traceId", "trace_id"), 16, "link traceId"),
                "span_id": _hex_id(_get(link, "spanId", "span_id"), 8, "link spanId"),
                "attributes": _attributes(link.get("attributes"), "link attributes"),
            }
        )
    return links


def _span(raw: Any, resource: str, scope: str, batch: SpanBatch) -> None:
    span = _object(raw, "a span")
    attributes = _attributes(span.get("attributes"), "span attributes")
    session_id, hint = hint_from(attributes)
    if session_id is not None and hint is not None:
        batch.sessions.setdefault(session_id, hint)
    status = _object(span.get("status"), "span status")
    name = span.get("name")
    message = status.get("message")
    message = message if isinstance(message, str) else ""
    status_code = _enum(status.get("code"), _STATUS, "status code")
    events = _events(span.get("events"))
    facts = span_facts(attributes)
    batch.texts.append((facts.input_text, facts.output_text))
    batch.rows.append(
        SpanRow(
            trace_id=_hex_id(_get(span, "traceId", "trace_id"), 16, "traceId") or "",
            span_id=_hex_id(_get(span, "spanId", "span_id"), 8, "spanId") or "",
            parent_span_id=_hex_id(
                _get(span, "parentSpanId", "parent_span_id"), 8, "parentSpanId", optional=True
            ),
            session_id=session_id,
            name=name if isinstance(name, str) else "",
            kind=_enum(span.get("kind"), _KINDS, "span kind"),
            start_ns=_time(_get(span, "startTimeUnixNano", "start_time_unix_nano"), "start time"),
            end_ns=_time(_get(span, "endTimeUnixNano", "end_time_unix_nano"), "end time"),
            status_code=status_code,
            status_message=message,
            event_type=facts.event_type,
            error=failure(attributes, status_code, message, events),
            attributes=dumps(attributes),
            events=dumps(events),
            links=dumps(_links(span.get("links"))),
            resource=resource,
            scope=scope,
            model=facts.model,
            prompt_tokens=facts.prompt_tokens,
            completion_tokens=facts.completion_tokens,
            total_tokens=facts.total_tokens,
        )
    )


def decode_json(data: bytes) -> SpanBatch:
    """Decode and validate an OTLP/JSON trace export request."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise PayloadError("malformed OTLP/JSON: nested too deeply") from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise PayloadError(f"malformed OTLP/JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PayloadError("an OTLP/JSON body must be a JSON object")
    if b"\\u" in data and (b"\\ud" in data.lower()):
        try:  # a lone surrogate escape decodes to text that cannot be stored as UTF-8
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise PayloadError("malformed OTLP/JSON: unpaired surrogate escape") from None
    batch = SpanBatch()
    for resource_spans in _list(_get(doc, "resourceSpans", "resource_spans"), "resourceSpans"):
        resource_spans = _object(resource_spans, "a resourceSpans entry")
        resource = _object(resource_spans.get("resource"), "resource")
        resource_text = dumps(_attributes(resource.get("attributes"), "resource attributes"))
        scope_spans_list = _get(resource_spans, "scopeSpans", "scope_spans")
        for scope_spans in _list(scope_spans_list, "scopeSpans"):
            scope_spans = _object(scope_spans, "a scopeSpans entry")
            scope = _object(scope_spans.get("scope"), "scope")
            scope_name, scope_version = scope.get("name"), scope.get("version")
            scope_text = dumps(
                {
                    "name": scope_name if isinstance(scope_name, str) else "",
                    "version": scope_version if isinstance(scope_version, str) else "",
                }
            )
            for span in _list(scope_spans.get("spans"), "spans"):
                _span(span, resource_text, scope_text, batch)
    return batch

"""Hand-written OTLP trace encoders: protobuf wire format and OTLP/JSON.

Both encoders turn a batch of finished SDK spans into an ``ExportTraceServiceRequest``
(``opentelemetry/proto/collector/trace/v1/trace_service.proto``) without importing
``google.protobuf`` or ``opentelemetry.proto``: the SDK core stays light to import, and
writing the bytes directly is several times faster than building protobuf message objects
only to serialize them.

The output matches OpenTelemetry's own encoder
(``opentelemetry.exporter.otlp.proto.common.trace_encoder.encode_spans``) field for field,
with these deliberate differences, all on inputs where the reference encoder drops data or
raises:

* an integer outside the int64 range is sent as a ``string_value`` holding its decimal
  digits (hexadecimal beyond Python's int-to-str digit limit) instead of being dropped;
* text that is not valid Unicode (lone surrogates) is sent with each lone surrogate replaced
  by U+FFFD instead of dropping the attribute or failing the whole batch;
* ``bytearray`` and ``memoryview`` values become ``bytes_value`` (not arrays of ints);
* a value of any other type becomes ``string_value`` of its ``str()``, and containers nested
  deeper than 32 levels are sent as their ``str()``;
* ``Span.Link.trace_state`` is filled in (the reference encoder leaves it empty).

Encoding never raises because of an attribute value.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import StatusCode

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link
    from opentelemetry.trace.span import SpanContext, TraceState

__all__ = ["encode_json", "encode_protobuf", "split_request"]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MASK = (1 << 64) - 1

# Containers nested deeper than this are sent as their str(). This bounds the recursion,
# turns self-referencing containers into a finite string, and keeps messages within the
# nesting limit of common protobuf parsers (100 messages; each level of nesting is two).
_MAX_DEPTH = 32

# Pre-encoded ``KeyValue.key`` fields of attribute keys seen so far. Attribute keys repeat
# across spans, so this saves an encode and a concatenation per attribute. Only exact ``str``
# keys are stored (so ``1`` and ``True`` can never share an entry) and the size is bounded
# so that spans with generated keys cannot grow it without limit.
_KEY_FIELDS: dict[str, bytes] = {}
_KEY_FIELDS_MAX = 4096


# ---------------------------------------------------------------------------------------
# Shared helpers: safe text conversion and grouping of spans by resource and scope
# ---------------------------------------------------------------------------------------


def _scrub(text: str) -> str:
    """Return ``text`` as valid Unicode: join surrogate pairs and replace lone surrogates.

    A round trip through UTF-16 with ``surrogatepass`` turns a correctly paired high/low
    surrogate into the real code point; decoding with ``replace`` turns each lone one
    into U+FFFD.
    """
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of a ``str`` (or subclass); never raises on lone surrogates."""
    try:
        return str.encode(text)
    except UnicodeEncodeError:
        return str.encode(_scrub(text))


def _int_text(value: int) -> str:
    """Decimal digits of an int, hexadecimal past the interpreter's int-to-str limit."""
    try:
        return int.__repr__(value)
    except ValueError:
        return hex(value)


def _safe_str(value: object) -> str:
    """``str(value)``, falling back to ``repr()`` and then to a fixed placeholder."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_text(int.__int__(value))
    for convert in (str, repr):
        try:
            text = convert(value)
        except Exception:  # noqa: S112 - any failure of a user __str__ means "try the next"
            continue
        if isinstance(text, str):
            return text
    try:
        name = type(value).__qualname__
    except Exception:
        name = "object"
    return f"<unprintable {name}>"


def _text(value: object) -> str:
    """A span-level text field (name, status message, ...) as ``str``."""
    return value if type(value) is str else _safe_str(value)


def _attribute_items(attributes: object) -> Iterable[tuple[Any, Any]]:
    """Iterate the (key, value) pairs of an attribute mapping, fast for the SDK's types.

    ``ReadableSpan.attributes`` is a ``MappingProxyType`` over ``BoundedAttributes``, whose
    ``__iter__``/``__getitem__`` are Python code; their ``copy()`` returns a plain dict in
    one C-level copy, which is much cheaper to iterate.
    """
    if type(attributes) is dict:
        return attributes.items()
    try:
        copied = attributes.copy()  # type: ignore[attr-defined]
        if type(copied) is dict:
            return copied.items()
    except Exception:  # noqa: S110 - fall through to the generic Mapping protocol
        pass
    try:
        return list(attributes.items())  # type: ignore[attr-defined]
    except Exception:
        return ()


def _int_attr(obj: object, name: str) -> int:
    """A non-negative int attribute such as a dropped count, 0 when missing or invalid."""
    value = getattr(obj, name, 0)
    if type(value) is int and value > 0:
        return value
    return 0


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def _group_spans(
    spans: Sequence[ReadableSpan],
) -> list[tuple[Resource, list[tuple[Optional[InstrumentationScope], list[ReadableSpan]]]]]:
    """Group spans by resource, then by instrumentation scope, in order of first appearance.

    Like the reference encoder, equal resources (and equal scopes: name, version, schema
    URL and attributes) share one group. Lookups go by object identity first: the spans of
    one provider share one ``Resource`` object and those of one tracer one
    ``InstrumentationScope``, so the costlier equality test runs once per distinct object.
    (The ids stay valid during the call because ``spans`` keeps the objects alive.)
    """
    groups: list[tuple[Any, list[Any]]] = []
    # id(resource) -> (its group, {id(scope) -> scope group within it})
    by_resource_id: dict[int, tuple[tuple[Any, list[Any]], dict[int, tuple[Any, list[Any]]]]] = {}
    for span in spans:
        resource = span.resource
        found = by_resource_id.get(id(resource))
        if found is None:
            group = next((g for g in groups if _same(g[0], resource)), None)
            if group is None:
                group = (resource, [])
                groups.append(group)
            found = by_resource_id[id(resource)] = (group, {})
        group, by_scope_id = found
        scope = span.instrumentation_scope
        scope_group = by_scope_id.get(id(scope))
        if scope_group is None:
            scope_group = next((g for g in group[1] if _same(g[0], scope)), None)
            if scope_group is None:
                scope_group = (scope, [])
                group[1].append(scope_group)
            by_scope_id[id(scope)] = scope_group
        scope_group[1].append(span)
    return groups


def _trace_state_header(trace_state: TraceState | None) -> str:
    """W3C ``tracestate`` header value; empty for a missing or empty TraceState."""
    if not trace_state:
        return ""
    return ",".join(f"{key}={value}" for key, value in trace_state.items())


def _span_flags(context: SpanContext | None) -> int:
    """``Span.flags`` / ``Link.flags`` exactly as the reference encoder computes them.

    opentelemetry-exporter-otlp-proto-common (1.45) sets only
    SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK (0x100), plus SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
    (0x200) when the parent (or linked) context is remote; it does not copy the W3C trace
    flags into the low byte, so neither do we.
    """
    if context is not None and context.is_remote:
        return 0x300
    return 0x100


# ---------------------------------------------------------------------------------------
# Protobuf wire format
#
# A field is a varint tag ``(field_number << 3) | wire_type`` followed by its value:
# wire type 0 = varint, 1 = 8 little-endian bytes (fixed64, double), 2 = varint length
# plus payload (strings, bytes, nested messages), 5 = 4 little-endian bytes (fixed32).
# All tags used below are below 128 (one byte) except ``Span.flags`` (field 16).
# Proto3 rules: scalar fields equal to their default are not written, except inside a
# ``oneof`` (``AnyValue``), where the chosen member is always written. Submessages the
# reference encoder always sets (``Span.status``, ``ResourceSpans.resource``,
# ``ScopeSpans.scope``, ``KeyValue.value``) are written even when empty.
# ---------------------------------------------------------------------------------------

# A varint stores 7 bits per byte, least significant group first; every byte but the last
# has its high bit (0x80) set. Values below 128 are the single byte itself, and
# ``_VARINT_MORE[g]`` is a non-final byte holding the group g. CPython shares one-byte
# bytes objects, so these tables cost next to nothing, and gluing two or three of them
# together is much faster than building ``bytes((a, b))`` from a tuple.
_VARINT: tuple[bytes, ...] = tuple(bytes((i,)) for i in range(128))
_VARINT_MORE: tuple[bytes, ...] = tuple(bytes((i | 0x80,)) for i in range(128))


def _varint(value: int) -> bytes:
    """Protobuf varint of a non-negative int below 2**64."""
    if value < 0x80:
        return _VARINT[value]
    if value < 0x4000:
        return _VARINT_MORE[value & 0x7F] + _VARINT[value >> 7]
    if value < 0x200000:
        return _VARINT_MORE[value & 0x7F] + _VARINT_MORE[(value >> 7) & 0x7F] + _VARINT[value >> 14]
    groups = []
    while value > 0x7F:
        groups.append(_VARINT_MORE[value & 0x7F])
        value >>= 7
    groups.append(_VARINT[value])
    return b"".join(groups)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, varint length, payload."""
    return tag + _varint(len(payload)) + payload


_pack_fixed64 = struct.Struct("<Q").pack
_pack_double_value_field = struct.Struct("<BBBd").pack  # KeyValue.value{AnyValue.double}
_pack_two_fixed64 = struct.Struct("<BQBQ").pack  # Span start + end time, tags included

# AnyValue oneof members (field number: 1 string, 2 bool, 3 int, 4 double, 5 array,
# 6 kvlist, 7 bytes) as complete AnyValue messages or their tags.
_ANY_STRING = b"\x0a"
_ANY_TRUE = b"\x10\x01"
_ANY_FALSE = b"\x10\x00"
_ANY_INT = b"\x18"
_ANY_DOUBLE = b"\x21"
_ANY_ARRAY = b"\x2a"
_ANY_KVLIST = b"\x32"
_ANY_BYTES = b"\x3a"

# ``KeyValue.value`` (field 2) holding a bool, as one constant each.
_VALUE_TRUE = b"\x12\x02" + _ANY_TRUE
_VALUE_FALSE = b"\x12\x02" + _ANY_FALSE
# ``KeyValue.value`` holding ``int_value`` n for 0 <= n < 128: 12 02 18 n.
_VALUE_SMALL_INT: tuple[bytes, ...] = tuple(b"\x12\x02\x18" + bytes((i,)) for i in range(128))
# Head of ``KeyValue.value`` holding a ``string_value`` of n < 126 UTF-8 bytes: the value
# field's length (n + 2) and the string field's length (n) are both single-byte varints.
_VALUE_SHORT_STR_HEAD: tuple[bytes, ...] = tuple(bytes((0x12, i + 2, 0x0A, i)) for i in range(126))
# The same for an ``ArrayValue.values`` element (field 1) holding a short string.
_ELEMENT_SHORT_STR_HEAD: tuple[bytes, ...] = tuple(
    bytes((0x0A, i + 2, 0x0A, i)) for i in range(126)
)
# Head of ``KeyValue.value`` holding an ``int_value`` whose varint is n bytes long (n <= 10).
_VALUE_INT_HEAD: tuple[bytes, ...] = tuple(bytes((0x12, i + 1, 0x18)) for i in range(11))

# Span.kind (field 6) by id() of the SpanKind member: Enum.__hash__ is Python code, id()
# is not, and enum members live as long as the module.
_KIND_FIELD: dict[int, bytes] = {
    id(SpanKind.INTERNAL): b"\x30\x01",
    id(SpanKind.SERVER): b"\x30\x02",
    id(SpanKind.CLIENT): b"\x30\x03",
    id(SpanKind.PRODUCER): b"\x30\x04",
    id(SpanKind.CONSUMER): b"\x30\x05",
}
_KIND_NUMBER: dict[int, int] = {kind: field[1] for kind, field in _KIND_FIELD.items()}
_STATUS_CODE: dict[int, int] = {
    id(StatusCode.UNSET): 0,
    id(StatusCode.OK): 1,
    id(StatusCode.ERROR): 2,
}
# Span.status (field 15) without a message: the Status message holds only ``code`` (3).
_STATUS_FIELD: dict[int, bytes] = {
    id(StatusCode.UNSET): b"\x7a\x00",
    id(StatusCode.OK): b"\x7a\x02\x18\x01",
    id(StatusCode.ERROR): b"\x7a\x02\x18\x02",
}
# Span.flags is field 16, fixed32: tag (16 << 3) | 5 = 133 = varint 85 01.
_SPAN_FLAGS_FIELD = {0x100: b"\x85\x01\x00\x01\x00\x00", 0x300: b"\x85\x01\x00\x03\x00\x00"}
# Link.flags is field 6, fixed32: tag 0x35.
_LINK_FLAGS_FIELD = {0x100: b"\x35\x00\x01\x00\x00", 0x300: b"\x35\x00\x03\x00\x00"}


def _key_field(key: object) -> bytes:
    """``KeyValue.key`` (field 1) for an attribute key; empty for the empty string."""
    data = _utf8(key if isinstance(key, str) else _safe_str(key))
    encoded = _field(b"\x0a", data) if data else b""
    if type(key) is str and len(_KEY_FIELDS) < _KEY_FIELDS_MAX:
        _KEY_FIELDS[key] = encoded
    return encoded


def _any_value(value: object, depth: int = 0) -> bytes:
    """The encoded ``AnyValue`` message for any Python object; never raises."""
    try:
        return _any_value_unchecked(value, depth)
    except Exception:
        # A failing __str__, __iter__, items(), ... or RecursionError.
        return _field(_ANY_STRING, _utf8(_safe_str(value)))


def _any_value_unchecked(value: object, depth: int) -> bytes:
    kind = type(value)
    if kind is str:
        return _field(_ANY_STRING, _utf8(value))  # type: ignore[arg-type]
    if kind is tuple or kind is list:  # what the SDK stores for sequences
        if depth < _MAX_DEPTH:
            return _array_value(value, depth)  # type: ignore[arg-type]
        return _field(_ANY_STRING, _utf8(_safe_str(value)))
    if value is None:
        return b""  # an AnyValue with no member set
    if isinstance(value, bool):  # before int: bool is an int subclass
        return _ANY_TRUE if value else _ANY_FALSE
    if isinstance(value, str):
        return _field(_ANY_STRING, _utf8(value))
    if isinstance(value, int):
        number = int.__int__(value)
        if _INT64_MIN <= number <= _INT64_MAX:
            # int64 varints encode negatives as their 64-bit two's complement (10 bytes).
            return _ANY_INT + _varint(number & _UINT64_MASK)
        return _field(_ANY_STRING, _int_text(number).encode())
    if isinstance(value, float):
        return _ANY_DOUBLE + struct.pack("<d", value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _field(_ANY_BYTES, bytes(value))
    if depth < _MAX_DEPTH:
        if isinstance(value, Sequence):
            # ArrayValue.values (field 1) holds each element.
            items = [_field(b"\x0a", _any_value(item, depth + 1)) for item in value]
            return _field(_ANY_ARRAY, b"".join(items))
        if isinstance(value, Mapping):
            # KeyValueList.values (field 1) holds each KeyValue.
            pairs = [
                _field(b"\x0a", _key_value(key, item, depth + 1)) for key, item in value.items()
            ]
            return _field(_ANY_KVLIST, b"".join(pairs))
    return _field(_ANY_STRING, _utf8(_safe_str(value)))


def _array_value(items: Sequence[object], depth: int) -> bytes:
    """``AnyValue{array_value}`` for a tuple or list, with strings encoded inline."""
    parts: list[bytes] = []
    append = parts.append
    for item in items:
        if type(item) is str:
            try:
                data = item.encode()
            except UnicodeEncodeError:
                data = _utf8(item)
            size = len(data)
            if size < 126:
                append(_ELEMENT_SHORT_STR_HEAD[size])
                append(data)
                continue
            element = _ANY_STRING + _varint(size) + data
        else:
            element = _any_value(item, depth + 1)
        append(b"\x0a")  # ArrayValue.values, field 1
        append(_varint(len(element)))
        append(element)
    return _field(_ANY_ARRAY, b"".join(parts))


def _key_value(key: object, value: object, depth: int = 0) -> bytes:
    """The encoded ``KeyValue`` message; never raises."""
    try:
        key_field = _key_field(key)
    except Exception:
        key_field = _field(b"\x0a", _utf8(_safe_str(key)))
    return key_field + _field(b"\x12", _any_value(value, depth))


def _write_attributes(out: bytearray, tag: bytes, attributes: object) -> None:
    """Append each attribute to ``out`` as a length-delimited ``KeyValue`` field ``tag``.

    The common cases (str key; str, bool, int64 or float value) are encoded inline; the
    rest, and anything that raises on the way, go through ``_key_value``. Nothing is
    appended to ``out`` until the pair is fully encoded.
    """
    if not attributes:
        return
    key_fields = _KEY_FIELDS
    varints = _VARINT
    for key, value in _attribute_items(attributes):
        try:
            key_field = key_fields.get(key)
            if key_field is None:
                key_field = _key_field(key)
            kind = type(value)
            if kind is str:
                data = value.encode()  # UnicodeEncodeError -> generic path below
                size = len(data)
                if size < 126:
                    head = _VALUE_SHORT_STR_HEAD[size]
                else:
                    string_field = _ANY_STRING + _varint(size)
                    head = b"\x12" + _varint(len(string_field) + size) + string_field
                length = len(key_field) + len(head) + size
                out += tag
                out += varints[length] if length < 0x80 else _varint(length)
                out += key_field
                out += head
                out += data
                continue
            if kind is bool:
                value_field = _VALUE_TRUE if value else _VALUE_FALSE
            elif kind is int and 0 <= value < 0x80:
                value_field = _VALUE_SMALL_INT[value]
            elif kind is int and _INT64_MIN <= value <= _INT64_MAX:
                number = _varint(value & _UINT64_MASK)
                value_field = _VALUE_INT_HEAD[len(number)] + number
            elif kind is float:
                # 12 09 = KeyValue.value of 9 bytes; 21 = AnyValue.double_value, fixed64.
                value_field = _pack_double_value_field(0x12, 9, 0x21, value)
            elif kind is tuple or kind is list:
                value_field = _field(b"\x12", _array_value(value, 0))
            else:
                value_field = _field(b"\x12", _any_value(value))
        except Exception:
            pair = _key_value(key, value)
        else:
            pair = key_field + value_field
        out += tag
        out += _varint(len(pair))
        out += pair


def _write_string(out: bytearray, tag: bytes, value: object) -> None:
    """Append a string field unless it is empty (the proto3 default)."""
    if value:
        data = _utf8(_text(value))
        out += tag
        out += _varint(len(data))
        out += data


def _encode_event(event: Event) -> bytearray:
    out = bytearray()
    timestamp = event.timestamp
    if timestamp:
        out += b"\x09"  # time_unix_nano, field 1, fixed64
        out += _pack_fixed64(timestamp)
    _write_string(out, b"\x12", event.name)  # name, field 2
    _write_attributes(out, b"\x1a", event.attributes)  # attributes, field 3
    dropped = _int_attr(event, "dropped_attributes")
    if dropped:
        out += b"\x20"  # dropped_attributes_count, field 4
        out += _varint(dropped)
    return out


def _encode_link(link: Link) -> bytearray:
    context = link.context
    out = bytearray(b"\x0a\x10")  # trace_id, field 1, 16 bytes
    out += context.trace_id.to_bytes(16, "big")
    out += b"\x12\x08"  # span_id, field 2, 8 bytes
    out += context.span_id.to_bytes(8, "big")
    _write_string(out, b"\x1a", _trace_state_header(context.trace_state))  # trace_state
    _write_attributes(out, b"\x22", link.attributes)  # attributes, field 4
    dropped = _int_attr(link, "dropped_attributes")
    if dropped:
        out += b"\x28"  # dropped_attributes_count, field 5
        out += _varint(dropped)
    out += _LINK_FLAGS_FIELD[_span_flags(context)]
    return out


def _encode_span(span: ReadableSpan) -> bytearray:
    """The encoded ``Span`` message, fields in field-number order."""
    out = bytearray()
    context = span.get_span_context()
    if context is not None:
        out += b"\x0a\x10"  # trace_id, field 1, 16 bytes
        out += context.trace_id.to_bytes(16, "big")
        out += b"\x12\x08"  # span_id, field 2, 8 bytes
        out += context.span_id.to_bytes(8, "big")
        if context.trace_state:
            _write_string(out, b"\x1a", _trace_state_header(context.trace_state))
    parent = span.parent
    if parent is not None:
        out += b"\x22\x08"  # parent_span_id, field 4, 8 bytes
        out += parent.span_id.to_bytes(8, "big")
    _write_string(out, b"\x2a", span.name)  # name, field 5
    kind_field = _KIND_FIELD.get(id(span.kind))  # kind, field 6
    if kind_field is not None:
        out += kind_field
    start = span.start_time
    end = span.end_time
    if start and end:
        # start_time_unix_nano (7) and end_time_unix_nano (8): fixed64, tags 0x39, 0x41.
        out += _pack_two_fixed64(0x39, start, 0x41, end)
    elif start:
        out += b"\x39"
        out += _pack_fixed64(start)
    elif end:
        out += b"\x41"
        out += _pack_fixed64(end)
    stamp = getattr(span, "_hh_stamp", None)  # a honeyhive PreparedSpan: tracer-wide part cached
    own = span.own_attributes() if stamp is not None else None  # type: ignore[attr-defined]
    if stamp is not None and own is not None and stamp.static_keys.isdisjoint(own):
        # The tracer-wide attributes (with the tracer's session unless the span has its own)
        # are encoded once per tracer; only the span's own attributes are encoded here.
        variant = "static" if own.get("honeyhive.session_id") else "static_with_session"
        static = stamp.encoded.get(variant)
        if static is None:
            static_out = bytearray()
            _write_attributes(static_out, b"\x4a", getattr(stamp, variant))
            static = stamp.encoded[variant] = bytes(static_out)
        out += static
        _write_attributes(out, b"\x4a", span.session_attributes(default_session=False))  # type: ignore[attr-defined]
    else:
        _write_attributes(out, b"\x4a", span.attributes)  # attributes, field 9
    dropped = span.dropped_attributes
    if dropped:
        out += b"\x50"  # dropped_attributes_count, field 10
        out += _varint(dropped)
    for event in span.events:
        out += b"\x5a"  # events, field 11
        encoded = _encode_event(event)
        out += _varint(len(encoded))
        out += encoded
    dropped = span.dropped_events
    if dropped:
        out += b"\x60"  # dropped_events_count, field 12
        out += _varint(dropped)
    for link in span.links:
        out += b"\x6a"  # links, field 13
        encoded = _encode_link(link)
        out += _varint(len(encoded))
        out += encoded
    dropped = span.dropped_links
    if dropped:
        out += b"\x70"  # dropped_links_count, field 14
        out += _varint(dropped)
    status = span.status
    if status is not None:  # status, field 15
        code = id(status.status_code)
        message = status.description
        if message:
            number = _STATUS_CODE.get(code, 0)
            # Status.message is field 2, Status.code field 3 (varint).
            body = _field(b"\x12", _utf8(_text(message)))
            if number:
                body += bytes((0x18, number))
            out += _field(b"\x7a", body)
        else:
            out += _STATUS_FIELD.get(code, b"\x7a\x00")
    out += _SPAN_FLAGS_FIELD[_span_flags(parent)]  # flags, field 16
    return out


def _encode_resource(resource: Resource) -> bytes:
    """``ResourceSpans.resource`` (field 1), always present like the reference encoder's."""
    body = bytearray()
    _write_attributes(body, b"\x0a", resource.attributes)  # attributes, field 1
    dropped = _int_attr(resource, "dropped_attributes")
    if dropped:
        body += b"\x10"  # dropped_attributes_count, field 2
        body += _varint(dropped)
    return _field(b"\x0a", bytes(body))


def _encode_scope(scope: InstrumentationScope | None) -> bytes:
    """``ScopeSpans.scope`` (field 1), always present (empty when there is no scope)."""
    body = bytearray()
    if scope is not None:
        _write_string(body, b"\x0a", scope.name)  # name, field 1
        _write_string(body, b"\x12", scope.version)  # version, field 2
        _write_attributes(body, b"\x1a", scope.attributes)  # attributes, field 3
        dropped = _int_attr(scope, "dropped_attributes")
        if dropped:
            body += b"\x20"  # dropped_attributes_count, field 4
            body += _varint(dropped)
    return _field(b"\x0a", bytes(body))


def encode_protobuf(spans: Sequence[ReadableSpan]) -> bytes:
    """Encode spans as the protobuf bytes of an OTLP ``ExportTraceServiceRequest``.

    The request is assembled as a flat list of byte strings that is joined once: each
    nested message's header (tag + length) goes into a slot reserved before its content
    and is filled in once the content's total length is known, so no message body is
    copied into its parent.
    """
    pieces: list[Union[bytes, bytearray]] = []
    append = pieces.append
    for resource, scopes in _group_spans(spans):
        resource_slot = len(pieces)
        append(b"")  # ExportTraceServiceRequest.resource_spans (1) header, filled in below
        resource_field = _encode_resource(resource)
        append(resource_field)
        resource_size = len(resource_field)
        for scope, scope_spans in scopes:
            scope_slot = len(pieces)
            append(b"")  # ResourceSpans.scope_spans (2) header
            scope_field = _encode_scope(scope)
            append(scope_field)
            scope_size = len(scope_field)
            for span in scope_spans:
                encoded = _encode_span(span)
                size = len(encoded)
                head = b"\x12" + _varint(size)  # ScopeSpans.spans, field 2
                append(head)
                append(encoded)
                scope_size += len(head) + size
            schema_url = getattr(scope, "schema_url", None)
            if schema_url:
                encoded_url = _field(b"\x1a", _utf8(_text(schema_url)))  # schema_url, 3
                append(encoded_url)
                scope_size += len(encoded_url)
            head = b"\x12" + _varint(scope_size)
            pieces[scope_slot] = head
            resource_size += len(head) + scope_size
        schema_url = getattr(resource, "schema_url", None)
        if schema_url:
            encoded_url = _field(b"\x1a", _utf8(_text(schema_url)))  # schema_url, field 3
            append(encoded_url)
            resource_size += len(encoded_url)
        pieces[resource_slot] = b"\x0a" + _varint(resource_size)
    return b"".join(pieces)


# ---------------------------------------------------------------------------------------
# OTLP/JSON
#
# The protobuf JSON mapping with OTLP's amendments: lowerCamelCase keys, trace and span ids
# as lowercase hex, enums as integers, 64-bit integers as decimal strings, bytes as base64,
# non-finite doubles as "NaN"/"Infinity"/"-Infinity", and fields at their default value
# omitted (``AnyValue`` members are always written, as they are part of a oneof).
# ---------------------------------------------------------------------------------------

_JsonObject = dict[str, Any]

_json_encode: Callable[[object], str] = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, separators=(",", ":")
).encode


def _json_double(value: float) -> float | str:
    if value - value == 0.0:  # false only for inf, -inf and nan
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _json_any_value(value: object, depth: int = 0) -> _JsonObject:
    """The OTLP/JSON ``AnyValue`` object for any Python object; never raises."""
    try:
        return _json_any_value_unchecked(value, depth)
    except Exception:
        return {"stringValue": _safe_str(value)}


def _json_any_value_unchecked(value: object, depth: int) -> _JsonObject:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value is True}
    if isinstance(value, str):
        return {"stringValue": str.__str__(value)}
    if isinstance(value, int):
        number = int.__int__(value)
        if _INT64_MIN <= number <= _INT64_MAX:
            return {"intValue": int.__repr__(number)}
        return {"stringValue": _int_text(number)}
    if isinstance(value, float):
        return {"doubleValue": _json_double(float.__float__(value))}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if depth < _MAX_DEPTH:
        if isinstance(value, Sequence):
            values = [_json_any_value(item, depth + 1) for item in value]
            return {"arrayValue": {"values": values} if values else {}}
        if isinstance(value, Mapping):
            pairs = [_json_key_value(key, item, depth + 1) for key, item in value.items()]
            return {"kvlistValue": {"values": pairs} if pairs else {}}
    return {"stringValue": _safe_str(value)}


def _json_key_value(key: object, value: object, depth: int = 0) -> _JsonObject:
    text = key if type(key) is str else _safe_str(key)
    if text:
        return {"key": text, "value": _json_any_value(value, depth)}
    return {"value": _json_any_value(value, depth)}


def _json_attributes(attributes: object) -> list[_JsonObject]:
    """OTLP/JSON ``KeyValue`` list; the common value types are handled inline."""
    if not attributes:
        return []
    result: list[_JsonObject] = []
    append = result.append
    for key, value in _attribute_items(attributes):
        kind = type(value)
        if kind is str:
            encoded: _JsonObject = {"stringValue": value}
        elif kind is bool:
            encoded = {"boolValue": value}
        elif kind is int and _INT64_MIN <= value <= _INT64_MAX:
            encoded = {"intValue": str(value)}
        elif kind is float and value - value == 0.0:
            encoded = {"doubleValue": value}
        else:
            encoded = _json_any_value(value)
        text = key if type(key) is str else _safe_str(key)
        append({"key": text, "value": encoded} if text else {"value": encoded})
    return result


def _json_event(event: Event) -> _JsonObject:
    encoded: _JsonObject = {}
    timestamp = event.timestamp
    if timestamp:
        encoded["timeUnixNano"] = str(timestamp)
    if event.name:
        encoded["name"] = _text(event.name)
    attributes = _json_attributes(event.attributes)
    if attributes:
        encoded["attributes"] = attributes
    dropped = _int_attr(event, "dropped_attributes")
    if dropped:
        encoded["droppedAttributesCount"] = dropped
    return encoded


def _json_link(link: Link) -> _JsonObject:
    context = link.context
    encoded: _JsonObject = {
        "traceId": context.trace_id.to_bytes(16, "big").hex(),
        "spanId": context.span_id.to_bytes(8, "big").hex(),
    }
    trace_state = _trace_state_header(context.trace_state)
    if trace_state:
        encoded["traceState"] = trace_state
    attributes = _json_attributes(link.attributes)
    if attributes:
        encoded["attributes"] = attributes
    dropped = _int_attr(link, "dropped_attributes")
    if dropped:
        encoded["droppedAttributesCount"] = dropped
    encoded["flags"] = _span_flags(context)
    return encoded


def _json_span(span: ReadableSpan) -> _JsonObject:
    encoded: _JsonObject = {}
    context = span.get_span_context()
    if context is not None:
        encoded["traceId"] = context.trace_id.to_bytes(16, "big").hex()
        encoded["spanId"] = context.span_id.to_bytes(8, "big").hex()
        if context.trace_state:
            encoded["traceState"] = _trace_state_header(context.trace_state)
    parent = span.parent
    if parent is not None:
        encoded["parentSpanId"] = parent.span_id.to_bytes(8, "big").hex()
    encoded["flags"] = _span_flags(parent)
    name = span.name
    if name:
        encoded["name"] = _text(name)
    kind = _KIND_NUMBER.get(id(span.kind))
    if kind is not None:
        encoded["kind"] = kind
    start = span.start_time
    if start:
        encoded["startTimeUnixNano"] = str(start)
    end = span.end_time
    if end:
        encoded["endTimeUnixNano"] = str(end)
    attributes = _json_attributes(span.attributes)
    if attributes:
        encoded["attributes"] = attributes
    dropped = span.dropped_attributes
    if dropped:
        encoded["droppedAttributesCount"] = dropped
    events = span.events
    if events:
        encoded["events"] = [_json_event(event) for event in events]
    dropped = span.dropped_events
    if dropped:
        encoded["droppedEventsCount"] = dropped
    links = span.links
    if links:
        encoded["links"] = [_json_link(link) for link in links]
    dropped = span.dropped_links
    if dropped:
        encoded["droppedLinksCount"] = dropped
    status = span.status
    if status is not None:
        status_json: _JsonObject = {}
        code = _STATUS_CODE.get(id(status.status_code), 0)
        if status.description:
            status_json["message"] = _text(status.description)
        if code:
            status_json["code"] = code
        encoded["status"] = status_json
    return encoded


def _json_scope(scope: InstrumentationScope | None) -> _JsonObject:
    encoded: _JsonObject = {}
    if scope is None:
        return encoded
    if scope.name:
        encoded["name"] = _text(scope.name)
    if scope.version:
        encoded["version"] = _text(scope.version)
    attributes = _json_attributes(scope.attributes)
    if attributes:
        encoded["attributes"] = attributes
    dropped = _int_attr(scope, "dropped_attributes")
    if dropped:
        encoded["droppedAttributesCount"] = dropped
    return encoded


def _json_resource(resource: Resource) -> _JsonObject:
    encoded: _JsonObject = {}
    attributes = _json_attributes(resource.attributes)
    if attributes:
        encoded["attributes"] = attributes
    dropped = _int_attr(resource, "dropped_attributes")
    if dropped:
        encoded["droppedAttributesCount"] = dropped
    return encoded


def encode_json(spans: Sequence[ReadableSpan]) -> bytes:
    """Encode spans as an OTLP/JSON ``ExportTraceServiceRequest`` (compact UTF-8 bytes)."""
    resource_spans: list[_JsonObject] = []
    for resource, scopes in _group_spans(spans):
        scope_spans: list[_JsonObject] = []
        for scope, grouped in scopes:
            scope_json: _JsonObject = {
                "scope": _json_scope(scope),
                "spans": [_json_span(span) for span in grouped],
            }
            schema_url = getattr(scope, "schema_url", None)
            if schema_url:
                scope_json["schemaUrl"] = _text(schema_url)
            scope_spans.append(scope_json)
        resource_json: _JsonObject = {"resource": _json_resource(resource)}
        if scope_spans:
            resource_json["scopeSpans"] = scope_spans
        schema_url = getattr(resource, "schema_url", None)
        if schema_url:
            resource_json["schemaUrl"] = _text(schema_url)
        resource_spans.append(resource_json)
    text = _json_encode({"resourceSpans": resource_spans} if resource_spans else {})
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate somewhere in the batch
        return _scrub(text).encode()


# -- splitting an encoded request in two (for a 413) ----------------------------------------------
#
# ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
# ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2;
#                 string schema_url = 3; }
# ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
# Every field involved is length-delimited (wire type 2), so a request can be cut into spans and
# put back together as two requests without decoding any span.


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _delimited_fields(data: bytes) -> list[tuple[int, bytes]]:
    """(field number, payload) of a message whose fields are all length-delimited."""
    fields = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        if key & 7 != 2:
            raise ValueError("unexpected wire type")
        length, pos = _read_varint(data, pos)
        if pos + length > len(data):
            raise ValueError("truncated message")
        fields.append((key >> 3, data[pos : pos + length]))
        pos += length
    return fields


def _protobuf_pieces(body: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """Each span with the (resource-level, scope-level) fields it sits under, in order."""
    pieces: list[tuple[bytes, bytes, bytes]] = []
    for number, resource_spans in _delimited_fields(body):
        if number != 1:
            continue
        resource_fields = _delimited_fields(resource_spans)
        resource_head = b"".join(
            _field(bytes([n << 3 | 2]), v) for n, v in resource_fields if n != 2
        )
        for n, scope_spans in resource_fields:
            if n != 2:
                continue
            scope_fields = _delimited_fields(scope_spans)
            scope_head = b"".join(_field(bytes([m << 3 | 2]), v) for m, v in scope_fields if m != 2)
            for m, span in scope_fields:
                if m == 2:
                    pieces.append((resource_head, scope_head, span))
    return pieces


def _protobuf_join(pieces: Sequence[tuple[bytes, bytes, bytes]]) -> bytes:
    out = bytearray()
    index = 0
    while index < len(pieces):
        resource_head = pieces[index][0]
        scopes = bytearray()
        while index < len(pieces) and pieces[index][0] == resource_head:
            scope_head = pieces[index][1]
            spans = bytearray()
            while (
                index < len(pieces)
                and pieces[index][0] == resource_head
                and pieces[index][1] == scope_head
            ):
                spans += _field(b"\x12", pieces[index][2])
                index += 1
            scopes += _field(b"\x12", scope_head + bytes(spans))
        out += _field(b"\x0a", resource_head + bytes(scopes))
    return bytes(out)


def _json_split(body: bytes) -> Optional[tuple[bytes, bytes]]:
    request = json.loads(body)
    pieces = [
        (index, s_index, span)
        for index, resource in enumerate(request.get("resourceSpans", []))
        for s_index, scope in enumerate(resource.get("scopeSpans", []))
        for span in scope.get("spans", [])
    ]
    if len(pieces) < 2:
        return None

    def join(part: list[tuple[int, int, Any]]) -> bytes:
        resources: list[Any] = []
        keys: dict[tuple[int, int], list[Any]] = {}
        for r_index, s_index, span in part:
            if (r_index, s_index) not in keys:
                resource = dict(request["resourceSpans"][r_index])
                scope = dict(resource["scopeSpans"][s_index])
                scope["spans"] = keys[(r_index, s_index)] = []
                resource["scopeSpans"] = [scope]
                resources.append(resource)
            keys[(r_index, s_index)].append(span)
        return _json_encode({"resourceSpans": resources}).encode()

    half = len(pieces) // 2
    return join(pieces[:half]), join(pieces[half:])


def split_request(body: bytes, json_format: bool) -> Optional[tuple[bytes, bytes]]:
    """Two requests holding the first and second half of ``body``'s spans (None if < 2 spans)."""
    try:
        if json_format:
            return _json_split(body)
        pieces = _protobuf_pieces(body)
        if len(pieces) < 2:
            return None
        half = len(pieces) // 2
        return _protobuf_join(pieces[:half]), _protobuf_join(pieces[half:])
    except (ValueError, IndexError, KeyError, TypeError):
        return None

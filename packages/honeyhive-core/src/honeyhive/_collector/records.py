"""What the collector stores, as plain rows, and the errors a request can be refused with.

Both OTLP decoders (protobuf and JSON) produce the same :class:`SpanBatch`: one
:class:`SpanRow` per span, its attributes, events and links already JSON text, its event type,
model and token counts found by :mod:`.normalize`, ready for ``executemany``; the text search
indexes for each; and, per session the batch names, what the spans say about it
(:class:`SessionHint`), so that a session the collector has not seen can be created from them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_TIME_NS",
    "PayloadError",
    "SESSION_ID_KEYS",
    "SessionHint",
    "SpanBatch",
    "SpanRow",
    "dumps",
    "failure",
    "finite",
    "hint_from",
    "time_ns",
]

#: Session and event ids longer than this are refused (they are keys, not payloads).
MAX_ID_LENGTH = 256
#: The latest time the database can hold (SQLite integers are signed 64-bit): 2262-04-11.
MAX_TIME_NS = 2**63 - 1

#: Span attributes naming the span's session, first match wins.
SESSION_ID_KEYS = (
    "honeyhive.session_id",
    "traceloop.association.properties.session_id",
    "session.id",
)
_PROJECT_KEYS = ("honeyhive.project", "traceloop.association.properties.project")
_SOURCE_KEYS = ("honeyhive.source", "traceloop.association.properties.source")
_NAME_KEYS = ("honeyhive.session_name",)


class PayloadError(Exception):
    """A request the collector refuses; ``status`` is the HTTP status to answer with, and
    ``headers`` go with the answer (``Retry-After`` on a 503)."""

    def __init__(
        self, message: str, status: int = 400, headers: Optional[Mapping[str, str]] = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})

    def __reduce__(self) -> Any:  # the child parser sends it back whole
        return (PayloadError, (self.message, self.status, self.headers))


def time_ns(value: int, what: str) -> int:
    """``value`` if it is a time the database can store (0 to :data:`MAX_TIME_NS`), else a 400."""
    if not 0 <= value <= MAX_TIME_NS:
        raise PayloadError(f"{what} {value} is out of range (0 to {MAX_TIME_NS} ns, year 2262)")
    return value


class SpanRow(NamedTuple):
    """One span, in the column order of the ``spans`` table."""

    trace_id: str
    span_id: str
    parent_span_id: Optional[str]
    session_id: Optional[str]
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int  # 0 unset, 1 ok, 2 error (OTLP's numbering)
    status_message: str
    event_type: Optional[str]  # model, tool, chain (see .normalize)
    error: Optional[str]  # why the span failed, when its status is ERROR
    attributes: str  # JSON object
    events: str  # JSON list of {"name", "time_ns", "attributes"}
    links: str  # JSON list of {"trace_id", "span_id", "attributes"}
    resource: str  # JSON object of resource attributes
    scope: str  # JSON object {"name", "version"}
    model: Optional[str]  # the LLM it called (see .normalize)
    prompt_tokens: Optional[int]
    completion_tokens: Optional[int]
    total_tokens: Optional[int]


@dataclass(frozen=True)
class SessionHint:
    """What a span says about its session (the first span naming a session creates it)."""

    name: Optional[str]
    project: Optional[str]
    source: Optional[str]


@dataclass
class SpanBatch:
    """The spans of one export request, decoded and validated (all or nothing)."""

    rows: list[SpanRow] = field(default_factory=list)
    sessions: dict[str, SessionHint] = field(default_factory=dict)
    #: Per row: the text search indexes, (input, output).
    texts: list[tuple[str, str]] = field(default_factory=list)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    """Compact JSON text (non-finite floats must have been replaced: see :func:`finite`)."""
    return _ENCODER.encode(value)


def finite(value: float) -> Any:
    """A float JSON can carry: NaN and the infinities become the strings OTLP/JSON uses."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _text(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> Optional[str]:
    for key in keys:
        value = attributes.get(key)
        if value and type(value) is str:
            return value if len(value) <= MAX_ID_LENGTH else value[:MAX_ID_LENGTH]
    return None


def hint_from(attributes: Mapping[str, Any]) -> tuple[Optional[str], Optional[SessionHint]]:
    """The session a span names (if any) and what it says about that session."""
    session_id = _text(attributes, SESSION_ID_KEYS)
    if session_id is None:
        return None, None
    hint = SessionHint(
        name=_text(attributes, _NAME_KEYS),
        project=_text(attributes, _PROJECT_KEYS),
        source=_text(attributes, _SOURCE_KEYS),
    )
    return session_id, hint


def failure(
    attributes: Mapping[str, Any],
    status_code: int,
    status_message: str,
    events: Sequence[Mapping[str, Any]],
) -> Optional[str]:
    """Why a span failed (None when its status is not ERROR)."""
    if status_code != 2:
        return None
    if status_message:
        return status_message[:2000]
    recorded = attributes.get("honeyhive_error")
    if isinstance(recorded, str) and recorded:
        return recorded[:2000]
    for event in events:
        if event.get("name") == "exception":
            details = event.get("attributes") or {}
            kind, message = details.get("exception.type"), details.get("exception.message")
            text = ": ".join(str(part) for part in (kind, message) if part)
            return (text or "exception")[:2000]
    return "error"

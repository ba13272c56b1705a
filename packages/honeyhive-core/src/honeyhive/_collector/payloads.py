"""The HoneyHive API's JSON bodies (session start, events, event updates) -> records.

* ``POST /session/start`` ``{"session": {"session_name", "source", "session_id"?, "project"?,
  "inputs"?, "metadata"?}}``
* ``POST /events`` ``{"event": {"event_name", "event_type", "session_id"?, "event_id"?,
  "parent_id"?, "inputs"?, "outputs"?, "error"?, "duration"? (ms), "start_time"? (ms), ...}}``
* ``PUT /events`` ``{"event_id": <session or event id>, "metadata"?, "feedback"?, "metrics"?,
  "outputs"?, "config"?, "user_properties"?, "duration"?}``

Validation is about shape only (what the collector needs to file the record); every field the
client sent is kept as it came.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any, Optional

from honeyhive._collector.records import MAX_ID_LENGTH, MAX_TIME_NS, PayloadError, dumps, time_ns

__all__ = [
    "UPDATE_FIELDS",
    "EventRecord",
    "EventUpdate",
    "SessionStart",
    "event_body",
    "json_object",
    "parse_event",
    "parse_session_start",
    "parse_update",
    "session_start_body",
    "update_body",
]

#: The fields of an update that are merged into the session or event it names.
UPDATE_FIELDS = ("metadata", "feedback", "metrics", "outputs", "config", "user_properties")


@dataclass(frozen=True)
class SessionStart:
    session_id: str
    name: Optional[str]
    project: Optional[str]
    source: Optional[str]
    inputs: Optional[str]  # JSON
    metadata: Optional[str]  # JSON


@dataclass(frozen=True)
class EventRecord:
    event_id: str
    session_id: Optional[str]
    parent_id: Optional[str]
    name: str
    event_type: Optional[str]
    start_ns: int
    end_ns: int
    error: Optional[str]
    body: str  # the whole event as sent (JSON)


@dataclass(frozen=True)
class EventUpdate:
    target_id: str
    body: str  # the update as sent, without event_id (JSON)


def json_object(data: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    try:
        doc = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise PayloadError("malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise PayloadError(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PayloadError("the request body must be a JSON object")
    try:
        dumps(doc).encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("malformed JSON: unpaired surrogate escape") from None
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON text, but no number JSON can give back
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _id(value: Any, what: str) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a string")
    if len(value) > MAX_ID_LENGTH:
        raise PayloadError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    return value


def _text(value: Any, what: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a string")
    return value


def _json_field(value: Any, what: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object")
    return dumps(value)


_MAX_MILLIS = MAX_TIME_NS / 1e6


def _millis(value: Any, what: str) -> Optional[float]:
    """A number of milliseconds from 0 to year 2262 (what the database's nanoseconds hold)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{what} must be a number of milliseconds")
    try:
        millis = float(value)  # an int beyond a float's range raises OverflowError
    except OverflowError:
        millis = math.inf
    if not math.isfinite(millis) or millis > _MAX_MILLIS:
        raise PayloadError(f"{what} is out of range (at most {_MAX_MILLIS:.0f} ms, year 2262)")
    if millis < 0:
        raise PayloadError(f"{what} must not be negative")
    return millis


def _nanos(millis: float) -> int:
    return int(millis * 1e6)


def parse_session_start(doc: dict[str, Any]) -> SessionStart:
    session = doc.get("session")
    if not isinstance(session, dict):
        raise PayloadError('the body must be {"session": {...}}')
    return SessionStart(
        session_id=_id(session.get("session_id"), "session.session_id") or str(uuid.uuid4()),
        name=_text(session.get("session_name"), "session.session_name"),
        project=_text(session.get("project"), "session.project"),
        source=_text(session.get("source"), "session.source"),
        inputs=_json_field(session.get("inputs"), "session.inputs"),
        metadata=_json_field(session.get("metadata"), "session.metadata"),
    )


def parse_event(doc: dict[str, Any], received_ns: int) -> EventRecord:
    event = doc.get("event")
    if not isinstance(event, dict):
        raise PayloadError('the body must be {"event": {...}}')
    event_id = _id(event.get("event_id"), "event.event_id") or str(uuid.uuid4())
    duration = _millis(event.get("duration"), "event.duration") or 0.0
    start_ms = _millis(event.get("start_time"), "event.start_time")
    end_ms = _millis(event.get("end_time"), "event.end_time")
    if start_ms is not None:
        start_ns = _nanos(start_ms)
        end_ns = _nanos(end_ms) if end_ms is not None else start_ns + _nanos(duration)
    else:
        end_ns = _nanos(end_ms) if end_ms is not None else received_ns
        start_ns = end_ns - _nanos(duration)
    # Each field is in range; what they add up to (start + duration, end - duration) may not be.
    time_ns(start_ns, "event.start_time (end_time - duration)")
    time_ns(end_ns, "event.end_time (start_time + duration)")
    error = event.get("error")
    name = _text(event.get("event_name"), "event.event_name")
    return EventRecord(
        event_id=event_id,
        session_id=_id(event.get("session_id"), "event.session_id"),
        parent_id=_id(event.get("parent_id"), "event.parent_id"),
        name=name or "event",
        event_type=_text(event.get("event_type"), "event.event_type"),
        start_ns=start_ns,
        end_ns=max(end_ns, start_ns),
        error=None if error in (None, "") else (error if isinstance(error, str) else dumps(error)),
        body=dumps({**event, "event_id": event_id}),
    )


def parse_update(doc: dict[str, Any]) -> EventUpdate:
    target = _id(doc.get("event_id"), "event_id")
    if target is None:
        raise PayloadError("event_id is required and must be a non-empty string")
    for name in UPDATE_FIELDS:
        _json_field(doc.get(name), name)
    body = {key: value for key, value in doc.items() if key != "event_id" and value is not None}
    return EventUpdate(target_id=target, body=dumps(body))


# Whole bodies to records: module-level, so that the child parser can run them (see .child).


def session_start_body(data: bytes) -> SessionStart:
    return parse_session_start(json_object(data))


def event_body(received_ns: int, data: bytes) -> EventRecord:
    return parse_event(json_object(data), received_ns)


def update_body(data: bytes) -> EventUpdate:
    return parse_update(json_object(data))

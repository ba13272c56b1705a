"""The HoneyHive API's JSON bodies (session start, events, event updates) -> records.

* ``POST /session/start`` ``{"session": {"session_name", "source", "session_id"?, "project"?,
  "inputs"?, "metadata"?, ...}}``: any other field (``user_properties``, ``config``) is kept as
  an update of the session
* ``POST /events`` ``{"event": {"event_name", "event_type", "session_id"?, "event_id"?,
  "parent_id"?, "inputs"?, "outputs"?, "error"?, "duration"? (ms), "start_time"? (ms), ...}}``
* ``PUT /events`` ``{"event_id": <session or event id>, "metadata"?, "feedback"?, "metrics"?,
  "outputs"?, "config"?, "user_properties"?, "duration"?}``
* ``POST /events/batch`` ``{"events": [<event>, ...], "is_single_session"?, "session_properties"?
  (or ``session``)}``: each event as in ``POST /events``; one of type ``session`` starts the
  session its ``session_id`` names (its ``event_name`` is the session's name, and what it
  carries besides the start's fields is kept as an update of the session). With
  ``is_single_session`` every event joins one session (the first event's ``session_id``, else a
  new one), started with ``session_properties``.

Validation is about shape only (what the collector needs to file the record); every field the
client sent is kept as it came.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any, Optional, Union

from honeyhive._collector.records import MAX_ID_LENGTH, MAX_TIME_NS, PayloadError, dumps, time_ns

__all__ = [
    "UPDATE_FIELDS",
    "EventBatch",
    "EventRecord",
    "EventUpdate",
    "SessionStart",
    "event_body",
    "json_object",
    "parse_batch",
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


@dataclass(frozen=True)
class EventBatch:
    """What one ``POST /events/batch`` stores, in order, and what it answers."""

    items: list[Union[SessionStart, EventRecord, EventUpdate]]
    event_ids: list[str]
    session_id: Optional[str]  # the one session of an ``is_single_session`` batch


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


def parse_session_start(doc: dict[str, Any]) -> tuple[SessionStart, Optional[EventUpdate]]:
    """The start, and what the session carries besides (``user_properties``, ``config``, the
    evaluation ids the published SDK's ``session_start()`` puts beside ``metadata``), kept as
    an update of the session: nothing the client sent is lost."""
    session = doc.get("session")
    if not isinstance(session, dict):
        raise PayloadError('the body must be {"session": {...}}')
    start = SessionStart(
        session_id=_id(session.get("session_id"), "session.session_id") or str(uuid.uuid4()),
        name=_text(session.get("session_name"), "session.session_name"),
        project=_text(session.get("project"), "session.project"),
        source=_text(session.get("source"), "session.source"),
        inputs=_json_field(session.get("inputs"), "session.inputs"),
        metadata=_json_field(session.get("metadata"), "session.metadata"),
    )
    rest = {k: v for k, v in session.items() if k not in _SESSION_START_FIELDS and v is not None}
    if not rest:
        return start, None
    for name in UPDATE_FIELDS:
        _json_field(rest.get(name), f"session.{name}")
    return start, EventUpdate(target_id=start.session_id, body=dumps(rest))


#: The fields of ``POST /session/start`` that are the start itself.
_SESSION_START_FIELDS = frozenset(
    {"session_id", "session_name", "project", "source", "inputs", "metadata"}
)


def parse_event(doc: dict[str, Any], received_ns: int) -> EventRecord:
    event = doc.get("event")
    if not isinstance(event, dict):
        raise PayloadError('the body must be {"event": {...}}')
    return _event(event, received_ns)


def _event(event: dict[str, Any], received_ns: int) -> EventRecord:
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


#: The fields a session event starts its session with (the rest becomes an update of it).
_START_FIELDS = frozenset(
    {
        "event_type",
        "event_id",
        "session_id",
        "event_name",
        "project",
        "source",
        "inputs",
        "metadata",
        "start_time",
        "end_time",
        "duration",
        "children_ids",
        "parent_id",
    }
)


def parse_batch(doc: dict[str, Any], received_ns: int) -> EventBatch:
    """``POST /events/batch``: every event is checked before anything is stored."""
    events = doc.get("events")
    if not isinstance(events, list):
        raise PayloadError('the body must be {"events": [...]}')
    single = doc.get("is_single_session", doc.get("single_session"))
    if single is not None and not isinstance(single, bool):
        raise PayloadError("is_single_session must be true or false")
    properties = doc.get("session_properties", doc.get("session"))
    if properties is not None and not isinstance(properties, dict):
        raise PayloadError("session_properties must be a JSON object")
    items: list[Union[SessionStart, EventRecord, EventUpdate]] = []
    event_ids: list[str] = []
    session_id: Optional[str] = None
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise PayloadError(f"events[{index}] must be a JSON object")
    if single:
        session_id = next(
            (_id(e.get("session_id"), "event.session_id") for e in events if e.get("session_id")),
            None,
        ) or str(uuid.uuid4())
        first = events[0] if events else {}
        props = properties or {}
        items.append(
            SessionStart(
                session_id=session_id,
                name=_text(props.get("session_name"), "session_properties.session_name"),
                project=_text(first.get("project"), "events[0].project"),
                source=_text(first.get("source"), "events[0].source"),
                inputs=None,
                metadata=_json_field(props.get("metadata"), "session_properties.metadata"),
            )
        )
        events = [{**e, "session_id": session_id} for e in events]
    for index, event in enumerate(events):
        if event.get("event_type") == "session":
            start, extra = _session_event(event, index)
            items.append(start)
            if extra is not None:
                items.append(extra)
            event_ids.append(start.session_id)
        else:
            try:
                record = _event(event, received_ns)
            except PayloadError as exc:
                raise PayloadError(f"events[{index}]: {exc.message}", status=exc.status) from None
            items.append(record)
            event_ids.append(record.event_id)
    return EventBatch(items, event_ids, session_id)


def _session_event(event: dict[str, Any], index: int) -> tuple[SessionStart, Optional[EventUpdate]]:
    where = f"events[{index}]"
    session_id = (
        _id(event.get("session_id"), f"{where}.session_id")
        or _id(event.get("event_id"), f"{where}.event_id")
        or str(uuid.uuid4())
    )
    start = SessionStart(
        session_id=session_id,
        name=_text(event.get("event_name"), f"{where}.event_name"),
        project=_text(event.get("project"), f"{where}.project"),
        source=_text(event.get("source"), f"{where}.source"),
        inputs=_json_field(event.get("inputs"), f"{where}.inputs"),
        metadata=_json_field(event.get("metadata"), f"{where}.metadata"),
    )
    rest = {k: v for k, v in event.items() if k not in _START_FIELDS and v is not None}
    if not rest:
        return start, None
    for name in UPDATE_FIELDS:
        _json_field(rest.get(name), f"{where}.{name}")
    return start, EventUpdate(target_id=session_id, body=dumps(rest))


# Whole bodies to records: module-level, so that the child parser can run them (see .child).


def session_start_body(data: bytes) -> tuple[SessionStart, Optional[EventUpdate]]:
    return parse_session_start(json_object(data))


def event_body(received_ns: int, data: bytes) -> EventRecord:
    return parse_event(json_object(data), received_ns)


def update_body(data: bytes) -> EventUpdate:
    return parse_update(json_object(data))


def batch_body(received_ns: int, data: bytes) -> EventBatch:
    return parse_batch(json_object(data), received_ns)

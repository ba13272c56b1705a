"""Sessions and the API calls about them, built on the application thread.

A session is named in the context by baggage ``session_id`` (and, in an evaluation, ``run_id``,
``dataset_id``, ``datapoint_id``): every span started there belongs to it (the export wing's
``SessionProcessor`` copies it on), and so do ``enrich_session`` and ``create_event`` without a
``session_id``. With none, it is the tracer's own session.

* :func:`new_session` starts a session and makes it current in the *current context*: for the
  rest of the asyncio task, the thread's current scope (a request of an integration, a
  ``with_session`` block, a span), or of a task a thread pool runs (each runs in a copy of its
  submitter's context): never a tracer-wide "current session", so concurrent requests never see
  each other's. :func:`bind` makes an existing one current and returns the token that undoes it.
* :func:`session_event` is a session's start as the batch event that starts it (``POST
  /events/batch``); :func:`update_body` and :func:`event_body` are an enrichment
  (``PUT /events``) and a standalone event. Each goes into the tracer's ``ApiChannel`` (one
  ``deque.append`` here), which sends a session's start before anything that belongs to it.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api

from honeyhive._spans import DROP, event_type_for, safe_text

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "EVALUATION_KEYS",
    "UPDATE_FIELDS",
    "bind",
    "current_session_id",
    "event_body",
    "event_fields",
    "new_session",
    "session_event",
    "update_body",
]

#: The fields an enrichment (``PUT /events``) carries besides ``event_id`` and ``duration``.
UPDATE_FIELDS = ("metadata", "metrics", "feedback", "outputs", "config", "user_properties")
#: The evaluation ids a session carries in the context (and every span of it).
EVALUATION_KEYS = ("run_id", "dataset_id", "datapoint_id")

#: Event fields the protocol reads as identifiers and times: not captured data, not masked.
_EVENT_BOOKKEEPING = frozenset({"parent_id", "start_time", "end_time", "children_ids"})


def current_session_id(tracer: HoneyHiveTracer) -> str:
    """The session of the current context, else the tracer's own."""
    value = baggage.get_baggage("session_id")
    return value if isinstance(value, str) and value else tracer._session_id


def bind(session_id: str, evaluation: Optional[Mapping[str, str]] = None) -> object:
    """Make ``session_id`` (and the evaluation ids) current; returns the token that undoes it."""
    ctx = baggage.set_baggage("session_id", session_id)
    for key, value in (evaluation or {}).items():
        ctx = baggage.set_baggage(key, value, ctx)
    return context_api.attach(ctx)


def new_session(
    tracer: HoneyHiveTracer,
    call: str,
    *,
    session_name: Optional[str] = None,
    session_id: Optional[str] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    user_properties: Optional[Mapping[str, Any]] = None,
    source: Optional[str] = None,
    start: bool = True,
    evaluation: Optional[Mapping[str, str]] = None,
) -> tuple[str, object]:
    """Start a session (unless ``start`` is False: it exists already) and make it current.

    Returns its id, made here (or ``session_id``, a UUID), and the token that undoes making it
    current. Never waits on the network: the start goes out in the background, before
    anything of the session. ``evaluation``: run, dataset and datapoint ids its spans carry.
    """
    check = tracer._arguments
    chosen = None
    if session_id is not None:
        try:
            chosen = str(uuid.UUID(str(session_id)))
        except Exception:  # not a UUID, or an object whose str() fails
            check.report(call, "session_id", "must be a UUID; a new session id is used instead")
    sid = chosen or str(uuid.uuid4())
    if (start or chosen is None) and not tracer.closed:
        if not check.accepts(call, "session_name", session_name, str, "a string"):
            session_name = None
        if not check.accepts(call, "source", source, str, "a string"):
            source = None
        event = session_event(
            tracer,
            sid,
            session_name,
            check.mapping(call, "inputs", inputs),
            metadata=check.mapping(call, "metadata", metadata),
            user_properties=check.mapping(call, "user_properties", user_properties),
            source=source,
            evaluation=evaluation,
        )
        tracer._api.start_session(event)
    return sid, bind(sid, evaluation)


def session_event(
    tracer: HoneyHiveTracer,
    session_id: str,
    session_name: Optional[str] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    start_time: Optional[int] = None,
    *,
    metadata: Optional[Mapping[str, Any]] = None,
    user_properties: Optional[Mapping[str, Any]] = None,
    source: Optional[str] = None,
    evaluation: Optional[Mapping[str, str]] = None,
) -> dict[str, Any]:
    """A session's start as the batch event that starts it (``event_type`` ``session``);
    ``start_time`` in milliseconds since the epoch (default: now)."""
    settings = tracer._settings
    event: dict[str, Any] = {
        "event_type": "session",
        "event_id": session_id,
        "session_id": session_id,
        "event_name": session_name or settings.session_name,
        "source": source or settings.source,
        "start_time": int(time.time() * 1000) if start_time is None else start_time,
    }
    if settings.project:
        event["project"] = settings.project
    # Never the truth value of what the user gave: a mapping's __len__ may raise.
    if inputs is not None:
        copied = tracer._body(inputs, "inputs")
        if copied and copied is not DROP:
            event["inputs"] = copied
    ids = dict(settings.evaluation if evaluation is None else evaluation)
    if metadata is not None:
        copied = tracer._body(metadata, "metadata")
        if isinstance(copied, dict):
            ids = {**copied, **ids}
    if ids:
        event["metadata"] = ids
    if user_properties is not None:
        copied = tracer._body(user_properties, "user_properties")
        if copied and copied is not DROP:
            event["user_properties"] = copied
    return event


def update_body(
    tracer: HoneyHiveTracer,
    call: str,
    target: str,
    fields: Mapping[str, Any],
    inputs: Any = None,
    extra: Optional[Mapping[str, Any]] = None,
    duration: Any = None,
) -> dict[str, Any]:
    """An enrichment of ``target`` (``PUT /events``): the protocol's fields, with ``inputs``
    and any other named value folded into ``metadata`` (the update has no field for them)."""
    check = tracer._arguments
    body: dict[str, Any] = {"event_id": target}
    for name in UPDATE_FIELDS:
        value = check.mapping(call, name, fields.get(name))
        copied = tracer._body(value, name) if value is not None else None
        if copied and copied is not DROP:
            body[name] = copied
    folded: dict[str, Any] = {}
    session_inputs = check.mapping(call, "inputs", inputs)
    if session_inputs is not None:
        copied = tracer._body(session_inputs, "metadata.inputs")
        if copied and copied is not DROP:
            folded["inputs"] = copied
    for name, value in (extra or {}).items():
        if value is not None:
            copied = tracer._body(value, f"metadata.{name}")
            if copied is not DROP:
                folded[str(name)] = copied
    if folded:
        merged = body.get("metadata")
        body["metadata"] = {**(merged if isinstance(merged, dict) else {}), **folded}
    if duration is not None:
        if _is_number(duration):
            body["duration"] = duration
        else:
            check.report(call, "duration", "must be a finite number of milliseconds")
    return body


def event_fields(tracer: HoneyHiveTracer, given: Mapping[Any, Any]) -> dict[str, Any]:
    """``create_event({...})``: the event's fields from the one dict the published SDK takes
    (keys that are not names are left out, reported; an unreadable mapping gives none)."""
    try:
        items = list(given.items())
    except Exception:
        tracer._arguments.report("create_event", "event_name", "is a mapping that cannot be read")
        return {}
    fields = {k: v for k, v in items if isinstance(k, str) and k.isidentifier() and k != "self"}
    if len(fields) < len(items):
        tracer._arguments.report("create_event", "event_name", "has keys that are not names")
    return fields


def event_body(
    tracer: HoneyHiveTracer,
    event_name: Any,
    event_type: Any,
    session_id: Optional[str],
    duration: Any,
    captured: Mapping[str, Any],
) -> dict[str, Any]:
    """A standalone event (``POST /events``, batched): its id is made here."""
    check, limit = tracer._arguments, tracer._rules.max_length
    if not check.accepts("create_event", "session_id", session_id, str, "a string"):
        session_id = None
    if duration is not None and not _is_number(duration):
        check.report("create_event", "duration", "must be a finite number of milliseconds")
        duration = None
    session_id = session_id or current_session_id(tracer)
    if session_id == tracer._session_id:
        tracer._start_own_session()
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "project": tracer.project,
        "source": tracer.source,
        "event_name": safe_text(event_name, limit),
        "event_type": event_type_for(event_type),
        "session_id": session_id,
        "duration": duration,
    }
    for name, value in captured.items():
        if value is None or name in event:
            continue
        if name in ("config", "inputs", "outputs", "metadata", "metrics", "feedback"):
            value = check.mapping("create_event", name, value)
            if value is None:
                continue
        elif name == "error":
            value = safe_text(value, limit)
        copied = tracer._body(value, name, masked=name not in _EVENT_BOOKKEEPING)
        if copied is not None and copied is not DROP:
            event[name] = copied
    parent = trace_api.get_current_span().get_span_context()
    if parent.is_valid:
        event.setdefault("parent_id", format(parent.span_id, "016x"))
    return {k: v for k, v in event.items() if v is not None}


def _is_number(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and not (isinstance(value, float) and not math.isfinite(value))
    )

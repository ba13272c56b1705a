"""Sessions as indented trace trees for a terminal (``honeyhive traces``, the demo).

Works on the JSON the collector's API returns for a session (``GET /api/sessions/{id}``, or
:meth:`~.store.Store.session` when reading the database directly); standard library only.
Captured values reach the terminal as text only: control characters (an escape sequence in a
span name could clear the screen or retitle the window; a newline would break the tree) and
bidirectional overrides are shown escaped, ``\x1b``, ``\n``, ``\u202e``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

__all__ = ["error_text", "format_duration", "render_session", "render_summary"]

_KINDS = {2: "server", 3: "client", 4: "producer", 5: "consumer"}
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _printable(text: str) -> str:
    """``text`` with what a terminal would act on instead of showing escaped."""
    return _UNPRINTABLE.sub(
        lambda found: _NAMED.get(found.group(), found.group().encode("unicode_escape").decode()),
        text,
    )


def format_duration(ms: float) -> str:
    """``0.42 ms``, ``312.5 ms``, ``2.41 s``, ``3 min 5 s``."""
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(int(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _when(ns: int) -> str:
    moment = datetime.datetime.fromtimestamp(ns / 1e9)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def error_text(span: Mapping[str, Any]) -> Optional[str]:
    """Why a span failed (None if it did not): status message, recorded error or exception."""
    if span.get("status_code") != 2:
        return None
    if span.get("error"):
        return str(span["error"])
    attributes = span.get("attributes") or {}
    for candidate in (span.get("status_message"), attributes.get("honeyhive_error")):
        if isinstance(candidate, str) and candidate:
            return candidate
    for event in span.get("events") or ():
        if event.get("name") == "exception":
            exc = event.get("attributes") or {}
            kind, message = exc.get("exception.type", ""), exc.get("exception.message", "")
            return f"{kind}: {message}" if kind and message else str(kind or message)
    return "error"


def render_summary(session: Mapping[str, Any]) -> str:
    """One line about a session: name, id, when, duration, counts."""
    parts = [f"session {session.get('name') or '(unnamed)'}", f"[{session['session_id']}]"]
    details = []
    if session.get("project"):
        details.append(f"project {session['project']}")
    if session.get("source"):
        details.append(f"source {session['source']}")
    details.append(_when(session["start_ns"]))
    details.append(format_duration(session.get("duration_ms", 0.0)))
    details.append(_plural(session.get("span_count", 0), "span"))
    if session.get("event_count"):
        details.append(_plural(session["event_count"], "event"))
    errors = session.get("error_count", 0)
    if errors:
        details.append(f"{errors:,} ERROR{'' if errors == 1 else 'S'}")
    return _printable(" ".join(parts) + "  " + " | ".join(details))


def _label(span: Mapping[str, Any], services: Sequence[str], multi_service: bool) -> str:
    kind = span.get("event_type") or _KINDS.get(span.get("kind", 0))
    duration = max(0, span["end_ns"] - span["start_ns"]) / 1e6
    text = span.get("name") or "(unnamed)"
    if kind:
        text += f" [{kind}]"
    if multi_service:
        index = span.get("resource", 0)
        if isinstance(index, int) and 0 <= index < len(services) and services[index]:
            text += f" @{services[index]}"
    text += f"  {format_duration(duration)}"
    if span.get("model"):
        text += f"  {span['model']}"
    if span.get("total_tokens"):
        text += f" {span['total_tokens']:,} tokens"
    error = error_text(span)
    if error is not None:
        text += f"  ERROR: {error.splitlines()[0] if error else 'error'}"
    return text


def render_session(
    detail: Mapping[str, Any], *, unicode: bool = True, max_spans: int = 200
) -> list[str]:
    """The session's summary line and each of its traces as a tree (at most ``max_spans``)."""
    session = detail["session"]
    spans: list[Mapping[str, Any]] = list(detail.get("spans") or ())
    events: list[Mapping[str, Any]] = list(detail.get("events") or ())
    lines = [render_summary(session)]
    if not spans and not events:
        lines.append("  (no spans yet)")
        return lines
    services = [
        str((resource or {}).get("service.name") or "") for resource in detail.get("resources", ())
    ]
    multi_service = len({services[i] for i in {s.get("resource", 0) for s in spans}}) > 1
    tee, last, pipe, blank = (
        ("├─ ", "└─ ", "│  ", "   ") if unicode else ("|- ", "`- ", "|  ", "   ")
    )

    by_id = {span["span_id"]: span for span in spans}
    children: dict[Optional[str], list[Mapping[str, Any]]] = {}
    roots: dict[str, list[Mapping[str, Any]]] = {}
    for span in spans:  # already in start order
        parent = span.get("parent_span_id")
        if parent in by_id:
            children.setdefault(parent, []).append(span)
        else:
            roots.setdefault(span["trace_id"], []).append(span)
    events_under: dict[Optional[str], list[Mapping[str, Any]]] = {}
    for event in events:
        parent = event.get("parent_id")
        events_under.setdefault(parent if parent in by_id else None, []).append(event)

    shown = 0

    def event_line(event: Mapping[str, Any]) -> str:
        text = f"event {event.get('name')}"
        if event.get("event_type"):
            text += f" [{event['event_type']}]"
        if event.get("error"):
            text += f"  ERROR: {event['error']}"
        return text

    def walk(root: Mapping[str, Any], prefix: str, root_is_last: bool) -> None:
        nonlocal shown
        stack: list[tuple[Mapping[str, Any], str, bool]] = [(root, prefix, root_is_last)]
        while stack and shown < max_spans:
            item, outer, is_last = stack.pop()
            branch = outer + (last if is_last else tee)
            if "span_id" not in item:  # a standalone event under its parent span
                lines.append(branch + event_line(item))
                continue
            shown += 1
            lines.append(branch + _label(item, services, multi_service))
            inner = outer + (blank if is_last else pipe)
            kids = [*children.get(item["span_id"], ()), *events_under.get(item["span_id"], ())]
            for index in range(len(kids) - 1, -1, -1):  # pushed in reverse: popped in order
                stack.append((kids[index], inner, index == len(kids) - 1))

    for trace_id, trace_roots in roots.items():
        if shown >= max_spans:
            break
        lines.append(f"  trace {trace_id}")
        for index, root in enumerate(trace_roots):
            walk(root, "  ", index == len(trace_roots) - 1)
    for event in events_under.get(None, ()):
        lines.append("  " + event_line(event))
    if shown < len(spans):
        lines.append(f"  ... {len(spans) - shown:,} more spans (open the session in the viewer)")
    return [_printable(line) for line in lines]

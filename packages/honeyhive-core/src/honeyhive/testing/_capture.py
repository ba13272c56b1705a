"""Capturing a tracer's spans in memory, with the whole per-span pipeline still running."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Optional

from opentelemetry.sdk.trace import ReadableSpan

from honeyhive._context import get_default_tracer, set_default_tracer
from honeyhive._export import MemoryExporter
from honeyhive._tracer import HoneyHiveTracer
from honeyhive.testing._ids import SequentialIdGenerator
from honeyhive.testing._model import CapturedCall, CapturedEvent, CapturedSpan

__all__ = ["SpanCapture", "capture"]

_DETERMINISTIC_SESSION = "00000000-0000-4000-8000-000000000001"
_EPOCH = 1_700_000_000_000_000_000  # a fixed start for normalised timestamps
_TICK = 1_000_000  # one millisecond between consecutive moments
_NOT_START_FIELDS = frozenset({"event_type", "event_name", "event_id"})


class SpanCapture:
    """What one tracer would have sent, captured in memory.

    Spans went through everything a real export goes through (processors, the export-time
    enrichment, redaction, encoding checks) except the network.
    """

    def __init__(self, tracer: HoneyHiveTracer, deterministic: bool) -> None:
        self.tracer = tracer
        self.deterministic = deterministic
        self.calls: list[CapturedCall] = []
        memory = [e for e in tracer._exporters if isinstance(e, MemoryExporter)]
        if not memory:
            raise ValueError("the tracer has no 'memory' exporter to capture from")
        self._memory = memory[0]
        tracer._api.attach_sink(self._record_call)

    def _record_call(self, method: str, path: str, body: bytes) -> None:
        self.calls.append(CapturedCall(method, path, json.loads(body)))

    # -- reading ------------------------------------------------------------------------------

    @property
    def spans(self) -> list[CapturedSpan]:
        """Every span ended so far, in the order they ended (waits for the pipeline)."""
        self.tracer.flush(5.0)
        return self._convert(self._memory.spans())

    def find(self, name: str) -> CapturedSpan:
        """The one span called ``name`` (AssertionError, showing the tree, if not exactly one)."""
        found = self.find_all(name)
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one span named {name!r}, found {len(found)}:\n{self.tree()}"
            )
        return found[0]

    def find_all(self, name: str) -> list[CapturedSpan]:
        return [span for span in self.spans if span.name == name]

    def of_type(self, event_type: str) -> list[CapturedSpan]:
        """Spans whose ``honeyhive_event_type`` is ``model``, ``tool`` or ``chain``."""
        return [span for span in self.spans if span.event_type == event_type]

    def children(self, parent: CapturedSpan) -> list[CapturedSpan]:
        return [span for span in self.spans if span.parent_id == parent.span_id]

    def _calls(self) -> list[CapturedCall]:
        self.tracer.flush(5.0)  # calls are encoded in the background, like spans
        return list(self.calls)

    def _batched(self) -> list[dict[str, Any]]:
        """Every event of every ``POST /events/batch`` (session starts included), in order."""
        return [
            event
            for call in self._calls()
            if call.path == "/events/batch" and call.method == "POST"
            for event in call.body.get("events", ())
        ]

    @property
    def events(self) -> list[dict[str, Any]]:
        """Events recorded with ``create_event`` (as sent, in ``POST /events/batch``)."""
        return [event for event in self._batched() if event.get("event_type") != "session"]

    @property
    def session_starts(self) -> list[dict[str, Any]]:
        """Sessions started, in the shape of a session start: ``session_name``, ``session_id``,
        ``source``, ``project``, ``inputs``, ``metadata`` (sent as batch events of type
        ``session``)."""
        starts = []
        for event in self._batched():
            if event.get("event_type") == "session":
                start = {k: v for k, v in event.items() if k not in _NOT_START_FIELDS}
                start["session_name"] = event.get("event_name")
                starts.append(start)
        return starts

    @property
    def session_updates(self) -> list[dict[str, Any]]:
        """Bodies of enrichments (``PUT /events``: ``enrich_session``)."""
        return [dict(call.body) for call in self._calls() if call.method == "PUT"]

    def tree(self, attributes: Sequence[str] = ()) -> str:
        """The captured traces as an indented tree, e.g. for an assertion's message::

        answer [chain]
          search_docs [tool]
          chat_completion [model] ERROR: TimeoutError: ...
        """
        spans = self.spans
        ids = {span.span_id for span in spans}
        lines: list[str] = []

        def walk(span: CapturedSpan, depth: int) -> None:
            label = span.name + (f" [{span.event_type}]" if span.event_type else "")
            if span.status == "ERROR":
                label += f" ERROR: {span.status_message}" if span.status_message else " ERROR"
            shown = [
                f"{key}={span.attributes[key]!r}" for key in attributes if key in span.attributes
            ]
            lines.append("  " * depth + label + (f" ({', '.join(shown)})" if shown else ""))
            for child in sorted(self._children(spans, span), key=lambda s: s.start_time):
                walk(child, depth + 1)

        roots = [s for s in spans if s.parent_id is None or s.parent_id not in ids]
        for root in sorted(roots, key=lambda s: s.start_time):
            walk(root, 0)
        return "\n".join(lines)

    @staticmethod
    def _children(spans: list[CapturedSpan], parent: CapturedSpan) -> list[CapturedSpan]:
        return [span for span in spans if span.parent_id == parent.span_id]

    def clear(self) -> None:
        """Forget what was captured so far."""
        self.tracer.flush(5.0)
        self._memory.clear()
        self.calls.clear()

    # -- conversion ---------------------------------------------------------------------------

    def _convert(self, spans: list[ReadableSpan]) -> list[CapturedSpan]:
        clock = _Clock(spans) if self.deterministic else None
        return [self._one(span, clock) for span in spans]

    @staticmethod
    def _one(span: ReadableSpan, clock: Optional[_Clock]) -> CapturedSpan:
        context = span.get_span_context()
        parent = span.parent
        status = span.status
        start = span.start_time or 0
        end = span.end_time or 0
        events = tuple(
            CapturedEvent(
                event.name,
                dict(event.attributes or {}),
                clock(event.timestamp) if clock else event.timestamp,
            )
            for event in span.events
        )
        return CapturedSpan.from_attributes(
            span.attributes or {},
            name=span.name,
            kind=span.kind.name,
            trace_id=format(context.trace_id, "032x") if context else "",
            span_id=format(context.span_id, "016x") if context else "",
            parent_id=format(parent.span_id, "016x") if parent else None,
            status=status.status_code.name,
            status_message=status.description,
            events=events,
            start_time=clock(start) if clock else start,
            end_time=clock(end) if clock else end,
        )


class _Clock:
    """Maps real timestamps to fixed ones, keeping their order (ties stay ties)."""

    def __init__(self, spans: list[ReadableSpan]) -> None:
        moments: set[int] = set()
        for span in spans:
            moments.update(t for t in (span.start_time, span.end_time) if t)
            moments.update(event.timestamp for event in span.events)
        self._map = {moment: _EPOCH + index * _TICK for index, moment in enumerate(sorted(moments))}

    def __call__(self, timestamp: int) -> int:
        return self._map.get(timestamp, timestamp)


@contextmanager
def capture(
    *, deterministic: bool = False, patch_default: bool = True, **settings: Any
) -> Iterator[SpanCapture]:
    """A tracer whose spans are captured in memory instead of sent.

    ``settings`` are ``HoneyHiveTracer`` settings (``project`` defaults to ``"test"``). With
    ``deterministic=True`` trace and span ids count up from 1, the session id is fixed and
    captured timestamps are replaced by evenly spaced ones in the same order. With
    ``patch_default=True`` (the default) the tracer is the default tracer inside the block, so
    a bare ``@trace`` and integrations built without ``tracer=`` report to it.
    """
    settings.setdefault("project", "test")
    settings.setdefault("schedule_delay", 0.01)
    settings["test_mode"] = True
    # The honeyhive exporter runs too (in test mode it encodes every batch and sends nothing),
    # so an attribute the wire format cannot carry fails here as it would in production.
    exporters = list(settings.get("exporters") or ["honeyhive"])
    if "memory" not in exporters:
        exporters.append("memory")
    settings["exporters"] = exporters
    if deterministic:
        settings.setdefault("session_id", _DETERMINISTIC_SESSION)
        settings.setdefault("session_name", "test")
    tracer = HoneyHiveTracer(**settings)
    if deterministic and settings["session_id"] == _DETERMINISTIC_SESSION:
        tracer._start_own_session_later()  # a fixed id, but still a new session
    if deterministic:
        generator = SequentialIdGenerator()
        tracer.provider.id_generator = generator  # type: ignore[assignment]
        tracer._spans.id_generator = generator
    previous = get_default_tracer()
    if patch_default:
        set_default_tracer(tracer)
    try:
        yield SpanCapture(tracer, deterministic)
    finally:
        if patch_default:
            set_default_tracer(previous if previous is not tracer else None)
        tracer.close()

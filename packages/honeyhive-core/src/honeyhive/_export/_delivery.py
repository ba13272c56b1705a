"""The tracer's delivery thread: from finished spans to encoded requests.

The application thread's share of the work is a ``deque.append`` (atomic under the GIL, no lock)
and, once a batch is full, setting an event. The delivery thread takes batches, runs the
export-time preparation (``_prepare``) and hands them to every exporter. The built-in HTTP
exporters only encode here and queue the request in their outbox, which sends from its own
thread (``_outbox``), so this thread never waits on the network. API calls (session starts,
events, enrichments) are drained from the API channel (``_api``) here too, just before each
span batch: the batch then carries a ticket that keeps it behind the session starts handed over
before it. Spans of a session that is still *open* (a request in progress: its start is sent
when it ends, named after the request) are held until that session starts.

``flush`` is honest: it returns True only if nothing was dropped or spooled between the moment it
was called and the moment everything queued before it was finished, and it never waits longer
than its timeout. After ``os.fork`` the child gets a fresh thread and an empty queue (the parent
still owns and sends the spans it had queued).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from opentelemetry import context as context_api
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from honeyhive._context import SUPPRESS_KEY, sdk_thread
from honeyhive._diagnostics import DropCounter, internal_error, logger
from honeyhive._export._api import ApiChannel
from honeyhive._export._order import Ticket
from honeyhive._export._prepare import SpanPreparer

__all__ = ["Delivery"]

_SESSION_KEY = "honeyhive.session_id"  # see _processors.SESSION_ATTRIBUTE


@dataclass
class _Marker:
    done: threading.Event = field(default_factory=threading.Event)


class Delivery:
    """Queues finished spans and hands them, prepared, to the exporters from one thread."""

    def __init__(
        self,
        *,
        exporters: Sequence[SpanExporter],
        names: Sequence[str],
        preparer: SpanPreparer,
        api: ApiChannel,
        max_queue_size: int,
        max_batch: int,
        schedule_delay: float,
        export_each_span: bool,
    ) -> None:
        self._exporters = tuple(exporters)
        self._names = tuple(names)
        # What each exporter lost: its own counter if it keeps one, else one kept here.
        self._exporter_drops = tuple(_drops_of(e) for e in exporters)
        # Exporters to the API's own backend keep their batches behind the session starts.
        self._ordered = tuple(getattr(e, "orders_after_sessions", False) for e in exporters)
        self._preparer = preparer
        self.api = api
        self._max_queue = max_queue_size
        self._max_batch = 1 if export_each_span else max_batch
        self._delay = schedule_delay
        self._each = export_each_span
        self.span_drops = DropCounter("spans")
        self._spans: deque[ReadableSpan] = deque()
        self._held: dict[str, list[ReadableSpan]] = {}  # spans of open sessions
        self._held_count = 0
        self._markers: deque[_Marker] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._baseline = 0  # failures() at the end of the previous flush
        self._thread: Optional[threading.Thread] = None
        self._start_thread()
        _live.add(self)

    # -- application side ---------------------------------------------------------------------

    def add_span(self, span: ReadableSpan) -> None:
        """Queue a finished span (the hot path: no lock, no allocation beyond the append)."""
        spans = self._spans
        if len(spans) >= self._max_queue or self._closed:
            self.span_drops.add("shutdown" if self._closed else "queue_full")
            return
        spans.append(span)
        if self._each or len(spans) >= self._max_batch:
            self._wake.set()

    def wake(self) -> None:
        """Send what is queued now rather than at the next scheduled export."""
        self._wake.set()

    def failures(self) -> int:
        """Everything lost or spooled so far, across the pipeline."""
        total = self.span_drops.total() + self.api.failures()
        for exporter, drops in zip(self._exporters, self._exporter_drops):
            failures = getattr(exporter, "failures", None)
            total += failures() if failures is not None else drops.total()
        return total

    def dropped(self) -> dict[str, int]:
        """Spans lost, by reason, across the delivery thread and every exporter."""
        merged = dict(self.span_drops.snapshot())
        for drops in self._exporter_drops:
            for reason, count in drops.snapshot().items():
                merged[reason] = merged.get(reason, 0) + count
        return merged

    def dropped_by_exporter(self) -> dict[str, dict[str, int]]:
        """What was lost where: ``queue`` (spans, before any exporter), each exporter by its
        plug-in name (spans), and ``api`` (API calls), each by reason."""
        lost = {"queue": dict(self.span_drops.snapshot())}
        for name, drops in zip(self._names, self._exporter_drops):
            counts = drops.snapshot()
            mine = lost.setdefault(name, dict.fromkeys(counts, 0))
            for reason, count in counts.items():
                mine[reason] = mine.get(reason, 0) + count
        lost["api"] = dict(self.api.drops.snapshot())
        return lost

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued now is delivered; False on a timeout or on any loss
        since the previous flush (a span dropped before this call was handed to it too)."""
        deadline = time.monotonic() + max(0.0, timeout)
        before = self._baseline
        try:
            return self._flush(deadline) and self.failures() == before
        finally:
            self._baseline = self.failures()

    def _flush(self, deadline: float) -> bool:
        thread = self._thread
        if thread is not None and thread.is_alive() and not self._closed:
            marker = _Marker()
            self._markers.append(marker)
            self._wake.set()
            if not marker.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        elif self._spans or self._held or self.api.pending():
            return False
        return all(waiter(deadline) for waiter in self._waiters())

    def _waiters(self) -> list[Any]:
        waiters = [getattr(e, "wait", None) for e in self._exporters]
        waiters.append(self.api.wait)
        return [w for w in waiters if w is not None]

    def shutdown(self, timeout: float) -> bool:
        """Deliver what is queued within ``timeout``, then stop; what is left is counted."""
        if self._closed:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        ok = self.flush(timeout)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, min(0.1, deadline - time.monotonic())))
        self.span_drops.add("shutdown", len(self._spans) + self._held_count)
        self._spans.clear()
        self._held.clear()
        self._held_count = 0
        for exporter in self._exporters:
            try:
                close = getattr(exporter, "close", None)
                if close is not None:
                    close(deadline)
                else:
                    exporter.shutdown()
            except Exception as exc:
                internal_error("exporter shutdown", exc)
            except SystemExit:  # a plug-in's sys.exit must not end the caller's close()
                logger.warning("exporter %r raised SystemExit when shut down; ignored", exporter)
        self.api.close(deadline)
        return ok

    # -- delivery thread ----------------------------------------------------------------------

    def _start_thread(self) -> None:
        thread = sdk_thread(self._run, "honeyhive-delivery")
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        # Nothing this thread does is traced: HTTP instrumentation sees this key and stands back.
        context_api.attach(context_api.set_value(SUPPRESS_KEY, True))
        last_export = time.monotonic()
        while True:
            try:
                if not self._stop.is_set() and not self._markers:
                    self._wake.wait(self._delay)
                self._wake.clear()
                markers = list(self._markers)
                flushing = bool(markers) or self._stop.is_set()
                due = time.monotonic() - last_export >= self._delay
                if flushing:
                    # A flush delivers all that was handed over: the open sessions holding some
                    # of it start now. Twice: the first pass may find more to hold.
                    for _ in range(2):
                        self.api.start_early(set(self._held) | self.api.held_sessions)
                        self.api.drain()
                        self._export_spans(True)
                    last_export = time.monotonic()
                else:
                    self.api.drain()
                    drain = due or self._each
                    if drain or self._held or len(self._spans) >= self._max_batch:
                        self._export_spans(drain)
                        last_export = time.monotonic()
                for marker in markers:
                    marker.done.set()
                    with contextlib.suppress(ValueError):
                        self._markers.remove(marker)
                if self._stop.is_set() and not self._spans:
                    self.api.drain()
                    return
            except BaseException as exc:  # the thread must survive anything, SystemExit too
                internal_error("delivery thread", exc)
                # A failure that repeats is paced, not looped hot; once closing, what is left
                # is counted by shutdown().
                if self._stop.wait(min(max(self._delay, 0.05), 1.0)):
                    return

    def _export_spans(self, drain: bool) -> None:
        spans = self._spans
        while True:
            # Which sessions are open is read first: a span whose session is found started
            # here has that start among the calls drained below, so its ticket covers it.
            still_open = self.api.open_sessions()
            released = self._released(still_open) if self._held else []
            if not spans and not released:
                return
            if not drain and not released and len(spans) < self._max_batch:
                return  # a partial batch waits for the schedule
            take = min(max(0, self._max_batch - len(released)), len(spans))
            batch = released + [spans.popleft() for _ in range(take)]
            if still_open:
                batch = self._hold(batch, still_open)
            ticket = self.api.drain()
            if not batch:
                continue
            try:
                prepared = self._preparer.prepare(batch, self.api.names.get)
            except Exception as exc:
                internal_error("preparing spans for export", exc)
                self.span_drops.add("internal_error", len(batch))
                continue
            for exporter, ordered, drops in zip(
                self._exporters, self._ordered, self._exporter_drops
            ):
                self._export_one(exporter, prepared, ticket if ordered else None, drops)

    def _hold(self, batch: list[ReadableSpan], still_open: frozenset[str]) -> list[ReadableSpan]:
        ready = []
        for span in batch:
            session = (span.attributes or {}).get(_SESSION_KEY)
            if session in still_open:
                self._held.setdefault(session, []).append(span)
                self._held_count += 1
            else:
                ready.append(span)
        if self._held_count > self._max_queue // 2:  # requests that never end: start them
            self.api.start_early(list(self._held))
        return ready

    def _released(self, still_open: frozenset[str]) -> list[ReadableSpan]:
        released: list[ReadableSpan] = []
        for session in [s for s in self._held if s not in still_open]:
            spans = self._held.pop(session)
            self._held_count -= len(spans)
            released.extend(spans)
        return released

    def _export_one(
        self,
        exporter: SpanExporter,
        spans: list[ReadableSpan],
        ticket: Optional[Ticket],
        drops: DropCounter,
    ) -> None:
        try:
            export_batch = getattr(exporter, "export_batch", None)
            if export_batch is not None:
                if ticket is not None:
                    export_batch(spans, after=ticket)
                else:
                    export_batch(spans)
            elif exporter.export(spans) is not SpanExportResult.SUCCESS:
                drops.add("network_error", len(spans))
        except BaseException as exc:  # a plug-in's SystemExit must not end this thread
            if hasattr(exporter, "export_batch"):  # one of ours: a bug, counted as such
                internal_error(f"exporting with {exporter!r}", exc)
            else:
                logger.warning(
                    "exporter %r raised %s; its batch is dropped", exporter, type(exc).__name__
                )
            drops.add("internal_error", len(spans))

    # -- fork ---------------------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        # The parent delivers what it had queued; the child starts empty with a fresh thread.
        self._spans.clear()
        self._held.clear()
        self._held_count = 0
        self.api.after_fork_in_child()
        for marker in self._markers:
            marker.done.set()
        self._markers.clear()
        self._wake = threading.Event()
        self._stop = threading.Event()
        if not self._closed:
            self._start_thread()


def _drops_of(exporter: SpanExporter) -> DropCounter:
    drops = getattr(exporter, "drops", None)
    return drops if isinstance(drops, DropCounter) else DropCounter("spans")


_live: weakref.WeakSet[Delivery] = weakref.WeakSet()


def _after_fork() -> None:
    for delivery in list(_live):
        try:
            delivery._after_fork_in_child()
        except Exception as exc:
            internal_error("restarting delivery after fork", exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

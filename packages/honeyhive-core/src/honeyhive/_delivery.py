"""The background worker that takes finished spans and API calls to the backend.

One daemon thread per tracer. The application thread's share of the work is a ``deque.append``
(atomic under the GIL, no lock) and, once a batch is full, setting an event. The worker sends the
queued API calls first (a session start precedes its spans), then spans in batches, through the
export-time preparer and every exporter.

``flush`` is honest: it returns True only if nothing was dropped between the moment it was
called and the moment the worker had drained everything queued before it, and it never waits
longer than its timeout. After ``os.fork`` the child gets a fresh worker, fresh locks and an empty
queue (the parent still owns and sends the spans it had queued).
"""

from __future__ import annotations

import contextlib
import json
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

from honeyhive._diagnostics import DropCounter, internal_error, logger
from honeyhive._prepare import SpanPreparer
from honeyhive._transport import HttpTransport

__all__ = ["ApiCall", "Delivery"]

_SUPPRESS_KEY = getattr(context_api, "_SUPPRESS_INSTRUMENTATION_KEY", "suppress_instrumentation")


@dataclass(frozen=True)
class ApiCall:
    """One JSON request to the HoneyHive API (session start, event, enrichment)."""

    method: str
    path: str
    body: dict[str, Any]


@dataclass
class _Marker:
    failures_before: int
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False


class Delivery:
    """Queues spans and API calls and delivers them from one background thread."""

    def __init__(
        self,
        *,
        exporters: Sequence[SpanExporter],
        preparer: SpanPreparer,
        api: Optional[HttpTransport],
        max_queue_size: int,
        max_batch: int,
        schedule_delay: float,
        export_timeout: float,
        export_each_span: bool,
    ) -> None:
        self._exporters = tuple(exporters)
        self._preparer = preparer
        self._api = api  # None in test mode: calls are built, never sent
        self._max_queue = max_queue_size
        self._max_batch = 1 if export_each_span else max_batch
        self._delay = schedule_delay
        self._timeout = export_timeout
        self._each = export_each_span
        self.span_drops = DropCounter("spans")
        self.call_drops = DropCounter("API calls")
        self._spans: deque[ReadableSpan] = deque()
        self._calls: deque[ApiCall] = deque()
        self._markers: deque[_Marker] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self._start_thread()
        _register_fork_hook(self)

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

    def add_call(self, call: ApiCall) -> None:
        if self._closed:
            self.call_drops.add("shutdown")
            return
        self._calls.append(call)
        self._wake.set()

    def _failures(self) -> int:
        return self.span_drops.total() + self.call_drops.total()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued now is delivered; False on any loss or on timeout."""
        if self._thread is None or not self._thread.is_alive():
            return not self._spans and not self._calls
        marker = _Marker(self._failures())
        self._markers.append(marker)
        self._wake.set()
        if not marker.done.wait(max(0.0, timeout)):
            return False
        return marker.ok

    def shutdown(self, timeout: float) -> bool:
        """Deliver what is queued within ``timeout``, then stop; what is left is counted."""
        if self._closed:
            return True
        ok = self.flush(timeout)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(0.2)
        self.span_drops.add("shutdown", len(self._spans))
        self.call_drops.add("shutdown", len(self._calls))
        self._spans.clear()
        self._calls.clear()
        for exporter in self._exporters:
            try:
                exporter.shutdown()
            except Exception as exc:
                internal_error("exporter shutdown", exc)
        if self._api is not None:
            self._api.close()
        return ok

    @property
    def pending(self) -> int:
        return len(self._spans) + len(self._calls)

    # -- worker side --------------------------------------------------------------------------

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._run, name="honeyhive-delivery", daemon=True)
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        # Nothing the worker does is traced: HTTP instrumentation sees this key and stands back.
        context_api.attach(context_api.set_value(_SUPPRESS_KEY, True))
        last_export = time.monotonic()
        while True:
            try:
                if not self._stop.is_set() and not self._markers:
                    self._wake.wait(self._delay)
                self._wake.clear()
                self._send_calls()
                due = time.monotonic() - last_export >= self._delay
                drain = due or bool(self._markers) or self._stop.is_set() or self._each
                markers = list(self._markers)
                if drain or len(self._spans) >= self._max_batch:
                    self._export_spans(drain)
                    last_export = time.monotonic()
                if markers:
                    self._send_calls()
                    self._resolve(markers)
                if self._stop.is_set() and not self._spans and not self._calls:
                    return
            except Exception as exc:  # the worker must survive anything
                internal_error("delivery worker", exc)

    def _resolve(self, markers: list[_Marker]) -> None:
        failures = self._failures()
        for marker in markers:
            marker.ok = failures == marker.failures_before
            marker.done.set()
            with contextlib.suppress(ValueError):
                self._markers.remove(marker)

    def _send_calls(self) -> None:
        calls = self._calls
        while calls:
            call = calls.popleft()
            if self._api is None:
                continue
            body = json.dumps(call.body, default=str).encode()
            result = self._api.send(
                call.method,
                call.path,
                body,
                {"Content-Type": "application/json"},
                deadline=time.monotonic() + self._timeout,
                stop=self._stop,
            )
            if not result.ok:
                self.call_drops.add(result.reason or "network_error")

    def _export_spans(self, drain: bool) -> None:
        spans = self._spans
        while spans and (drain or len(spans) >= self._max_batch):
            batch = [spans.popleft() for _ in range(min(self._max_batch, len(spans)))]
            try:
                prepared = self._preparer.prepare(batch)
            except Exception as exc:
                internal_error("preparing spans for export", exc)
                self.span_drops.add("internal_error", len(batch))
                continue
            deadline = time.monotonic() + self._timeout
            for exporter in self._exporters:
                self._export_one(exporter, prepared, deadline)
            if self._calls:  # calls queued meanwhile go first (e.g. a new session start)
                self._send_calls()

    def _export_one(
        self, exporter: SpanExporter, spans: list[ReadableSpan], deadline: float
    ) -> None:
        try:
            export_batch = getattr(exporter, "export_batch", None)
            if export_batch is not None:
                failures: dict[str, int] = export_batch(spans, deadline, self._stop)
                for reason, count in failures.items():
                    self.span_drops.add(reason, count)
            elif exporter.export(spans) is not SpanExportResult.SUCCESS:
                self.span_drops.add("network_error", len(spans))
        except Exception as exc:
            logger.warning("exporter %r raised %s; its batch is dropped", exporter, type(exc))
            self.span_drops.add("internal_error", len(spans))

    # -- fork ---------------------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        # The parent delivers what it had queued; the child starts empty with a fresh thread.
        self._spans.clear()
        self._calls.clear()
        for marker in self._markers:
            marker.done.set()
        self._markers.clear()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.span_drops.reset_after_fork()
        self.call_drops.reset_after_fork()
        if not self._closed:
            self._start_thread()


_live: weakref.WeakSet[Delivery] = weakref.WeakSet()


def _after_fork() -> None:
    for delivery in list(_live):
        try:
            delivery._after_fork_in_child()
        except Exception as exc:
            internal_error("restarting delivery after fork", exc)


def _register_fork_hook(delivery: Delivery) -> None:
    _live.add(delivery)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

"""The tracer's delivery thread: from finished spans to encoded requests.

The application thread's share of the work is a ``deque.append`` (atomic under the GIL, no lock)
and, once a batch is full, setting an event. The delivery thread takes batches, runs the
export-time preparation (``_prepare``) and hands them to every exporter. The built-in HTTP
exporters only encode here and queue the request in their outbox, which sends from its own
thread (``_outbox``), so this thread never waits on the network. API calls (session start,
events, enrichments) go straight to the API outbox.

``flush`` is honest: it returns True only if nothing was dropped or spooled between the moment it
was called and the moment everything queued before it was finished, and it never waits longer
than its timeout. After ``os.fork`` the child gets a fresh thread and an empty queue (the parent
still owns and sends the spans it had queued).
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
from typing import Any, Callable, Optional

from opentelemetry import context as context_api
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from honeyhive import _forksafe as forksafe
from honeyhive._context import SUPPRESS_KEY
from honeyhive._diagnostics import DropCounter, internal_error, logger
from honeyhive._export._outbox import Outbox, Parcel
from honeyhive._export._prepare import SpanPreparer

__all__ = ["Delivery"]


@dataclass
class _Marker:
    done: threading.Event = field(default_factory=threading.Event)


class Delivery:
    """Queues finished spans and hands them, prepared, to the exporters from one thread."""

    def __init__(
        self,
        *,
        exporters: Sequence[SpanExporter],
        preparer: SpanPreparer,
        api: Optional[Outbox],
        api_base: str,
        max_queue_size: int,
        max_batch: int,
        schedule_delay: float,
        export_each_span: bool,
        call_drops: DropCounter,
    ) -> None:
        self._exporters = tuple(exporters)
        self._preparer = preparer
        self._api = api  # None in test mode: calls are built, never sent
        self._api_base = api_base
        self._max_queue = max_queue_size
        self._max_batch = 1 if export_each_span else max_batch
        self._delay = schedule_delay
        self._each = export_each_span
        self.span_drops = DropCounter("spans")
        # Shared with the API outbox, which counts the calls it loses there too.
        self.call_drops = call_drops
        self._spans: deque[ReadableSpan] = deque()
        self._calls: deque[tuple[str, str, dict[str, Any]]] = deque()
        self._markers: deque[_Marker] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._baseline = 0  # failures() at the end of the previous flush
        self._call_sink: Optional[Callable[[str, str, bytes], None]] = None
        self._early_calls: list[tuple[str, str, bytes]] = []
        self._sink_lock = forksafe.Lock()
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

    def add_call(self, method: str, path: str, body: dict[str, Any]) -> None:
        """Queue a JSON call to the HoneyHive API; it is encoded and sent in the background."""
        if self._closed:
            self.call_drops.add("shutdown")
            return
        self._calls.append((method, path, body))

    def _send_calls(self) -> None:
        calls = self._calls
        while calls:
            self._encode_call(*calls.popleft())

    def _encode_call(self, method: str, path: str, body: dict[str, Any]) -> None:
        try:
            text = json.dumps(body, default=_json_default, ensure_ascii=False)
            data = self._preparer.stamp.scrub_text(text).encode("utf-8", "replace")
        except Exception as exc:  # e.g. a circular structure: the caller's data, not our bug
            logger.warning("dropping an API call whose body cannot be encoded: %s", type(exc))
            self.call_drops.add("internal_error")
            return
        if self._api is None:  # test mode: nothing is sent; a test capture may look
            with self._sink_lock:
                sink = self._call_sink
                if sink is None and len(self._early_calls) < 64:
                    self._early_calls.append((method, path, data))
            if sink is not None:
                sink(method, path, data)
            return
        headers = {"Content-Type": "application/json"}
        self._api.put(Parcel(method, self._api_base + path, data, headers, 1, "calls"))

    def attach_call_sink(self, sink: Callable[[str, str, bytes], None]) -> None:
        """In test mode, hand every API call (encoded) to ``sink``, the earlier ones first."""
        with self._sink_lock:
            early, self._early_calls = self._early_calls, []
            self._call_sink = sink
        for call in early:
            sink(*call)

    def failures(self) -> int:
        """Everything lost or spooled so far, across the pipeline."""
        total = self.span_drops.total() + self.call_drops.total()
        if self._api is not None:
            total += self._api.spooled
        for exporter in self._exporters:
            failures = getattr(exporter, "failures", None)
            if failures is not None:
                total += failures()
        return total

    def dropped(self) -> dict[str, int]:
        """Spans lost, by reason, across the delivery thread and every exporter."""
        merged = dict(self.span_drops.snapshot())
        for exporter in self._exporters:
            drops = getattr(exporter, "drops", None)
            if isinstance(drops, DropCounter):
                for reason, count in drops.snapshot().items():
                    merged[reason] = merged.get(reason, 0) + count
        return merged

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
        elif self._spans or self._calls:
            return False
        return all(waiter(deadline) for waiter in self._waiters())

    def _waiters(self) -> list[Any]:
        waiters = [getattr(e, "wait", None) for e in self._exporters]
        if self._api is not None:
            waiters.append(self._api.wait)
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
        self.span_drops.add("shutdown", len(self._spans))
        self._spans.clear()
        self.call_drops.add("shutdown", len(self._calls))
        self._calls.clear()
        for exporter in self._exporters:
            try:
                close = getattr(exporter, "close", None)
                if close is not None:
                    close(deadline)
                else:
                    exporter.shutdown()
            except Exception as exc:
                internal_error("exporter shutdown", exc)
        if self._api is not None:
            self._api.close(deadline)
        return ok

    # -- delivery thread ----------------------------------------------------------------------

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._run, name="honeyhive-delivery", daemon=True)
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
                self._send_calls()  # a session start goes before the spans that name it
                due = time.monotonic() - last_export >= self._delay
                drain = due or bool(markers) or self._stop.is_set() or self._each
                if drain or len(self._spans) >= self._max_batch:
                    self._export_spans(drain)
                    last_export = time.monotonic()
                for marker in markers:
                    marker.done.set()
                    with contextlib.suppress(ValueError):
                        self._markers.remove(marker)
                if self._stop.is_set() and not self._spans:
                    self._send_calls()
                    return
            except Exception as exc:  # the thread must survive anything
                internal_error("delivery thread", exc)

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
            for exporter in self._exporters:
                self._export_one(exporter, prepared)

    def _export_one(self, exporter: SpanExporter, spans: list[ReadableSpan]) -> None:
        try:
            export_batch = getattr(exporter, "export_batch", None)
            if export_batch is not None:
                export_batch(spans)
            elif exporter.export(spans) is not SpanExportResult.SUCCESS:
                self.span_drops.add("network_error", len(spans))
        except Exception as exc:
            if hasattr(exporter, "export_batch"):  # one of ours: a bug, counted as such
                internal_error(f"exporting with {exporter!r}", exc)
            else:
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
        if not self._closed:
            self._start_thread()


def _json_default(value: object) -> str:
    """Values JSON cannot encode are sent as their ``str`` (or ``repr``, or a placeholder)."""
    for convert in (str, repr):
        try:
            return convert(value)
        except Exception:  # noqa: S112 - try the next way to show it
            continue
    return f"<unrepresentable {type(value).__name__}>"


_live: weakref.WeakSet[Delivery] = weakref.WeakSet()


def _after_fork() -> None:
    for delivery in list(_live):
        try:
            delivery._after_fork_in_child()
        except Exception as exc:
            internal_error("restarting delivery after fork", exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

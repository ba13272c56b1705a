"""Span processors: the tracer's own, the isolation wrapper for plug-ins, and built-in plug-ins.

``SessionProcessor`` is on every tracer's provider. At span start it copies what the context says
about the session (baggage ``session_id`` and the evaluation ids, as set by ``link`` or per-request
sessions) onto the span; at span end it hands the span to the delivery queue.

Plug-in processors (entry-point group ``honeyhive.processors``) run inside
:class:`IsolatedProcessor`: whatever they raise is counted and logged, never propagated into the
application, and the span is still delivered.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Callable, Optional

from opentelemetry import baggage
from opentelemetry.baggage import _BAGGAGE_KEY
from opentelemetry.context import Context, get_current
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from honeyhive._diagnostics import logger
from honeyhive._export._delivery import Delivery
from honeyhive._spans import set_clean
from honeyhive.config.models import TracerConfig

__all__ = [
    "BAGGAGE_SESSION_KEYS",
    "SESSION_ATTRIBUTE",
    "BaggageProcessor",
    "IsolatedProcessor",
    "SessionProcessor",
    "baggage_processor",
]

#: The span attribute naming a span's session (absent: the tracer's own session).
SESSION_ATTRIBUTE = "honeyhive.session_id"
#: Baggage key -> span attribute, for the keys the protocol propagates.
BAGGAGE_SESSION_KEYS = {
    "session_id": SESSION_ATTRIBUTE,
    "run_id": "honeyhive_metadata.run_id",
    "dataset_id": "honeyhive_metadata.dataset_id",
    "datapoint_id": "honeyhive_metadata.datapoint_id",
}


class SessionProcessor(SpanProcessor):
    """Stamps the context's session on new spans and queues finished ones for delivery.

    The tracer's own session starts with the first span of it (``start_own``), queued before
    anything that span leads to; until then ``own_pending`` is True, after it one flag is read.
    """

    def __init__(
        self, delivery: Delivery, own_session_id: str, start_own: Callable[[], None]
    ) -> None:
        self._delivery = delivery
        self._own_id = own_session_id
        self._start_own = start_own
        self.own_pending = False

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        ctx = parent_context if parent_context is not None else get_current()
        # The baggage mapping itself: no copy on the hot path.
        entries: Optional[Mapping[str, object]] = ctx.get(_BAGGAGE_KEY)  # type: ignore[assignment]
        if not entries:
            if self.own_pending:  # a span of the tracer's own session, the first one
                self._start_own()
            return
        found = {
            attribute: value
            for key, attribute in BAGGAGE_SESSION_KEYS.items()
            if isinstance(value := entries.get(key), str) and value
        }
        set_clean(span, found)
        if self.own_pending and found.get(SESSION_ATTRIBUTE, self._own_id) == self._own_id:
            self._start_own()

    def on_end(self, span: ReadableSpan) -> None:
        self._delivery.add_span(span)

    def shutdown(self) -> None:
        """Delivery is shut down by the tracer, with its own budget."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._delivery.flush(timeout_millis / 1000.0)


class IsolatedProcessor(SpanProcessor):
    """Runs a plug-in processor so that nothing it raises reaches the application: no
    exception, and no ``SystemExit`` (a plug-in's ``sys.exit``). ``KeyboardInterrupt`` is left
    alone: on the application's thread it is the user's Ctrl-C."""

    def __init__(self, name: str, inner: SpanProcessor) -> None:
        self.name = name
        self._inner = inner
        self._failures = itertools.count()
        self.failures = 0

    def _failed(self, hook: str, exc: BaseException) -> None:
        self.failures = next(self._failures) + 1  # thread-safe under the GIL (one C call)
        logger.warning(
            "span processor %r raised in %s (%s); ignored", self.name, hook, type(exc).__name__
        )

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        try:
            self._inner.on_start(span, parent_context=parent_context)
        except (Exception, SystemExit) as exc:
            self._failed("on_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._inner.on_end(span)
        except (Exception, SystemExit) as exc:
            self._failed("on_end", exc)

    def shutdown(self) -> None:
        try:
            self._inner.shutdown()
        except (Exception, SystemExit) as exc:
            self._failed("shutdown", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return bool(self._inner.force_flush(timeout_millis))
        except (Exception, SystemExit) as exc:
            self._failed("force_flush", exc)
            return False


class BaggageProcessor(SpanProcessor):
    """Copies chosen baggage entries onto every span as ``baggage.<key>`` attributes."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = keys

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        entries = baggage.get_all(parent_context)
        if not entries:
            return
        found = {f"baggage.{k}": v for k in self._keys if isinstance(v := entries.get(k), str)}
        if found:
            span.set_attributes(found)


def baggage_processor(config: TracerConfig) -> SpanProcessor:
    """Plug-in ``baggage``: copy the ``baggage_span_keys`` entries onto spans."""
    keys = tuple(config.baggage_span_keys or ())
    if not keys:
        raise ValueError("the 'baggage' processor needs baggage_span_keys (HH_BAGGAGE_SPAN_KEYS)")
    return BaggageProcessor(keys)

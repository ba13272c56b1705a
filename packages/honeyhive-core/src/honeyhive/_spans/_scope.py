"""Opening and closing a current span, the way ``trace()`` and ``@trace`` need it.

:class:`SpanScope` starts a span, makes it current (recording the owning tracer in the context)
and, at close, records an escaping exception once, detaches exactly what it attached and ends
the span. Neither step raises: if the SDK fails, the user's code still runs, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional

from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode

from honeyhive._diagnostics import internal_error
from honeyhive._spans._attributes import safe_text
from honeyhive._spans._fastattrs import add_captured

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = ["SpanScope", "exception_text", "record_error"]

_ERROR_TEXT_LIMIT = 4096


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder naming the failure when the exception's ``__str__``
    raises: an exception that cannot describe itself still marks its span."""
    return safe_text(exc, _ERROR_TEXT_LIMIT)


def record_error(span: Span, exc: BaseException) -> None:
    """Mark ``span`` ERROR with ``exc`` recorded once (unless the user already recorded it)."""
    if not span.is_recording():
        return
    message = exception_text(exc)
    cls = type(exc)
    status = getattr(span, "status", None)
    if status is None or status.status_code is not StatusCode.ERROR:  # keep the user's own
        span.set_status(Status(StatusCode.ERROR, f"{cls.__name__}: {message}"[:_ERROR_TEXT_LIMIT]))
    span.set_attributes({"honeyhive_error": message, "honeyhive_error_type": cls.__name__})
    names = {cls.__name__, cls.__qualname__, f"{cls.__module__}.{cls.__qualname__}"}
    already = any(
        e.name == "exception"
        and (e.attributes or {}).get("exception.type") in names
        and (e.attributes or {}).get("exception.message") == message
        for e in getattr(span, "events", ())
    )
    if not already:  # the user may have recorded it already, as the reference's examples do
        span.record_exception(exc, escaped=True)


class SpanScope:
    """A span that is current between :meth:`open` and :meth:`close`; also a context manager."""

    __slots__ = (
        "_attributes",
        "_ctx",
        "_kind",
        "_name",
        "_session",
        "_span",
        "_token",
        "_tracer",
        "_truncated",
    )

    def __init__(
        self,
        tracer: HoneyHiveTracer,
        name: str,
        attributes: Optional[Mapping[str, Any]] = None,
        kind: SpanKind = SpanKind.INTERNAL,
        truncated: int = 0,
        session_id: Optional[str] = None,
    ) -> None:
        """``session_id``: the span, and what runs inside it, belong to that session."""
        self._tracer = tracer
        self._session = session_id
        self._truncated = truncated
        self._name = name
        self._attributes = attributes
        self._kind = kind
        self._span: Span = INVALID_SPAN
        self._token: Optional[object] = None
        self._ctx: Optional[context_api.Context] = None

    def open(self) -> Span:
        tracer = self._tracer
        if tracer.closed:
            return INVALID_SPAN
        try:
            parent = context_api.get_current()
            if (
                tracer._link_context is not None
                and not trace_api.get_current_span(parent).get_span_context().is_valid
            ):
                parent = tracer._link_context
            if self._session is not None:
                parent = baggage.set_baggage("session_id", self._session, parent)
            span = tracer._spans.start(self._name, parent, self._kind)
            if self._attributes or self._truncated:
                # flattened by us: valid values, within the limits
                cap = tracer._rules.max_attributes
                add_captured(span, self._attributes or {}, self._truncated, cap)
            # The span itself tells which tracer owns it (see _context.current_tracer): no
            # second context entry is needed on this, the hottest, path.
            ctx = trace_api.set_span_in_context(span, parent)
            self._ctx = ctx
            self._token = context_api.attach(ctx)
            self._span = span
        except Exception as exc:
            internal_error("starting a span", exc)
        return self._span

    def pause(self) -> None:
        """Detach the span's context (it stays open): a generator is yielding."""
        token, self._token = self._token, None
        if token is not None:
            try:
                context_api.detach(token)  # type: ignore[arg-type]
            except Exception as err:
                internal_error("detaching a span's context", err)

    def resume(self) -> None:
        """Make the span current again (opening it the first time): a generator resumes."""
        if self._ctx is None:
            self.open()
        elif self._token is None:
            self._token = context_api.attach(self._ctx)

    def close(self, exc: Optional[BaseException] = None) -> None:
        span = self._span
        if span is INVALID_SPAN:
            return
        try:
            if isinstance(exc, Exception):
                record_error(span, exc)
        except Exception as err:
            internal_error("recording an exception", err)
        self.pause()
        try:
            span.end()
        except Exception as err:
            internal_error("ending a span", err)

    # The span's own API, so the object ``trace()`` returns can be used as the span itself (the
    # reference's pattern ``s = tracer.trace(...); s.__enter__(); s.set_attribute(...)``).

    @property
    def span(self) -> Span:
        """The span (non-recording until the scope is entered)."""
        return self._span

    def set_attribute(self, key: str, value: Any) -> None:
        self._span.set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self._span.set_attributes(attributes)

    def add_event(
        self,
        name: str,
        attributes: Optional[Mapping[str, Any]] = None,
        timestamp: Optional[int] = None,
    ) -> None:
        self._span.add_event(name, attributes, timestamp)

    def record_exception(self, exception: BaseException, **kwargs: Any) -> None:
        self._span.record_exception(exception, **kwargs)

    def set_status(self, status: Any, description: Optional[str] = None) -> None:
        self._span.set_status(status, description)

    def update_name(self, name: str) -> None:
        self._span.update_name(name)

    def is_recording(self) -> bool:
        return self._span.is_recording()

    def get_span_context(self) -> Any:
        return self._span.get_span_context()

    def __enter__(self) -> Span:
        return self.open()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close(exc)

"""The published SDK's module-level tracing functions: ``enrich_span``, ``enrich_session``,
``flush`` and ``trace_class``.

Each finds its tracer as ``@trace`` does (``tracer=``, else the tracer whose span is current,
else the default tracer) and does what the tracer's own method does. None of them raises into
the caller at run time, and each is safe from any number of threads at once.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, TypeVar

from opentelemetry import trace as trace_api
from opentelemetry.trace import Span

from honeyhive._compat._settings import warn_once
from honeyhive._context import current_tracer
from honeyhive._diagnostics import internal_error
from honeyhive._spans import trace

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "Enrichment",
    "enrich_session",
    "enrich_span",
    "flush",
    "flush_tracers",
    "trace_class",
]

C = TypeVar("C", bound=type)


def _tracer_for(*given: Any) -> Optional[HoneyHiveTracer]:
    from honeyhive._tracer import HoneyHiveTracer  # imports this wing: no cycle at call time

    for candidate in given:
        if isinstance(candidate, HoneyHiveTracer):
            return candidate
    return current_tracer()


class Enrichment:
    """What :func:`enrich_span` returns: true when the values landed (on the current span, or
    in the update of ``event_id``). ``with enrich_span(...) as span:`` gives the current span;
    the values were added once, by the call."""

    __slots__ = ("_done",)

    def __init__(self, done: bool) -> None:
        self._done = done

    def __bool__(self) -> bool:
        return self._done

    def __repr__(self) -> str:
        return f"Enrichment({self._done})"

    def __enter__(self) -> Span:
        return trace_api.get_current_span()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        return None


def enrich_span(
    attributes: Optional[Mapping[str, Any]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    metrics: Optional[Mapping[str, Any]] = None,
    feedback: Optional[Mapping[str, Any]] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    outputs: Optional[Mapping[str, Any]] = None,
    config: Optional[Mapping[str, Any]] = None,
    error: Optional[str] = None,
    event_id: Optional[str] = None,
    tracer: Optional[HoneyHiveTracer] = None,
    **kwargs: Any,
) -> Enrichment:
    """Add HoneyHive fields to the current span, as ``tracer.enrich_span`` does.

    ``attributes`` and any other keyword land in ``honeyhive_metadata.*``; ``event_id=`` updates
    that event instead (``PUT /events``). The result is true when the values landed (false with
    no span recording, where the published SDK says true and drops them).
    """
    try:
        chosen = _tracer_for(tracer, kwargs.pop("tracer_instance", None))
        if chosen is None:
            return Enrichment(False)
        done = chosen.enrich_span(
            attributes,
            metadata,
            metrics,
            feedback,
            inputs,
            outputs,
            config,
            error=error,
            event_id=event_id,
            **kwargs,
        )
        return Enrichment(bool(done))
    except Exception as exc:  # the tracer's method never raises; this is the backstop
        internal_error("enrich_span", exc)
        return Enrichment(False)


def enrich_session(
    session_id: Any = None,
    metadata: Optional[Mapping[str, Any]] = None,
    tracer: Optional[HoneyHiveTracer] = None,
    tracer_instance: Optional[HoneyHiveTracer] = None,
    **fields: Any,
) -> None:
    """Update a session, as ``tracer.enrich_session`` does.

    ``enrich_session(session_id, metadata)`` as published; also the README's keyword form
    ``enrich_session(user_properties={...})`` (and ``inputs``, ``outputs``, ``config``,
    ``feedback``, ``metrics``) for the current session, and a dict in first place as its
    metadata. Delivered in the background.
    """
    try:
        if isinstance(session_id, Mapping) and metadata is None:
            session_id, metadata = None, session_id
        chosen = _tracer_for(tracer, tracer_instance)
        if chosen is None:
            warn_once(
                "enrich_session:no-tracer",
                "honeyhive: enrich_session() found no open tracer (create one first, or pass "
                "tracer=); that update was not sent",
            )
            return
        chosen.enrich_session(metadata, session_id=session_id, **fields)
    except Exception as exc:  # the tracer's method never raises; this is the backstop
        internal_error("enrich_session", exc)


def flush(tracer_instance: Optional[HoneyHiveTracer] = None, timeout_millis: float = 30000) -> bool:
    """Deliver what ``tracer_instance`` (by default: every open tracer) has queued, within
    ``timeout_millis``; True only if all of it was acknowledged."""
    from honeyhive._context import open_tracers

    try:
        seconds = float(timeout_millis) / 1000.0
        if not math.isfinite(seconds):
            raise ValueError(timeout_millis)
    except Exception:  # not a number of milliseconds: the published default, said once
        warn_once(
            "flush:timeout_millis",
            "honeyhive: flush(timeout_millis=...) takes a finite number of milliseconds; "
            "waiting the default 30000 instead",
        )
        seconds = 30.0
    from honeyhive._tracer import HoneyHiveTracer

    if isinstance(tracer_instance, HoneyHiveTracer):
        return flush_tracers([tracer_instance], seconds)
    return flush_tracers(open_tracers(), seconds)


def flush_tracers(tracers: Iterable[HoneyHiveTracer], timeout: float) -> bool:
    """Flush each, all within one ``timeout`` (seconds); True only if every one succeeded."""
    deadline = time.monotonic() + max(0.0, timeout)
    ok = True
    for tracer in list(tracers):
        ok = tracer.flush(max(0.0, deadline - time.monotonic())) and ok
    return ok


def trace_class(cls: C) -> C:
    """Trace every public method defined in the class body: a ``tool`` span named
    ``ClassName.method`` per call. Static and class methods stay static and class methods;
    inherited methods are traced where they are defined, not copied here."""
    if not isinstance(cls, type):
        raise ValueError(f"trace_class() takes a class, got {type(cls).__name__}")
    for name, member in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)) or inspect.isfunction(member):
            decorate = trace(event_type="tool", event_name=f"{cls.__name__}.{name}")
            traced = decorate(member)  # type: ignore[type-var]  # descriptors are kept
            setattr(cls, name, traced)
    return cls

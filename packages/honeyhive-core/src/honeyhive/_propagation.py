"""Propagators (entry-point group ``honeyhive.propagators``) and the carrier helpers.

The built-ins are W3C ``tracecontext`` and W3C ``baggage``. A tracer composes the ones its
``propagators`` setting names; ``inject`` writes the current trace and the session's baggage
(``session_id``, ``project``, ``source`` and the evaluation ids) into a carrier, and ``extract``
reads them back, also accepting the ``honeyhive_session_id`` / ``honeyhive.session_id`` spellings
seen in the wild. Extraction never raises on malformed headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any, Optional

from opentelemetry import baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import (
    CarrierT,
    DefaultGetter,
    DefaultSetter,
    Getter,
    Setter,
    TextMapPropagator,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from honeyhive._diagnostics import logger
from honeyhive.config.models import TracerConfig

__all__ = [
    "SESSION_ALIASES",
    "baggage_propagator",
    "extract",
    "inject",
    "tracecontext_propagator",
]

SESSION_ALIASES = ("honeyhive_session_id", "honeyhive.session_id")
_MAX_CARRIER_VALUE = 8192
_getter: Getter[Any] = DefaultGetter()
default_getter = _getter
_setter: Setter[Any] = DefaultSetter()


def tracecontext_propagator(config: TracerConfig) -> TextMapPropagator:
    """W3C Trace Context (``traceparent`` / ``tracestate``)."""
    del config
    return TraceContextTextMapPropagator()


def baggage_propagator(config: TracerConfig) -> TextMapPropagator:
    """W3C Baggage."""
    del config
    return W3CBaggagePropagator()


def composite(propagators: list[TextMapPropagator]) -> TextMapPropagator:
    return CompositePropagator(propagators)


class _BoundedGetter(Getter[Any]):
    """Reads carrier values, joining repeated headers and ignoring oversized ones."""

    def __init__(self, inner: Getter[Any]) -> None:
        self._inner = inner

    def get(self, carrier: Any, key: str) -> Optional[list[str]]:
        values: Any = self._inner.get(carrier, key)
        if values is None:
            return None
        if isinstance(values, str):  # getters in the wild return a bare string
            values = [values]
        kept = [v for v in values if isinstance(v, str) and len(v) <= _MAX_CARRIER_VALUE]
        if key == "baggage" and len(kept) > 1:
            kept = [",".join(kept)]
        return kept or None

    def keys(self, carrier: Any) -> list[str]:
        return list(self._inner.keys(carrier))


def extract(
    propagator: TextMapPropagator,
    carrier: Any,
    getter: Optional[Getter[Any]] = None,
    context: Optional[Context] = None,
) -> Context:
    """The context a carrier describes, on top of ``context``; malformed input is ignored."""
    try:
        ctx = propagator.extract(carrier, context=context, getter=_BoundedGetter(getter or _getter))
    except Exception as exc:
        logger.debug("ignoring malformed propagation headers: %s", type(exc).__name__)
        return context if context is not None else Context()
    entries = baggage.get_all(ctx)
    session: Optional[str] = None
    for key in ("session_id", *SESSION_ALIASES):
        value = entries.get(key)
        if isinstance(value, str) and value:
            session = value
            break
    if session is None:
        return ctx
    normalized = _uuid_or_none(session)
    if normalized is None:  # the backend could not attribute spans to it: ignore it
        logger.debug("ignoring a session id in baggage that is not a UUID")
        return baggage.remove_baggage("session_id", ctx)
    return baggage.set_baggage("session_id", normalized, ctx)


def _uuid_or_none(value: str) -> Optional[str]:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def inject(
    propagator: TextMapPropagator,
    carrier: CarrierT,
    defaults: Mapping[str, str],
    setter: Optional[Setter[Any]] = None,
    context: Optional[Context] = None,
) -> CarrierT:
    """Write the trace and baggage into ``carrier``; ``defaults`` fill baggage keys not set."""
    ctx = context
    entries = baggage.get_all(ctx)
    for key, value in defaults.items():
        if value and key not in entries:
            ctx = baggage.set_baggage(key, value, ctx)
    if ctx is None:
        from opentelemetry.context import get_current

        ctx = get_current()
    propagator.inject(carrier, context=ctx, setter=setter or _setter)
    return carrier


def as_mutable(carrier: Optional[MutableMapping[str, Any]]) -> MutableMapping[str, Any]:
    return {} if carrier is None else carrier

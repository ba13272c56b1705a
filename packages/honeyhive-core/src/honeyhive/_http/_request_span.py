"""Finding the request span from anywhere inside a request, whatever span is current.

Framework integrations record their request scope in the context; ``enrich_request_span`` writes
to that span even when the current span is something else (an endpoint span from FastAPI's own
telemetry, a ``@trace`` function, an instrumentor's span).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from opentelemetry.context import create_key, get_current
from opentelemetry.trace import Span

from honeyhive._context import TRACER_KEY
from honeyhive._diagnostics import internal_error

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "REQUEST_SCOPE_KEY",
    "current_request_tracer",
    "enrich_request_span",
    "get_request_span",
]

REQUEST_SCOPE_KEY = create_key("honeyhive-request-scope")


def get_request_span() -> Optional[Span]:
    """The SERVER span of the request being handled, or None outside a traced request."""
    scope: Any = get_current().get(REQUEST_SCOPE_KEY)
    return None if scope is None else scope.span


def current_request_tracer() -> Optional[HoneyHiveTracer]:
    """The tracer tracing the request being handled, or None outside a traced request."""
    ctx = get_current()
    if ctx.get(REQUEST_SCOPE_KEY) is None:
        return None
    tracer: Optional[HoneyHiveTracer] = ctx.get(TRACER_KEY)  # type: ignore[assignment]
    return tracer


def enrich_request_span(attributes: Mapping[str, Any]) -> bool:
    """Add attributes to the current request's SERVER span; False outside a traced request.

    Values are flattened like ``enrich_current_span`` (a dict becomes ``key.sub``), within the
    tracer's capture limits. Never raises: an argument that is not a mapping is left out.
    """
    try:
        span = get_request_span()
        if span is None or not span.is_recording():
            return False
        tracer = current_request_tracer()
        if tracer is None:
            return False
        return tracer._enrich(span, attributes, "enrich_request_span")
    except Exception as exc:
        internal_error("enrich_request_span", exc)
        return False

"""FastAPI's native telemetry: keep its metrics, logs and operation spans, drop its server span.

FastAPI (0.142+) starts its own SERVER span in ``FastAPI.__call__``, outside the middleware
stack, once a real global TracerProvider exists. For an app that has our middleware, we replace
that app's native-telemetry object by one whose tracer hands out a non-recording span for the
SERVER span only: our middleware owns the request span, FastAPI's operation spans (endpoint,
dependencies, serialization, background tasks) become its children.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

from opentelemetry import trace as trace_api
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanKind

from honeyhive.http_server import logger

__all__ = ["app_being_built", "quiet_native_server_span"]

_MARK = "_honeyhive_quieted"
_DEFERRED = frozenset({("opentelemetry.trace", "ProxyTracerProvider")})


class _NoServerTracer:
    """Delegates to a real tracer, except that SERVER spans are non-recording."""

    def __init__(self, tracer: trace_api.Tracer) -> None:
        self._tracer = tracer

    def start_span(
        self,
        name: str,
        context: Any = None,
        kind: Any = SpanKind.INTERNAL,
        *args: Any,
        **kwargs: Any,
    ) -> trace_api.Span:
        if kind == SpanKind.SERVER:
            return NonRecordingSpan(INVALID_SPAN_CONTEXT)
        return self._tracer.start_span(name, context, kind, *args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._tracer.start_as_current_span(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)


class _NoServerProvider(trace_api.TracerProvider):
    def __init__(self, provider: trace_api.TracerProvider) -> None:
        self.provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace_api.Tracer:
        return _NoServerTracer(self.provider.get_tracer(*args, **kwargs))  # type: ignore[return-value]


class _QuietNative:
    """Stands in for ``app._native_telemetry``: same switch, no native SERVER span."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.config = original.config
        self._clone: Any = type(original)(dict(original.config))
        self._real: Optional[trace_api.TracerProvider] = None

    def enabled(self) -> bool:
        return bool(self.original.enabled())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)

    async def __call__(self, **kwargs: Any) -> None:
        real = self.config.get("tracer_provider") or trace_api.get_tracer_provider()
        if real is not self._real:
            clone_config = self._clone.config
            clone_config.update(self.config)
            cls = type(real)
            unconfigured = (cls.__module__, cls.__name__) in _DEFERRED and not self.config.get(
                "tracer_provider"
            )
            clone_config["tracer_provider"] = (
                trace_api.NoOpTracerProvider() if unconfigured else _NoServerProvider(real)
            )
            self._real = real
        await self._clone(**kwargs)


def quiet_native_server_span(app: Any) -> None:
    """Switch off FastAPI's native SERVER span for ``app`` (once; anything else: no-op)."""
    try:
        native = getattr(app, "_native_telemetry", None)
        if native is None or isinstance(native, _QuietNative) or getattr(app, _MARK, False):
            return
        if not callable(getattr(native, "enabled", None)) or not hasattr(native, "config"):
            return
        app._native_telemetry = _QuietNative(native)
        setattr(app, _MARK, True)
    except Exception as exc:
        logger.warning("could not switch off FastAPI's native request span: %r", exc)


def app_being_built() -> Optional[Any]:
    """The Starlette app whose ``build_middleware_stack`` is constructing us, if any."""
    try:
        frame: Any = sys._getframe(2)
    except ValueError:  # pragma: no cover
        return None
    for _ in range(12):
        if frame is None:
            return None
        if frame.f_code.co_name == "build_middleware_stack":
            return frame.f_locals.get("self")
        frame = frame.f_back
    return None

"""The published SDK's lifecycle and provider functions of ``honeyhive.tracer``:
``shutdown_tracer``, ``graceful_shutdown_all``, ``clear_registry``, ``set_global_provider`` and
``get_global_provider``, each over the tracer's own ``close`` or OpenTelemetry's API (never its
private state: a global provider already set stays set, and a WARNING says so)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from opentelemetry import trace as trace_api

from honeyhive._context import open_tracers, set_default_tracer
from honeyhive._diagnostics import logger

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "clear_registry",
    "get_global_provider",
    "graceful_shutdown_all",
    "set_global_provider",
    "shutdown_tracer",
]


def shutdown_tracer(tracer_instance: HoneyHiveTracer) -> None:
    """Close ``tracer_instance``: deliver what it queued (within its exit budget), release it."""
    from honeyhive._tracer import HoneyHiveTracer

    if isinstance(tracer_instance, HoneyHiveTracer):
        tracer_instance.close()


def graceful_shutdown_all() -> None:
    """Close every open tracer."""
    for tracer in open_tracers():
        tracer.close()


def clear_registry() -> None:
    """Forget the default tracer set with ``set_default_tracer`` (open tracers stay open)."""
    set_default_tracer(None)


def set_global_provider(
    provider: Any, force_override: bool = False, tracer_instance: Optional[Any] = None
) -> None:
    """Make ``provider`` (a ``TracerProvider``, or a tracer's) OpenTelemetry's global one.

    OpenTelemetry sets it once per process; the published SDK's ``force_override`` writes its
    private state to set it again, which this SDK does not do: a WARNING says the provider
    already set stays.
    """
    del tracer_instance  # the published SDK only logs through it
    from honeyhive._tracer import HoneyHiveTracer

    if isinstance(provider, HoneyHiveTracer):
        provider = provider.provider
    current = trace_api.get_tracer_provider()
    if current is provider:
        return
    if not isinstance(current, trace_api.ProxyTracerProvider):
        logger.warning(
            "honeyhive: set_global_provider(%s): OpenTelemetry's global tracer provider is "
            "already set and is kept%s",
            type(provider).__name__,
            " (force_override is not honoured: it would overwrite OpenTelemetry's state)"
            if force_override
            else "",
        )
        return
    trace_api.set_tracer_provider(provider)


def get_global_provider(tracer_instance: Optional[Any] = None) -> Any:
    """OpenTelemetry's global tracer provider."""
    del tracer_instance
    return trace_api.get_tracer_provider()

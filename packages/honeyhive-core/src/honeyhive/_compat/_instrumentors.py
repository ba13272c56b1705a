"""``HoneyHiveTracer.init(instrumentors=[...])``: each instrumented with the tracer's provider.

The published SDK stores the list and never calls it. Here each entry (an instrumentor such as
``OpenAIInstrumentor()``, or a function with no arguments that returns one) is instrumented with
``tracer_provider=tracer.provider`` when the tracer is built, and uninstrumented when it closes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from honeyhive._diagnostics import logger

__all__ = ["check_instrumentors", "instrument", "uninstrument"]


def check_instrumentors(value: Any) -> list[Any]:
    """The instrumentors given, checked: a ``ValueError`` names what is not one."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(
            f"instrumentors must be a list of instrumentors, got {type(value).__name__}"
        )
    found = list(value)
    for item in found:
        if not callable(getattr(item, "instrument", None)) and not callable(item):
            raise ValueError(
                "instrumentors must hold instrumentors (objects with .instrument(), such as "
                f"OpenAIInstrumentor()) or functions that return one, got {type(item).__name__}"
            )
    return found


def instrument(instrumentors: list[Any], provider: Any) -> list[Any]:
    """Instrument each with ``provider``; returns those that now are. One that fails (its
    library is missing, say) is named in a WARNING and the others go ahead."""
    done = []
    for item in instrumentors:
        name = type(item).__name__
        try:
            instrumentor = item if callable(getattr(item, "instrument", None)) else item()
            name = type(instrumentor).__name__
            instrumentor.instrument(tracer_provider=provider)
        except Exception as exc:
            logger.warning(
                "honeyhive: instrumentors: %s.instrument() raised %s: %s; its library is not "
                "traced",
                name,
                type(exc).__name__,
                exc,
            )
            continue
        done.append(instrumentor)
    return done


def uninstrument(instrumentors: list[Any]) -> None:
    """Undo :func:`instrument` (the tracer is closing: its provider takes no more spans)."""
    for instrumentor in instrumentors:
        try:
            instrumentor.uninstrument()
        except Exception as exc:
            logger.debug("uninstrumenting %s failed: %r", type(instrumentor).__name__, exc)

"""The published SDK's baggage methods: ``get_baggage``, ``set_baggage``, ``extract_context``.

``set_baggage`` makes the entry part of the *current context* (for the rest of the asyncio task,
or of the thread's current scope), as ``create_session`` does with a session: it is never kept
on the tracer, so concurrent requests never see each other's entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import TextMapPropagator

from honeyhive import _propagation

__all__ = ["extract_context", "get_baggage", "normalized_key", "set_baggage"]


def normalized_key(key: str) -> str:
    """``user-id``, ``user.id`` and ``User ID`` all become ``user_id`` (the published rule)."""
    return key.replace("-", "_").replace(".", "_").replace(" ", "_").lower()


def get_baggage(key: str) -> Optional[str]:
    """The current context's baggage entry ``key``, looked up as given, normalised, in lower
    and in upper case; None if there is none."""
    if not isinstance(key, str) or not key:
        return None
    entries = baggage.get_all()
    for candidate in (key, normalized_key(key), key.lower(), key.upper()):
        value = entries.get(candidate)
        if value is not None:
            return str(value)
    return None


def set_baggage(key: str, value: Any) -> None:
    """Add ``key`` (normalised) = ``str(value)`` to the current context's baggage; an empty key
    or a None value is ignored."""
    if not isinstance(key, str) or not key or value is None:
        return
    context_api.attach(baggage.set_baggage(normalized_key(key), str(value)))


def extract_context(
    propagator: TextMapPropagator, carrier: Optional[Mapping[str, Any]]
) -> Optional[Context]:
    """The context ``carrier`` holds (trace and baggage), not made current; None if the carrier
    is not a mapping."""
    if not isinstance(carrier, Mapping):
        return None
    return _propagation.extract(propagator, carrier)

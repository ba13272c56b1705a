"""Plug-ins found through entry points.

Three groups: ``honeyhive.exporters``, ``honeyhive.processors`` and ``honeyhive.propagators``.
Each entry point names a factory that takes the resolved
:class:`~honeyhive.config.models.TracerConfig` and returns an OpenTelemetry ``SpanExporter``,
``SpanProcessor`` or ``TextMapPropagator``. The core's own built-ins are registered the same way.
A plug-in that is missing, fails to import, raises or returns the wrong kind of object is a
``ValueError`` at tracer construction, never a failure later.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from honeyhive import _forksafe as forksafe
from honeyhive.config.models import TracerConfig

__all__ = ["GROUPS", "available", "build"]

GROUPS = {
    "exporter": "honeyhive.exporters",
    "processor": "honeyhive.processors",
    "propagator": "honeyhive.propagators",
}

_cache: dict[str, dict[str, EntryPoint]] = {}
_lock = forksafe.Lock()

T = TypeVar("T")


def _group(group: str) -> dict[str, EntryPoint]:
    with _lock:
        found = _cache.get(group)
        if found is None:
            found = {ep.name: ep for ep in entry_points(group=group)}
            _cache[group] = found
        return found


def available(kind: str) -> dict[str, str]:
    """Installed plug-ins of one kind: name -> ``module:attribute``."""
    return {name: ep.value for name, ep in sorted(_group(GROUPS[kind]).items())}


def build(kind: str, name: str, config: TracerConfig, expected: type[T]) -> T:
    """Load plug-in ``name`` of ``kind`` and build it for ``config``."""
    group = GROUPS[kind]
    entry = _group(group).get(name)
    if entry is None:
        known = ", ".join(sorted(_group(group))) or "none installed"
        raise ValueError(f"unknown {kind} {name!r}: no entry point in group {group!r} ({known})")
    try:
        factory: Any = entry.load()
    except Exception as exc:
        raise ValueError(f"{kind} {name!r} ({entry.value}) failed to import: {exc!r}") from exc
    try:
        built = factory(config)
    except ValueError as exc:
        raise ValueError(f"{kind} {name!r}: {exc}") from exc
    except Exception as exc:
        raise ValueError(f"{kind} {name!r} failed to start: {type(exc).__name__}: {exc}") from exc
    if not isinstance(built, expected):
        raise ValueError(
            f"{kind} {name!r} returned {type(built).__name__}, not a {expected.__name__}"
        )
    return built

"""Background tasks as child spans of the request, named after the task's function.

``starlette.background.BackgroundTask.__call__`` is patched once (reversibly, see
:func:`uninstall`); outside a traced request the patched call does exactly what it did.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from starlette.background import BackgroundTask

from honeyhive.http_server import current_request_tracer

__all__ = ["install", "uninstall"]

_lock = threading.Lock()
_original: Optional[Callable[..., Any]] = None


def _name(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if name is None:  # a partial or callable object
        inner = getattr(func, "func", None)
        name = _name(inner) if inner is not None else type(func).__qualname__
    return str(name)


async def _traced_call(self: BackgroundTask) -> None:
    original = _original
    assert original is not None
    tracer = current_request_tracer()
    if tracer is None or tracer.closed:
        await original(self)
        return
    with tracer.trace(_name(self.func)):
        await original(self)


def install() -> None:
    """Patch ``BackgroundTask.__call__`` (idempotent)."""
    global _original
    with _lock:
        if _original is None:
            _original = BackgroundTask.__call__
            BackgroundTask.__call__ = _traced_call  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore ``BackgroundTask.__call__``."""
    global _original
    with _lock:
        if _original is not None:
            BackgroundTask.__call__ = _original  # type: ignore[method-assign]
            _original = None

"""The tracer an integration falls back to when the app gave none and no default tracer exists.

``HoneyHiveTracer()`` from the ``HH_*`` variables, built once per process. If that fails (no API
key, say), the failure is logged once and remembered: the app's requests go untraced rather than
retrying the construction, and logging the error, on every request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from honeyhive import _forksafe as forksafe
from honeyhive._diagnostics import logger

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = ["tracer_from_environment"]

_lock = forksafe.Lock()
_tracer: Optional[HoneyHiveTracer] = None
_failed = False


def tracer_from_environment(integration: str) -> Optional[HoneyHiveTracer]:
    """The process's environment-configured tracer, or None when it cannot be built."""
    global _tracer, _failed
    with _lock:
        if _tracer is None and not _failed:
            from honeyhive._tracer import HoneyHiveTracer

            try:
                _tracer = HoneyHiveTracer()
            except Exception as exc:
                _failed = True
                logger.warning("%s: no tracer (%s); requests are not traced", integration, exc)
        return _tracer

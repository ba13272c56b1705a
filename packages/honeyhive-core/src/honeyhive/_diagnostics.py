"""The SDK's own logging, drop counters and internal-error accounting.

Nothing here raises. Internal errors are counted process-wide so that a test suite can fail on
any error the SDK swallowed (see ``tests/conftest.py``); drops are counted per tracer by reason
and logged at most once a minute per reason with the running total.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Optional

from honeyhive import _forksafe as forksafe

__all__ = [
    "DROP_REASONS",
    "DropCounter",
    "enable_verbose_logging",
    "internal_error",
    "internal_error_count",
    "logger",
]

logger = logging.getLogger("honeyhive")
logger.addHandler(logging.NullHandler())

DROP_REASONS = (
    "queue_full",
    "rate_limited",
    "network_error",
    "payload_too_large",
    "shutdown",
    "internal_error",
)

_LOG_INTERVAL = 60.0
_lock = forksafe.Lock()
_internal_errors = 0
_verbose_handler: Optional[logging.Handler] = None


def internal_error(where: str, exc: Optional[BaseException] = None) -> None:
    """Record an unexpected failure inside the SDK; logs it and never raises."""
    global _internal_errors
    with _lock:
        _internal_errors += 1
    with contextlib.suppress(Exception):  # logging failed: the count above still tells
        logger.error("honeyhive internal error in %s", where, exc_info=exc)


def internal_error_count() -> int:
    """How many internal errors this process has recorded."""
    return _internal_errors


def enable_verbose_logging() -> None:
    """Turn on DEBUG for the ``honeyhive`` logger; add a stderr handler if nothing would show it."""
    global _verbose_handler
    logger.setLevel(logging.DEBUG)
    has_output = any(not isinstance(h, logging.NullHandler) for h in logger.handlers)
    if has_output or logging.getLogger().handlers or _verbose_handler is not None:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s honeyhive %(levelname)s %(message)s"))
    logger.addHandler(handler)
    _verbose_handler = handler


class DropCounter:
    """Spans (or API calls) dropped, by reason.

    Thread-safe; logs at most once a minute per reason, with the running total.
    """

    __slots__ = ("_counts", "_last_logged", "_lock", "_what")

    def __init__(self, what: str = "spans", reasons: tuple[str, ...] = DROP_REASONS) -> None:
        self._what = what
        self._lock = forksafe.Lock()
        self._counts = dict.fromkeys(reasons, 0)
        self._last_logged: dict[str, float] = {}

    def add(self, reason: str, count: int = 1) -> None:
        if count <= 0:
            return
        now = time.monotonic()
        with self._lock:
            total = self._counts[reason] = self._counts.get(reason, 0) + count
            last = self._last_logged.get(reason)
            due = last is None or now - last >= _LOG_INTERVAL
            if due:
                self._last_logged[reason] = now
        if due:
            logger.warning("honeyhive dropped %s: reason=%s total=%d", self._what, reason, total)

    def snapshot(self) -> Mapping[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

"""The SDK's own logging, drop counters and internal-error accounting.

Nothing here raises. Internal errors are counted process-wide so that a test suite can fail on
any error the SDK swallowed (see ``tests/conftest.py``); drops are counted per tracer by reason.

What goes wrong must be visible without a debug flag: the ``honeyhive`` logger's own handler
writes WARNING and above to stderr whenever the application has not configured logging (no
handler on the root logger), as Python's last-resort handler would if the library did not hide
it; once the application configures logging, records go its way instead. ``verbose`` lowers the
level to DEBUG.

Failures of the backend (``network_error``, ``refused``, ``rate_limited``) are told by the
export wing's per-backend report, losses at exit by the tracer's final count; the counters log
the other reasons themselves, at most once a minute per reason, with the running total.
"""

from __future__ import annotations

import contextlib
import logging
import sys
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


class _LastResort(logging.StreamHandler):  # type: ignore[type-arg]
    """WARNING and above to stderr, only while nobody else would show them."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(asctime)s honeyhive %(levelname)s %(message)s"))
        self.verbose = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and not self.verbose:
            return
        if logging.getLogger().handlers:
            return  # the application configured logging: the record propagates there
        if any(h is not self for h in logger.handlers):
            return  # someone attached their own handler to the honeyhive logger
        self.stream = sys.stderr  # the stderr of now (pytest, a daemon, may swap it)
        super().emit(record)


_last_resort = _LastResort()
logger.addHandler(_last_resort)

DROP_REASONS = (
    "queue_full",
    "rate_limited",
    "network_error",
    "refused",  # the backend answered 4xx: the request is wrong for it, never retried
    "payload_too_large",
    "shutdown",
    "internal_error",
)
#: Reasons told elsewhere, with their context: the backend's failures by its report, losses
#: at exit by the tracer's final count.
_TOLD_ELSEWHERE = frozenset({"rate_limited", "network_error", "refused", "shutdown"})

_LOG_INTERVAL = 60.0
_lock = forksafe.Lock()
_internal_errors = 0


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
    """Turn on DEBUG for the ``honeyhive`` logger (on stderr, unless logging is configured)."""
    logger.setLevel(logging.DEBUG)
    _last_resort.verbose = True


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
            due = reason not in _TOLD_ELSEWHERE and (last is None or now - last >= _LOG_INTERVAL)
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

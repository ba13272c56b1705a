"""Locks that are safe to use in a child process after ``os.fork``.

A fork copies a lock in whatever state it is in; if another thread of the parent held it at
that moment, the child would wait forever. Every lock the SDK takes is a :class:`Lock` from this
module, and each is replaced by a fresh one in the child right after the fork.
"""

from __future__ import annotations

import os
import threading
import weakref
from types import TracebackType
from typing import Optional

__all__ = ["Lock"]


class Lock:
    """A ``threading.Lock`` that a forked child gets back unlocked."""

    __slots__ = ("__weakref__", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _locks.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._lock.release()

    def _reset(self) -> None:
        self._lock = threading.Lock()


_locks: weakref.WeakSet[Lock] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for lock in list(_locks):
        lock._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

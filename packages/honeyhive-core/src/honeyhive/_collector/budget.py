"""A byte budget for request bodies in flight, shared by all requests.

Every request that carries a body holds a :class:`Claim` on the collector's :class:`BodyBudget`
while it is read, decompressed, decoded and stored: the bytes received, then the bytes
decompressed. When the claims of all requests together would pass the budget, the request
that asked last is refused with 503 and ``Retry-After`` (the SDK and OTLP exporters retry it),
so memory stays bounded however many clients send at once. A request alone is never refused by
the budget: the body limit (413) is what bounds one request.

Thread-safe: bodies are read on the event loop and decompressed in a worker thread.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Optional

from honeyhive._collector.records import PayloadError

__all__ = ["RETRY_AFTER_SECONDS", "BodyBudget", "Claim"]

#: What a refused client is told to wait before it tries again.
RETRY_AFTER_SECONDS = 1


class BodyBudget:
    """At most ``limit`` bytes of request bodies held at once (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the body budget must be a positive number of bytes, got {limit}")
        self.limit = limit
        self._used = 0
        self._refused = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Bytes held by requests now."""
        return self._used

    @property
    def refused(self) -> int:
        """Requests refused with 503 since the collector started."""
        return self._refused

    def claim(self) -> Claim:
        """A new, empty claim for one request (release it when the request is done)."""
        return Claim(self)

    def _take(self, claim: Claim, size: int) -> None:
        with self._lock:
            others = self._used - claim.held
            if others and self._used + size > self.limit:
                self._refused += 1
                raise PayloadError(
                    f"the collector is busy: {self._used} bytes of request bodies are in "
                    f"flight (budget {self.limit}); retry in {RETRY_AFTER_SECONDS} s",
                    status=503,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            self._used += size
            claim.held += size

    def _release(self, claim: Claim) -> None:
        with self._lock:
            self._used -= claim.held
            claim.held = 0


class Claim:
    """The bytes one request holds; a context manager that releases them at the end."""

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        """Hold ``size`` more bytes, or raise a 503 :class:`PayloadError` (holding nothing more)."""
        if size > 0:
            self._budget._take(self, size)

    def release(self) -> None:
        """Give back everything held (idempotent)."""
        if self.held:
            self._budget._release(self)

    def __enter__(self) -> Claim:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.release()

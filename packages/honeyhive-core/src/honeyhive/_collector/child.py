"""Big bodies are parsed in a child process, so that nothing in the collector waits on them.

``json.loads`` and protobuf parsing are each one call into C that holds the GIL from start to
end: 1.4 s for a 30 MB JSON body on a laptop-class core. A worker thread cannot hide that, the
event loop would stall behind it. A body of :data:`BIG_BODY_BYTES` or more is therefore parsed
by a child process (started on first need, kept, one at a time), which sends back the decoded
records: what comes back is plain rows and strings, cheap to unpickle. Smaller bodies, the
SDK's everyday batches, are parsed in the ingest worker thread, where they cost less than
sending them across.

A child that dies is replaced on the next big body; the request it was parsing gets a 503, which
clients retry.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Optional, TypeVar

from honeyhive._collector.records import PayloadError

__all__ = ["BIG_BODY_BYTES", "ChildParser"]

#: Bodies this large (decompressed) are parsed in the child process.
BIG_BODY_BYTES = 2 * 1024 * 1024

T = TypeVar("T")


class ChildParser:
    """Run ``parse(data)`` in the child for big bodies, in this thread for small ones.

    ``parse`` must be picklable (a module-level function or a ``functools.partial`` of one), and
    so must what it returns and raises (:class:`~.records.PayloadError` is).
    """

    def __init__(self, threshold: int = BIG_BODY_BYTES) -> None:
        self.threshold = threshold
        self._pool: Optional[ProcessPoolExecutor] = None
        self._lock = threading.Lock()
        self._closed = False

    def parse(self, parse: Callable[[bytes], T], data: bytes) -> T:
        if len(data) < self.threshold:
            return parse(data)
        pool = self._start()
        try:
            return pool.submit(parse, data).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            raise PayloadError(
                "the collector's parser process stopped; retry the request",
                status=503,
                headers={"Retry-After": "1"},
            ) from None

    def _start(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise PayloadError("the collector is stopping", status=503)
            if self._pool is None:
                # spawn, not fork: this process has threads (uvicorn, the ingest worker).
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._pool

    def close(self) -> None:
        """Stop the child (after the body it is parsing, if any)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

"""The last stage before the network: encoded requests waiting for one backend.

An :class:`Outbox` holds *parcels* (one encoded request each) and sends them in order from its
own thread, so encoding never waits on the network and memory is bounded in bytes: a parcel that
would take the outbox past ``max_bytes`` is dropped and counted as ``queue_full``. A parcel that
fails after every retry is written to the spool when one is configured (and delivered once the
backend answers again), otherwise dropped and counted by reason.

``wait(deadline)`` returns once every parcel put before the call is finished (acknowledged,
spooled or dropped); callers compare failure counts to know which.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

from opentelemetry import context as context_api

from honeyhive._context import SUPPRESS_KEY
from honeyhive._diagnostics import DropCounter, internal_error, logger
from honeyhive._export._spool import Spool, SpooledParcel
from honeyhive._export._transport import HttpTransport

__all__ = ["Outbox", "Parcel"]

#: Failures worth keeping on disk: the backend may take the parcel later.
_SPOOLABLE = frozenset({"network_error", "rate_limited", "shutdown"})


@dataclass(frozen=True)
class Parcel:
    """One request: a batch of spans, or one API call."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    count: int  # spans in it (1 for an API call)
    kind: str = "spans"  # or "calls"


class Outbox:
    """Parcels for one backend, sent in order by one lazily started thread."""

    def __init__(
        self,
        transport: HttpTransport,
        *,
        drops: dict[str, DropCounter],
        max_bytes: int,
        timeout: float,
        spool: Optional[Spool] = None,
        split: Optional[Callable[[Parcel], Optional[tuple[Parcel, Parcel]]]] = None,
        name: str = "honeyhive-sender",
    ) -> None:
        self._transport = transport
        self._drops = drops  # by parcel kind
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._spool = spool
        self._split = split
        self._name = name
        self._parcels: deque[Parcel] = deque()
        self._inflight: Optional[Parcel] = None
        self._abandoned = False  # close() gave up on the request in flight
        self._bytes = 0
        self._put_count = 0
        self._done_count = 0
        self.spooled = 0  # parcels written to disk instead of delivered
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self._replay_due = spool is not None
        _live.add(self)

    def __repr__(self) -> str:
        return f"Outbox({self._transport!r}, parcels={len(self._parcels)}, bytes={self._bytes})"

    def put(self, parcel: Parcel) -> None:
        with self._cond:
            if self._closed:
                self._drops[parcel.kind].add("shutdown", parcel.count)
                return
            if self._parcels and self._bytes + len(parcel.body) > self._max_bytes:
                self._drops[parcel.kind].add("queue_full", parcel.count)
                return
            self._parcels.append(parcel)
            self._bytes += len(parcel.body)
            self._put_count += 1
            if self._thread is None:
                self._start()
            self._cond.notify()

    def wait(self, deadline: float) -> bool:
        """Until every parcel put so far is finished; False if the deadline came first."""
        with self._cond:
            target = self._put_count
            if self._thread is None and self._replay_due and self._spool is not None:
                self._start()
            while self._done_count < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    return self._done_count >= target
        return True

    def close(self, deadline: float) -> None:
        """Send what is queued until ``deadline``; spool (or drop) the rest; stop the thread.

        A request still in flight when the budget ends (a hung backend) is counted as lost
        now, and whatever the backend does with it later is not counted again.
        """
        self.wait(deadline)
        with self._cond:
            self._closed = True
            leftovers = list(self._parcels)
            self._parcels.clear()
            self._bytes = 0
            inflight, self._inflight = self._inflight, None
            self._abandoned = inflight is not None
            self._cond.notify_all()
        self._stop.set()
        for parcel in leftovers:
            self._fail(parcel, "shutdown")
        if inflight is not None:
            self._drops[inflight.kind].add("shutdown", inflight.count)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, min(0.1, deadline - time.monotonic())))
        self._transport.close()

    # -- sender thread ------------------------------------------------------------------------

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        context_api.attach(context_api.set_value(SUPPRESS_KEY, True))
        while not self._stop.is_set():
            try:
                if self._replay_due:
                    self._replay_due = False
                    self._replay_spool()
                with self._cond:
                    while not self._parcels and not self._stop.is_set():
                        self._cond.wait()
                    if self._stop.is_set():
                        return
                    parcel = self._inflight = self._parcels.popleft()
                    self._bytes -= len(parcel.body)
                try:
                    self._send(parcel)
                except Exception as exc:  # e.g. a header httpx cannot encode: counted, not lost
                    internal_error("sending to the backend", exc)
                    self._fail(parcel, "internal_error", final=True)
                finally:
                    with self._cond:
                        self._inflight = None
                        self._done_count += 1
                        self._cond.notify_all()
            except Exception as exc:  # the sender must survive anything
                internal_error("sending to the backend", exc)

    def _send(self, parcel: Parcel) -> None:
        deadline = time.monotonic() + self._timeout
        result = self._transport.send(
            parcel.method,
            parcel.url,
            parcel.body,
            parcel.headers,
            deadline=deadline,
            stop=self._stop,
        )
        if result.ok:
            if self._spool is not None and self._spool.has_pending():
                self._replay_due = True
            return
        if result.too_large and self._split is not None:
            halves = self._split(parcel)
            if halves is not None:  # a 413: send each half, never drop the batch whole
                for half in halves:
                    self._send(half)
                return
        self._fail(parcel, result.reason or "network_error", final=result.final)

    def _fail(self, parcel: Parcel, reason: str, *, final: bool = False) -> None:
        with self._cond:
            if self._abandoned and threading.current_thread() is self._thread:
                return  # close() already counted the request that was in flight
        spool = self._spool
        spoolable = not final and reason in _SPOOLABLE
        if spool is not None and spoolable and spool.write(parcel):
            self.spooled += 1
            logger.debug("spooled %d %s for later (%s)", parcel.count, parcel.kind, reason)
            return
        self._drops[parcel.kind].add(reason, parcel.count)

    def _replay_spool(self) -> None:
        """Deliver spooled parcels, oldest first, until one fails."""
        spool = self._spool
        if spool is None:
            return
        while not self._stop.is_set():
            parcel: Optional[SpooledParcel] = spool.claim_oldest()
            if parcel is None:
                return
            result = self._transport.send(
                parcel.method,
                parcel.url,
                parcel.body,
                parcel.headers,
                deadline=time.monotonic() + self._timeout,
                stop=self._stop,
            )
            if result.ok:
                spool.delete(parcel)
                continue
            if not result.final and result.reason in _SPOOLABLE:
                spool.release(parcel)
                return
            spool.delete(parcel)  # the backend refuses it for good: it can never be delivered
            self._drops.get(parcel.kind, self._drops["spans"]).add(
                result.reason or "network_error", parcel.count
            )

    # -- fork ---------------------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        # The parent sends what it had queued; the child starts empty.
        self._parcels.clear()
        self._inflight = None
        self._bytes = 0
        self._put_count = self._done_count = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = None
        self._replay_due = False


_live: weakref.WeakSet[Outbox] = weakref.WeakSet()


def _after_fork() -> None:
    for outbox in list(_live):
        try:
            outbox._after_fork_in_child()
        except Exception as exc:
            internal_error("resetting an outbox after fork", exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

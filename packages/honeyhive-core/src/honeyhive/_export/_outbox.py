"""The last stage before the network: encoded requests waiting for one backend.

An :class:`Outbox` holds *parcels* (one encoded request each) and sends them from its own
threads, so encoding never waits on the network and memory is bounded in bytes: a parcel that
would take the outbox past ``max_bytes`` is dropped and counted as ``queue_full``. A parcel that
fails after every retry is written to the spool when one is configured (and delivered once the
backend answers again), otherwise dropped and counted by reason.

While the backend's gate is closed (``Retry-After``, back-off after failures: see
``_transport``) parcels wait here; a parcel's export deadline starts when it may go, so a
request is tried at least once after the backend comes back. The parcel that received a
``Retry-After`` longer than its deadline waits too (at most ``MAX_PAUSES`` times), at the head
of the queue: the pause costs time, not that request.

With one sender (the OTLP exporters) parcels go strictly in order. With several (the API
channel) several requests are in flight at once and a parcel goes as soon as it is *ready*: a
parcel may carry :class:`~honeyhive._export._order.Ticket` s, the session starts it must not
overtake. A parcel waits for its tickets at most ``timeout`` seconds (then goes anyway: order
is worth a wait, not a loss); time the backend's gate is closed does not count, so that a pause
longer than ``timeout`` does not release every parcel at once, ahead of the starts it paused
too. ``Parcel.done`` is called once a parcel is finished, whatever became of it.

``wait(deadline)`` returns once every parcel put before the call is finished (acknowledged,
spooled or dropped); callers compare failure counts to know which.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from opentelemetry import context as context_api

from honeyhive._context import SUPPRESS_KEY, sdk_thread
from honeyhive._diagnostics import DropCounter, internal_error, logger
from honeyhive._export._failures import BackendReport
from honeyhive._export._order import After, Ticket
from honeyhive._export._spool import Spool, SpooledParcel
from honeyhive._export._transport import HttpTransport

__all__ = ["Outbox", "Parcel"]

#: Failures worth keeping on disk: the backend may take the parcel later.
_SPOOLABLE = frozenset({"network_error", "rate_limited", "shutdown"})
#: A parcel answered with a ``Retry-After`` longer than its deadline waits for the pause to end
#: and is tried again, at most this many times (a backend that always asks to wait is not
#: waited for for ever: the parcel is then given up, counted as ``rate_limited``).
MAX_PAUSES = 3


@dataclass(frozen=True)
class Parcel:
    """One request: a batch of spans, or a batch of API calls (or one)."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    count: int  # spans or calls in it
    kind: str = "spans"  # or "calls"
    after: Sequence[Ticket | After] = ()  # requests (session starts...) not to overtake
    done: Optional[Callable[[], None]] = field(default=None, compare=False)
    paused: int = field(default=0, compare=False)  # times a Retry-After sent it back to wait

    def ready(self) -> bool:
        return all(ticket.ready() for ticket in self.after)


class Outbox:
    """Parcels for one backend, sent by ``senders`` lazily started threads."""

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
        senders: int = 1,
        report: Optional[BackendReport] = None,
    ) -> None:
        self._transport = transport
        self._report = report
        self._drops = drops  # by parcel kind
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._spool = spool
        self._split = split
        self._name = name
        self._senders = max(1, senders)
        self._parcels: deque[tuple[float, Parcel]] = deque()  # (when it was put, parcel)
        self._inflight: dict[threading.Thread, Parcel] = {}  # taken by a sender
        self._on_wire: set[threading.Thread] = set()  # senders whose request is under way
        self._abandoned: set[threading.Thread] = set()  # close() took their parcels
        self._bytes = 0
        self._put_count = 0
        self._done_count = 0
        self.spooled = 0  # parcels written to disk instead of delivered
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._idle = 0  # senders waiting for a parcel
        self._replay_due = spool is not None
        self._replaying = False
        _live.add(self)

    def __repr__(self) -> str:
        return f"Outbox({self._transport!r}, parcels={len(self._parcels)}, bytes={self._bytes})"

    @property
    def transport(self) -> HttpTransport:
        return self._transport

    def put(self, parcel: Parcel) -> None:
        with self._cond:
            if self._closed:
                self._drops[parcel.kind].add("shutdown", parcel.count)
                accepted = False
            elif self._parcels and self._bytes + len(parcel.body) > self._max_bytes:
                self._drops[parcel.kind].add("queue_full", parcel.count)
                accepted = False
            else:
                self._parcels.append((time.monotonic(), parcel))
                self._bytes += len(parcel.body)
                self._put_count += 1
                if self._idle == 0 and len(self._threads) < self._senders:
                    self._start()
                self._cond.notify()
                accepted = True
        if not accepted:
            _finished(parcel)

    def wait(self, deadline: float, *, replay: bool = True) -> bool:
        """Until every parcel put so far is finished, and the spool's replay (started here if
        due and ``replay``) is over; False if the deadline came first."""
        with self._cond:
            target = self._put_count
            if replay and not self._threads and self._replay_due and self._spool is not None:
                self._start()
            gate = self._transport.gate
            while self._done_count < target or self._replaying:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if not self._on_wire and not self._replaying and gate.wait_time() > remaining:
                    return False  # the backend is backed off beyond the deadline: no progress
                self._cond.wait(min(remaining, 0.1))
        return True

    def close(self, deadline: float) -> None:
        """Send what is queued until ``deadline``; spool (or drop) the rest; stop the threads.

        A request still in flight when the budget ends (a hung backend) is counted as lost
        now, and whatever the backend does with it later is not counted again. A parcel a
        sender holds without having sent it (waiting for its turn) is a leftover like the rest.
        """
        self.wait(deadline, replay=False)  # a replay begun now would be cut short
        with self._cond:
            self._closed = True
            leftovers = [parcel for _, parcel in self._parcels]
            self._parcels.clear()
            self._bytes = 0
            on_wire: list[Parcel] = []
            for thread, parcel in self._inflight.items():
                (on_wire if thread in self._on_wire else leftovers).append(parcel)
            self._abandoned.update(self._inflight)
            self._inflight.clear()
            self._cond.notify_all()
        self._stop.set()
        # Left over while the backend is backed off (failing, or asked for a pause): that, not
        # the exit, is why they were not delivered.
        gate = self._transport.gate
        backed_off = gate.wait_time() > 0
        reason = gate.cause if backed_off else "shutdown"
        detail = gate.detail if backed_off else ""
        for parcel in leftovers:
            self._fail(parcel, reason, detail=detail)
            _finished(parcel)
        for parcel in on_wire:
            self._drops[parcel.kind].add(reason, parcel.count)
            _finished(parcel)
        current = threading.current_thread()
        for thread in list(self._threads):
            if thread is not current:
                thread.join(max(0.0, min(0.1, deadline - time.monotonic())))
        self._transport.close()

    # -- sender threads -----------------------------------------------------------------------

    def _start(self) -> None:
        # Caller holds self._cond.
        thread = sdk_thread(self._run, f"{self._name}-{len(self._threads)}")
        self._threads.append(thread)
        thread.start()

    def _take(self) -> Optional[Parcel]:
        """The next parcel to send (waiting for one); None when the outbox stops."""
        with self._cond:
            while not self._stop.is_set():
                parcel = self._first_ready()
                if parcel is not None:
                    self._inflight[threading.current_thread()] = parcel
                    return parcel
                self._idle += 1
                try:
                    # Woken by put() and by every finished parcel; a ticket that waits on
                    # another outbox is looked at again after a short while.
                    self._cond.wait(0.05 if self._parcels else None)
                finally:
                    self._idle -= 1
            return None

    def _first_ready(self) -> Optional[Parcel]:
        # Caller holds self._cond. One sender: strictly in order, the head waits for its
        # tickets (in _run, outside the lock). Several: the first parcel that may go.
        parcels = self._parcels
        if not parcels:
            return None
        if self._senders == 1:
            _, parcel = parcels.popleft()
            self._bytes -= len(parcel.body)
            return parcel
        # Waiting for a ticket counts from when the parcel could have gone: not while the
        # backend was paused (the starts it waits for were paused too).
        overdue = time.monotonic() - self._timeout
        opened = self._transport.gate.opened_at
        for index, (queued, parcel) in enumerate(parcels):
            if max(queued, opened) <= overdue or parcel.ready():
                del parcels[index]
                self._bytes -= len(parcel.body)
                return parcel
        return None

    def _run(self) -> None:
        context_api.attach(context_api.set_value(SUPPRESS_KEY, True))
        me = threading.current_thread()
        while not self._stop.is_set():
            try:
                if self._replay_due:
                    with self._cond:
                        due, self._replay_due = self._replay_due, False
                        self._replaying = due
                    if due:
                        try:
                            self._replay_spool()
                        finally:
                            with self._cond:
                                self._replaying = False
                                self._cond.notify_all()
                parcel = self._take()
                if parcel is None:
                    return
                requeued = False
                try:
                    if parcel.after and self._senders == 1:
                        self._wait_for_tickets(parcel)
                    self._wait_for_backend()
                    if self._begin_sending(me):
                        requeued = self._send(parcel)
                except Exception as exc:  # e.g. a header httpx cannot encode: counted, not lost
                    internal_error("sending to the backend", exc)
                    self._fail(parcel, "internal_error", final=True)
                finally:
                    with self._cond:
                        abandoned = me in self._abandoned
                        if not abandoned:
                            self._inflight.pop(me, None)
                        self._on_wire.discard(me)
                        if requeued and not abandoned:
                            requeued = self._requeue(parcel)
                    if not abandoned and not requeued:  # (else close() finished it already)
                        _finished(parcel)  # before waking anyone: a ticket may be ready now
                    with self._cond:
                        if not requeued:
                            self._done_count += 1
                        self._cond.notify_all()
            except Exception as exc:  # the sender must survive anything
                internal_error("sending to the backend", exc)

    def _begin_sending(self, me: threading.Thread) -> bool:
        """The request goes on the wire now, unless close() took the parcel back meanwhile."""
        with self._cond:
            if self._closed or me in self._abandoned:
                return False
            self._on_wire.add(me)
            return True

    def _wait_for_tickets(self, parcel: Parcel) -> None:
        """One sender: the head parcel waits for the session starts it must not overtake, at
        most ``timeout`` while the backend is open (a pause holds those starts as well)."""
        taken = time.monotonic()
        gate = self._transport.gate
        while not self._stop.is_set() and not parcel.ready():
            self._wait_for_backend()
            now = time.monotonic()
            deadline = max(taken, gate.opened_at) + self._timeout
            if now >= deadline:
                return
            until = min(deadline, now + 0.1)  # then look at the gate again
            for ticket in parcel.after:
                ticket.wait(until, self._stop)

    def _wait_for_backend(self) -> None:
        """While the backend asked for a pause or is backed off after failures, parcels wait
        here, queued; the export deadline starts when a parcel may go."""
        gate = self._transport.gate
        while not self._stop.is_set():
            closed = gate.wait_time()
            if closed <= 0:
                return
            self._stop.wait(closed)

    def _requeue(self, parcel: Parcel) -> bool:
        """Put a parcel the backend asked to wait back at the head of the queue, to go when the
        pause ends, like every parcel queued behind it (caller holds self._cond)."""
        if self._closed:  # too late to wait: lost to the pause
            self._drops[parcel.kind].add("rate_limited", parcel.count)
            return False
        self._parcels.appendleft((time.monotonic(), replace(parcel, paused=parcel.paused + 1)))
        self._bytes += len(parcel.body)
        return True

    def _send(self, parcel: Parcel) -> bool:
        """Send one parcel; True when the backend asked for a pause longer than the parcel's
        deadline: it goes back to wait (see ``_requeue``) instead of being given up."""
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
            if self._report is not None:
                self._report.recovered()
            if self._spool is not None and self._spool.has_pending():
                self._replay_due = True
            return False
        if result.too_large and self._split is not None:
            halves = self._split(parcel)
            if halves is not None:  # a 413: send each half, never drop the batch whole
                for half in halves:
                    if self._send(half):
                        self._fail(half, "rate_limited", detail=result.detail)
                return False
        reason = result.reason or "network_error"
        if (
            reason == "rate_limited"
            and parcel.paused < MAX_PAUSES
            and not self._stop.is_set()
            and self._transport.gate.wait_time() > 0
        ):
            return True  # the backend asked for a pause: wait for its end with the others
        self._fail(parcel, reason, final=result.final, detail=result.detail)
        return False

    def _fail(self, parcel: Parcel, reason: str, *, final: bool = False, detail: str = "") -> None:
        with self._cond:
            if threading.current_thread() in self._abandoned:
                return  # close() already counted the request that was in flight
        spool = self._spool
        spoolable = not final and reason in _SPOOLABLE
        spooled = spool is not None and spoolable and spool.write(parcel)
        if spooled:
            self.spooled += 1
            logger.debug("spooled %d %s for later (%s)", parcel.count, parcel.kind, reason)
        else:
            self._drops[parcel.kind].add(reason, parcel.count)
        if self._report is not None:
            self._report.failed(parcel.kind, parcel.count, reason, detail, spooled)

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
            reason = result.reason or "network_error"
            self._drops.get(parcel.kind, self._drops["spans"]).add(reason, parcel.count)
            if self._report is not None:
                self._report.failed(parcel.kind, parcel.count, reason, result.detail, False)

    # -- fork ---------------------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        # The parent sends what it had queued; the child starts empty.
        self._parcels.clear()
        self._inflight.clear()
        self._on_wire.clear()
        self._abandoned.clear()
        self._bytes = 0
        self._put_count = self._done_count = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads = []
        self._idle = 0
        self._replay_due = False
        self._replaying = False


def _finished(parcel: Parcel) -> None:
    done = parcel.done
    if done is not None:
        try:
            done()
        except Exception as exc:
            internal_error("finishing a parcel", exc)


_live: weakref.WeakSet[Outbox] = weakref.WeakSet()


def _after_fork() -> None:
    for outbox in list(_live):
        try:
            outbox._after_fork_in_child()
        except Exception as exc:
            internal_error("resetting an outbox after fork", exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

"""Order between requests that travel on different paths to one backend.

A session's start must reach the backend before that session's spans, events and enrichments,
although spans go to the OTLP route from one outbox and API calls to the API's routes from
another, several at a time. Each session start gets a number from a :class:`Sequence` when it
is handed to the API channel; a request that must come after it carries a :class:`Ticket` for
that number and is not sent before every start up to it is *finished*: acknowledged, or given
up (dropped or spooled; what depends on it is then sent anyway, never held forever).
Waiting happens on the sending threads only, never on the application's.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

__all__ = ["After", "Sequence", "Ticket"]


class Sequence:
    """Numbers handed out in order, and how far the finished ones reach without a gap."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._issued = 0
        self._through = 0  # every number up to this one is finished
        self._finished: set[int] = set()  # finished numbers beyond the gap

    @property
    def issued(self) -> int:
        """The last number handed out (0: none yet)."""
        return self._issued

    @property
    def through(self) -> int:
        return self._through

    def issue(self, count: int = 1) -> tuple[int, int]:
        """``count`` new numbers, as the range ``(first, last)``."""
        with self._cond:
            first = self._issued + 1
            self._issued += count
            return first, self._issued

    def finish(self, first: int, last: int) -> None:
        """Numbers ``first..last`` are finished (delivered or given up)."""
        with self._cond:
            self._finished.update(range(first, last + 1))
            advanced = False
            while self._through + 1 in self._finished:
                self._through += 1
                self._finished.discard(self._through)
                advanced = True
            if advanced:
                self._cond.notify_all()

    def reached(self, number: int) -> bool:
        return self._through >= number

    def wait(self, number: int, deadline: float, stop: Optional[threading.Event] = None) -> bool:
        """Until ``number`` is reached, the deadline passes or ``stop`` is set."""
        with self._cond:
            while self._through < number:
                if stop is not None and stop.is_set():
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # Short slices: ``stop`` is an Event of its own and does not notify us.
                self._cond.wait(min(remaining, 0.05))
            return True

    def reset(self) -> None:
        """A forked child starts over (the parent finishes what it had issued)."""
        self._cond = threading.Condition()
        self._issued = self._through = 0
        self._finished = set()


class Ticket:
    """A request's place behind the session starts it depends on."""

    __slots__ = ("number", "sequence")

    def __init__(self, sequence: Sequence, number: int) -> None:
        self.sequence = sequence
        self.number = number

    def ready(self) -> bool:
        return self.number <= 0 or self.sequence.reached(self.number)

    def wait(self, deadline: float, stop: Optional[threading.Event] = None) -> bool:
        return self.ready() or self.sequence.wait(self.number, deadline, stop)

    def __repr__(self) -> str:
        return f"Ticket({self.number}, through={self.sequence.through})"


class After:
    """A ticket on one request: ready once it is finished (:meth:`finish`, from its
    ``Parcel.done``). Keeps the enrichments of one event or session in the order they were
    made, while enrichments of different ones go several at a time."""

    __slots__ = ("_done",)

    def __init__(self) -> None:
        self._done = threading.Event()

    def finish(self) -> None:
        self._done.set()

    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, deadline: float, stop: Optional[threading.Event] = None) -> bool:
        while not self._done.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (stop is not None and stop.is_set()):
                return False
            self._done.wait(min(remaining, 0.05))
        return True

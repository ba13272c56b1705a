"""The API-call channel: the one path for every call to the HoneyHive API.

Session starts, events and enrichments made anywhere (the tracer, per-request sessions of the
integrations) are handed to one :class:`ApiChannel`. On the application thread that is one
``deque.append``; everything else happens on the tracer's delivery thread (``drain``: numbering,
encoding, batching) and on the channel's senders (several requests in flight):

* session starts and events travel together in ``POST /events/batch`` requests (a session start
  is an event of type ``session`` carrying its own ``session_id``), up to
  ``MAX_BATCH_EVENTS`` events or ``MAX_BATCH_BYTES`` bytes a request;
* enrichments (``PUT /events``) have no batch route: they go one per request, several at once,
  but those of one event or session one after the other, in the order they were made (the
  backend keeps the last one it applied).

Order: a session's start is sent before that session's spans, events and enrichments, but
never by making the application wait. Session starts are numbered (:mod:`._order`); an event
or an enrichment goes in a request after the starts handed over before it are finished, and
the span batches the delivery thread prepares carry a :class:`Ticket` for them (see
``Delivery``). A per-request session is *open* while its request runs: it starts when the
request ends, named after the request (``GET /users/{user_id}``), and what it contains
meanwhile is held back, not sent ahead of the start. A request that lasts (a websocket, a long
stream) or never ends (a response nobody closed) has its session started after
``MAX_OPEN_SECONDS``, named as far as is known then.

In test mode there is no outbox: every request is encoded exactly as it would be sent and given
to the capture sink (``honeyhive.testing``).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional

from honeyhive import _forksafe as forksafe
from honeyhive._diagnostics import DropCounter, internal_error, logger
from honeyhive._export._order import After, Sequence, Ticket
from honeyhive._export._outbox import Outbox, Parcel

__all__ = [
    "API_SENDERS",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "ApiChannel",
    "OpenSession",
    "SessionNames",
    "split_batch",
]

#: Requests in flight at once to the API (and the connections kept for them).
API_SENDERS = 8

#: At most this many events (session starts included) in one ``POST /events/batch``...
MAX_BATCH_EVENTS = 500
#: ... and at most this many bytes of body (a single bigger event still goes, alone).
MAX_BATCH_BYTES = 4 * 1024 * 1024
#: Calls and span batches held for open sessions, beyond which those sessions start early.
MAX_HELD_CALLS = 10_000
#: An open session starts early, named as far as is known, once it has been open this long (a
#: websocket, a long stream: its spans are held until it starts) or when more sessions than
#: this are open at once (requests that never end: a response nobody closed).
MAX_OPEN_SECONDS = 30.0
MAX_OPEN_SESSIONS = 10_000
#: Names of the sessions started most recently, kept for their spans (see ``SessionNames``).
RECENT_SESSION_NAMES = 10_000

_SESSION, _EVENT, _UPDATE = 0, 1, 2
_BATCH_PATH = "/events/batch"
_EVENTS_PATH = "/events"
_JSON = {"Content-Type": "application/json"}

#: Builds a session's start (the batch event) when it starts: its name is known then.
OpenSession = Callable[[], dict[str, Any]]


class SessionNames:
    """The names this tracer started its sessions under, for the spans in them.

    A span says which session it is in (``honeyhive.session_id``) and under which name
    (``honeyhive.session_name``). A per-request session is named when its request ends, so its
    spans learn the name at export time, from here. Only the most recent sessions are kept (two
    generations of ``RECENT_SESSION_NAMES``): a span of an older one, or of a session started
    elsewhere (a caller's, one joined with ``link``), carries no name rather than a wrong one.
    Written and read on the delivery thread only.
    """

    __slots__ = ("_current", "_previous")

    def __init__(self) -> None:
        self._current: dict[str, str] = {}
        self._previous: dict[str, str] = {}

    def add(self, session_id: object, name: object) -> None:
        if type(session_id) is not str or type(name) is not str:
            return
        if len(self._current) >= RECENT_SESSION_NAMES:
            self._previous, self._current = self._current, {}
        self._current[session_id] = name

    def get(self, session_id: str) -> Optional[str]:
        name = self._current.get(session_id)
        return name if name is not None else self._previous.get(session_id)

    def clear(self) -> None:
        self._current.clear()
        self._previous.clear()


class ApiChannel:
    """Every API call of one tracer, batched, ordered after the session starts they need."""

    def __init__(
        self,
        *,
        base_url: str,
        outbox: Optional[Outbox],
        drops: DropCounter,
        scrub: Callable[[str], str],
        max_queued: int = 65536,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._max_queued = max_queued  # calls not yet drained; beyond it: queue_full
        self._outbox = outbox  # None in test mode: requests are built, never sent
        self.drops = drops
        self._scrub = scrub
        self._inbox: deque[tuple[int, dict[str, Any]]] = deque()
        # Open sessions, by id: ``_open`` says which are open and since when (read by the
        # delivery thread), ``_unstarted`` who starts each (popped, atomically, by whoever
        # starts it first).
        self._open: dict[str, float] = {}
        self._unstarted: dict[str, OpenSession] = {}
        self._held: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # calls for open sessions
        self._held_count = 0
        self.sessions = Sequence()  # session starts handed over
        self.names = SessionNames()  # ... and the names they were started under
        self.events = Sequence()  # events handed over
        # The latest enrichment of each event or session still unfinished: the next one of
        # the same goes after it (the last one made is the last one the backend applies).
        self._updates: dict[str, After] = {}
        self._lock = forksafe.Lock()  # one drain at a time
        self._closed = False
        self._sink: Optional[Callable[[str, str, bytes], None]] = None
        self._early: list[tuple[str, str, bytes]] = []
        self._sink_lock = forksafe.Lock()

    # -- the application's side: one append each ----------------------------------------------

    def start_session(self, event: dict[str, Any]) -> None:
        """Start a session now; ``event`` is its start as a batch event of type ``session``."""
        self._put(_SESSION, event)

    def create_event(self, event: dict[str, Any]) -> None:
        self._put(_EVENT, event)

    def update_event(self, body: dict[str, Any]) -> None:
        """An enrichment (``PUT /events``) of a session or an event."""
        self._put(_UPDATE, body)

    def _put(self, kind: int, body: dict[str, Any]) -> None:
        if self._closed or len(self._inbox) >= self._max_queued:
            self.drops.add("shutdown" if self._closed else "queue_full")
            return
        self._inbox.append((kind, body))

    def open_session(self, session_id: str, start: OpenSession) -> None:
        """A session that starts later (:meth:`start_open_session`), when its name is known.

        Until then, its events and enrichments are held here and its spans by the delivery
        thread, so that nothing of it reaches the backend before its start.
        """
        self._unstarted[session_id] = start
        self._open[session_id] = time.monotonic()

    def start_open_session(self, session_id: str) -> None:
        """Start an open session (idempotent: it starts once, here or when flushed)."""
        self.start_early((session_id,))

    def open_sessions(self) -> frozenset[str]:
        """The sessions open right now (a snapshot)."""
        return frozenset(self._open)

    def start_early(self, session_ids: Iterable[str]) -> None:
        """Start open sessions now, named as far as is known (the request ended; or a flush,
        or too much held, before it did). A start that cannot be built is counted, and its
        session is no longer open: what it holds is not held for ever."""
        for session_id in session_ids:
            start = self._unstarted.pop(session_id, None)  # whoever pops it starts it
            if start is None:
                continue
            try:
                self._put(_SESSION, start())
            except Exception as exc:
                internal_error("naming a session", exc)
                self.drops.add("internal_error")
            # Only now does it stop being open: whoever finds it closed (the delivery thread)
            # finds its start handed over already.
            self._open.pop(session_id, None)

    # -- the delivery thread's side -----------------------------------------------------------

    @property
    def held_sessions(self) -> frozenset[str]:
        return frozenset(self._held)

    def pending(self) -> bool:
        """Calls not yet drained (or held for open sessions)."""
        return bool(self._inbox) or bool(self._held)

    def drain(self) -> Ticket:
        """Number, encode and batch every call handed over so far; returns the ticket that
        orders a span batch prepared now after every session start handed over before it."""
        with self._lock:
            self._start_overdue()
            # Which sessions are open is read before the calls are taken: a session found
            # closed here has its start among the calls taken below (or earlier).
            still_open = frozenset(self._open)
            calls = self._inbox
            taken = [calls.popleft() for _ in range(len(calls))]
            starts = [body for kind, body in taken if kind == _SESSION]
            for body in starts:
                self.names.add(body.get("session_id"), body.get("event_name"))
            rest = [(kind, body) for kind, body in taken if kind != _SESSION]
            rest = self._released(still_open) + self._hold(rest, still_open)
            if starts:
                first, _ = self.sessions.issue(len(starts))
                self._send_batches(starts, (), self.sessions, first)
            after_sessions = Ticket(self.sessions, self.sessions.issued)
            events = [body for kind, body in rest if kind == _EVENT]
            if events:
                first, _ = self.events.issue(len(events))
                self._send_batches(events, (after_sessions,), self.events, first)
            after_events = Ticket(self.events, self.events.issued)
            if self._updates:
                self._updates = {k: v for k, v in self._updates.items() if not v.ready()}
            for kind, body in rest:
                if kind == _UPDATE:
                    self._send_update(body, (after_sessions, after_events))
            return after_sessions

    def _start_overdue(self) -> None:
        """Start the sessions open too long, or too many (the oldest first): the memory an
        open session holds, and the wait of what it holds, stay bounded."""
        opened = self._open
        try:
            oldest = opened[next(iter(opened))]
        except (StopIteration, KeyError, RuntimeError):  # none, or changing under us
            return
        now = time.monotonic()
        excess = len(opened) - MAX_OPEN_SESSIONS
        if excess <= 0 and now - oldest < MAX_OPEN_SECONDS:
            return
        overdue = []
        for index, (session_id, since) in enumerate(list(opened.items())):
            if index >= excess and now - since < MAX_OPEN_SECONDS:
                break  # opened in order: the rest are younger
            overdue.append(session_id)
        self.start_early(overdue)

    def _hold(
        self, calls: list[tuple[int, dict[str, Any]]], still_open: frozenset[str]
    ) -> list[tuple[int, dict[str, Any]]]:
        """The calls that may go now; those of open sessions are kept until they start."""
        if not still_open:
            return calls
        ready = []
        for kind, body in calls:
            target = body.get("session_id") if kind == _EVENT else body.get("event_id")
            if isinstance(target, str) and target in still_open:
                self._held.setdefault(target, []).append((kind, body))
                self._held_count += 1
            else:
                ready.append((kind, body))
        if self._held_count > MAX_HELD_CALLS:  # a request that never ends: start its session
            self.start_early(list(self._held))
        return ready

    def _released(self, still_open: frozenset[str]) -> list[tuple[int, dict[str, Any]]]:
        released: list[tuple[int, dict[str, Any]]] = []
        for session_id in [s for s in self._held if s not in still_open]:
            calls = self._held.pop(session_id)
            self._held_count -= len(calls)
            released.extend(calls)
        return released

    def _send_batches(
        self,
        bodies: list[dict[str, Any]],
        after: tuple[Ticket, ...],
        sequence: Sequence,
        first: int,
    ) -> None:
        """``bodies`` (numbered from ``first`` in ``sequence``) in batch requests of at most
        ``MAX_BATCH_EVENTS`` events."""
        for start in range(0, len(bodies), MAX_BATCH_EVENTS):
            chunk = bodies[start : start + MAX_BATCH_EVENTS]
            self._send_batch(chunk, after, sequence, first + start)

    def _send_batch(
        self,
        bodies: list[dict[str, Any]],
        after: tuple[Ticket, ...],
        sequence: Sequence,
        first: int,
    ) -> None:
        """One request, encoded in one go; halved while above ``MAX_BATCH_BYTES``; a body that
        cannot be encoded is dropped alone (and finished: nothing waits for it)."""
        last = first + len(bodies) - 1
        try:
            text = json.dumps({"events": bodies}, default=_json_default, ensure_ascii=False)
        except Exception:  # one of them is not encodable (a circular structure): find it
            if len(bodies) == 1:
                self._encode(bodies[0])  # counts and says it
                sequence.finish(first, last)
                return
            half = len(bodies) // 2
            self._send_batch(bodies[:half], after, sequence, first)
            self._send_batch(bodies[half:], after, sequence, first + half)
            return
        data = self._scrub(text).encode("utf-8", "replace")
        if len(data) > MAX_BATCH_BYTES and len(bodies) > 1:
            half = len(bodies) // 2
            self._send_batch(bodies[:half], after, sequence, first)
            self._send_batch(bodies[half:], after, sequence, first + half)
            return

        def done() -> None:
            sequence.finish(first, last)

        self._send("POST", _BATCH_PATH, data, len(bodies), after, done)

    def _send_update(self, body: dict[str, Any], after: tuple[Ticket, ...]) -> None:
        text = self._encode(body)
        if text is None:
            return
        target = body.get("event_id")
        turn: tuple[Ticket | After, ...] = after
        mine = After()
        if isinstance(target, str):
            previous = self._updates.get(target)
            if previous is not None:
                turn = (*after, previous)
            self._updates[target] = mine
        self._send("PUT", _EVENTS_PATH, text, 1, turn, mine.finish)

    def _send(
        self,
        method: str,
        path: str,
        body: bytes,
        count: int,
        after: tuple[Ticket | After, ...],
        done: Optional[Callable[[], None]],
    ) -> None:
        outbox = self._outbox
        if outbox is None:  # test mode: a capture may look; nothing is sent
            with self._sink_lock:
                sink = self._sink
                if sink is None and len(self._early) < 64:
                    self._early.append((method, path, body))
            if sink is not None:
                sink(method, path, body)
            if done is not None:
                done()
            return
        outbox.put(Parcel(method, self._base + path, body, _JSON, count, "calls", after, done))

    def _encode(self, body: Mapping[str, Any]) -> Optional[bytes]:
        try:
            text = json.dumps(body, default=_json_default, ensure_ascii=False)
            return self._scrub(text).encode("utf-8", "replace")
        except Exception as exc:  # e.g. a circular structure: the caller's data, not our bug
            logger.warning("dropping an API call whose body cannot be encoded: %s", type(exc))
            self.drops.add("internal_error")
            return None

    def attach_sink(self, sink: Callable[[str, str, bytes], None]) -> None:
        """In test mode, hand every request (encoded) to ``sink``, the earlier ones first."""
        with self._sink_lock:
            early, self._early = self._early, []
            self._sink = sink
        for call in early:
            sink(*call)

    # -- delivery, flush and close ------------------------------------------------------------

    def wait(self, deadline: float) -> bool:
        return True if self._outbox is None else self._outbox.wait(deadline)

    def failures(self) -> int:
        spooled = 0 if self._outbox is None else self._outbox.spooled
        return self.drops.total() + spooled

    def close(self, deadline: float) -> None:
        """Stop taking calls; what was never drained or is still held is counted as lost."""
        self._closed = True
        with self._lock:
            left = len(self._inbox) + self._held_count
            self._inbox.clear()
            self._held.clear()
            self._held_count = 0
        self.drops.add("shutdown", left)
        if self._outbox is not None:
            self._outbox.close(deadline)

    def after_fork_in_child(self) -> None:
        # The parent delivers what it had; the child starts empty (its open sessions are the
        # parent's requests, which end in the parent).
        self._inbox.clear()
        self._open.clear()
        self._unstarted.clear()
        self._held.clear()
        self._held_count = 0
        self.sessions.reset()
        self.events.reset()
        self.names.clear()
        self._updates.clear()
        with self._sink_lock:
            self._early.clear()


def split_batch(parcel: Parcel) -> Optional[tuple[Parcel, Parcel]]:
    """A batch the backend found too large (413), in two halves (None for a single call)."""
    if parcel.method != "POST" or not parcel.url.endswith(_BATCH_PATH) or parcel.count < 2:
        return None
    try:
        events = json.loads(parcel.body)["events"]
    except (ValueError, KeyError, TypeError):
        return None
    half = len(events) // 2
    halves = []
    for part in (events[:half], events[half:]):
        body = json.dumps({"events": part}, ensure_ascii=False).encode("utf-8", "replace")
        halves.append(Parcel(parcel.method, parcel.url, body, parcel.headers, len(part), "calls"))
    return halves[0], halves[1]


def _json_default(value: object) -> str:
    """Values JSON cannot encode are sent as their ``str`` (or ``repr``, or a placeholder)."""
    for convert in (str, repr):
        try:
            return convert(value)
        except Exception:  # noqa: S112 - try the next way to show it
            continue
    return f"<unrepresentable {type(value).__name__}>"

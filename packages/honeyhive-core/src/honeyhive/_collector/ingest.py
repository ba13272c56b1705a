"""The collector's write path: bodies read under the shared budget, then parsed and stored by
two worker threads in a pipeline.

Each request's body is read on the event loop into a :class:`~.budget.Claim` (a 503 when the
collector's :class:`~.budget.BodyBudget` is spent). Everything after that runs off the event
loop, so it keeps answering (health checks, the viewer) while a big body is handled: one thread
decompresses, parses and validates, one request after another (a big body in the child process,
see :mod:`.child`); another stores, one request after another (the database has one writer).
While one request is stored, the next is parsed: SQLite works without the GIL, so the two
overlap. Memory holds at most the budget's bodies, one request being expanded, and the decoded
requests waiting for the writer (no more than the requests in flight).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from honeyhive._collector.bodies import decode_content, read_body
from honeyhive._collector.budget import BodyBudget, Claim
from honeyhive._collector.child import ChildParser

__all__ = ["Ingest"]

P = TypeVar("P")
T = TypeVar("T")
Receive = Callable[[], Awaitable[Any]]


class Ingest:
    """Read a request's body under the budget, then parse and store it in the worker thread
    (a big body is parsed in the child process, see :mod:`.child`)."""

    def __init__(self, max_body_bytes: int, budget: BodyBudget) -> None:
        self.max_body_bytes = max_body_bytes
        self.budget = budget
        self.parser = ChildParser()
        self._parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="honeyhive-parse")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="honeyhive-store")

    async def run(
        self,
        headers: Mapping[str, str],
        receive: Receive,
        parse: Callable[[bytes], P],
        store: Callable[[P], T],
    ) -> T:
        """``parse`` gets the body decompressed (``Content-Encoding``) and must be picklable;
        ``store`` gets what it returned. Returns what ``store`` returns; raises what either
        raised."""
        claim = self.budget.claim()
        try:
            body = await read_body(headers, receive, self.max_body_bytes, claim)
        except BaseException:
            claim.release()
            raise
        encoding = headers.get("content-encoding", "")
        held = [body]
        del body
        # The workers own the claim from here: a client that goes away does not free the bytes
        # they still hold. The parse job hands its result straight to the writer's queue.
        done: Future[T] = Future()
        self._parser.submit(self._parse, held, encoding, claim, parse, store, done)
        return await asyncio.wrap_future(done)

    def _parse(
        self,
        held: list[bytes],
        encoding: str,
        claim: Claim,
        parse: Callable[[bytes], P],
        store: Callable[[P], T],
        done: Future[T],
    ) -> None:
        try:
            data = held.pop()
            if encoding:
                data = decode_content(encoding, data, self.max_body_bytes, claim)
            parsed = self.parser.parse(parse, data)
            del data
            self._writer.submit(self._store, parsed, claim, store, done)
        except BaseException as exc:  # handed to the request's coroutine
            claim.release()
            done.set_exception(exc)

    @staticmethod
    def _store(parsed: P, claim: Claim, store: Callable[[P], T], done: Future[T]) -> None:
        try:
            result = store(parsed)
        except BaseException as exc:
            claim.release()
            done.set_exception(exc)
            return
        claim.release()
        done.set_result(result)

    def close(self) -> None:
        """Finish the requests in hand, then stop the workers and the child parser."""
        self._parser.shutdown(wait=True)
        self._writer.shutdown(wait=True)
        self.parser.close()

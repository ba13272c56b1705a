"""The collector's write path: bodies read under the shared budget, then handled one at a time.

Each request's body is read on the event loop into a :class:`~.budget.Claim` (a 503 when the
collector's :class:`~.budget.BodyBudget` is spent). Everything after that, decompressing,
parsing JSON or protobuf, validating and storing, runs in one worker thread, one request after
another: the event loop keeps answering (health checks, the viewer) while a big body is parsed,
and memory holds at most the budget's bodies plus one request being expanded. Parsing is
CPU-bound Python, so a second worker would add memory, not throughput; the database has one
writer anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="honeyhive-ingest")

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
        # The job owns the claim from here: a client that goes away does not free the bytes the
        # worker still holds.
        future = self._worker.submit(self._job, held, encoding, claim, parse, store)
        return await asyncio.wrap_future(future)

    def _job(
        self,
        held: list[bytes],
        encoding: str,
        claim: Claim,
        parse: Callable[[bytes], P],
        store: Callable[[P], T],
    ) -> T:
        with claim:
            data = held.pop()
            if encoding:
                data = decode_content(encoding, data, self.max_body_bytes, claim)
            parsed = self.parser.parse(parse, data)
            del data
            return store(parsed)

    def close(self) -> None:
        """Finish the requests in hand, then stop the worker and the child parser."""
        self._worker.shutdown(wait=True)
        self.parser.close()

"""Request bodies under a size limit and a shared budget, and their ``Content-Encoding``.

A body over the limit is a 413, found from ``Content-Length`` before anything is read, or while
streaming a body sent without one. Either way the rest of the body is read and thrown away
(up to :func:`drain_limit`), so that a client still writing its request reads the 413 instead of
a reset connection: the SDK splits a batch the collector answers 413 to, it retries a reset. A
compressed body is limited after decompression too. Every byte held is taken from the request's
:class:`~.budget.Claim` first (a 503 when the collector's budget is spent, see :mod:`.budget`).

Decompression takes time linear in the body: input is fed in slices, so what is left over
after a gzip member is at most one slice, and a body may hold at most :data:`MAX_GZIP_MEMBERS`
members (the SDK sends one; thousands of empty members are an attack, not a client).
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Mapping
from typing import Any, Callable, Optional

from honeyhive._collector.budget import Claim
from honeyhive._collector.records import PayloadError

__all__ = ["MAX_GZIP_MEMBERS", "decode_content", "drain", "drain_limit", "read_body", "too_large"]

Receive = Callable[[], Awaitable[Any]]

#: The most gzip members one body may hold.
MAX_GZIP_MEMBERS = 1024
_SLICE = 256 * 1024


def drain_limit(limit: int) -> int:
    """How much of an oversized body is read (and discarded) before answering."""
    return max(4 * limit, 64 * 1024 * 1024)


def too_large(size: int, limit: int, *, after: str = "") -> PayloadError:
    return PayloadError(
        f"request body{after} of {size} bytes exceeds the collector's limit of {limit} bytes",
        status=413,
    )


async def drain(receive: Receive, budget: int) -> None:
    """Read and discard what is left of the request body, at most ``budget`` bytes."""
    read = 0
    while read <= budget:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def read_body(
    headers: Mapping[str, str], receive: Receive, limit: int, claim: Claim
) -> bytes:
    """The whole body if it is at most ``limit`` bytes, else :class:`PayloadError` (413); every
    byte is taken from ``claim`` first (503 when the budget is spent)."""
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise PayloadError(f"invalid Content-Length {declared!r}") from None
        if size > limit:
            await drain(receive, drain_limit(limit))
            raise too_large(size, limit)
        await _take_or_drain(claim, size, receive, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise PayloadError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            if more:
                await drain(receive, drain_limit(limit) - size)
            raise too_large(size, limit, after=" (at least)")
        if declared is None:
            await _take_or_drain(claim, len(chunk), receive if more else None, limit)
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


async def _take_or_drain(claim: Claim, size: int, receive: Optional[Receive], limit: int) -> None:
    try:
        claim.take(size)
    except PayloadError:
        if receive is not None:  # read what the client still sends, so that it reads the 503
            await drain(receive, drain_limit(limit))
        raise


def decode_content(encoding: str, body: bytes, limit: int, claim: Claim) -> bytes:
    """The body with its ``Content-Encoding`` (gzip or deflate) undone, at most ``limit``
    bytes, each taken from ``claim`` as it is produced."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits, members = 16 + zlib.MAX_WBITS, MAX_GZIP_MEMBERS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
        members = 1
    else:
        raise PayloadError(f"unsupported Content-Encoding {encoding!r}; use gzip", status=415)
    if not body:
        return body
    try:
        return _inflate(body, wbits, members, limit, claim, encoding)
    except zlib.error as exc:
        raise PayloadError(f"cannot decode the {encoding} body: {exc}") from None


def _inflate(
    body: bytes, wbits: int, max_members: int, limit: int, claim: Claim, encoding: str
) -> bytes:
    out = bytearray()
    view = memoryview(body)
    decompressor = zlib.decompressobj(wbits)
    members = 1
    position = 0
    pending = b""  # input left over after a member ended: at most one slice
    while pending or position < len(view):
        if pending:
            data: Any = pending
            pending = b""
        else:
            data = view[position : position + _SLICE]
            position += len(data)
        if decompressor.eof:  # gzip allows several members back to back
            members += 1
            if members > max_members:
                raise PayloadError(
                    f"the {encoding} body has more than {max_members} members"
                    if max_members > 1
                    else f"data after the end of the {encoding} stream"
                )
            decompressor = zlib.decompressobj(wbits)
        before = len(out)
        out += decompressor.decompress(data, limit + 1 - len(out))
        if len(out) > limit:
            raise too_large(len(out), limit, after=" (decompressed, at least)")
        claim.take(len(out) - before)
        if decompressor.eof:
            pending = decompressor.unused_data
    if not decompressor.eof:
        raise PayloadError(f"truncated {encoding} body")
    return bytes(out)  # the copy is brief: one request decompresses at a time (see .app)

"""Request bodies under a size limit, and their ``Content-Encoding``.

A body over the limit is a 413, found from ``Content-Length`` before anything is read, or while
streaming a body sent without one. Either way the rest of the body is read and thrown away
(up to :func:`drain_limit`), so that a client still writing its request reads the 413 instead of
a reset connection: the SDK splits a batch the collector answers 413 to, it retries a reset. A
compressed body is limited after decompression too.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Mapping
from typing import Any, Callable

from honeyhive._collector.records import PayloadError

__all__ = ["decode_content", "drain", "drain_limit", "read_body", "too_large"]

Receive = Callable[[], Awaitable[Any]]


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


async def read_body(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes:
    """The whole body if it is at most ``limit`` bytes, else :class:`PayloadError` (413)."""
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise PayloadError(f"invalid Content-Length {declared!r}") from None
        if size > limit:
            await drain(receive, drain_limit(limit))
            raise too_large(size, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise PayloadError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            if message.get("more_body", False):
                await drain(receive, drain_limit(limit) - size)
            raise too_large(size, limit, after=" (at least)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def decode_content(encoding: str, body: bytes, limit: int) -> bytes:
    """The body with its ``Content-Encoding`` (gzip or deflate) undone, at most ``limit``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
    else:
        raise PayloadError(f"unsupported Content-Encoding {encoding!r}; use gzip", status=415)
    out = bytearray()
    rest = body
    try:
        while rest:
            decompressor = zlib.decompressobj(wbits)
            out += decompressor.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                raise too_large(len(out), limit, after=" (decompressed, at least)")
            if not decompressor.eof:
                raise PayloadError(f"truncated {encoding} body")
            rest = decompressor.unused_data  # gzip allows several members back to back
    except zlib.error as exc:
        raise PayloadError(f"cannot decode the {encoding} body: {exc}") from None
    return bytes(out)

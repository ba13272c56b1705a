"""The collector as a Starlette application: the HoneyHive API, OTLP/HTTP, the viewer's API and
the viewer itself.

Ingest (what the SDK sends):

* ``POST /session/start``, ``POST /events``, ``PUT /events``, ``POST /events/batch``: JSON, the
  HoneyHive API's shapes (a batch is stored whole, in one transaction);
* ``POST /opentelemetry/v1/traces`` and ``POST /v1/traces``: OTLP ``ExportTraceServiceRequest``
  as protobuf (``application/x-protobuf``) or JSON (``application/json``), optionally gzip.

Read (what the viewer and ``honeyhive traces`` use): ``GET /api/health``, ``/api/stats``,
``/api/sessions``, ``/api/sessions/{id}``, ``/api/traces/{id}`` (span summaries; ``?full=1`` for
attributes, events and links too), ``/api/spans/{trace id}/{span id}``, ``/api/search?q=``; and
``GET /`` for the viewer. Decoding and database work run in a worker thread, so the event loop
keeps answering while a big batch is stored.

Errors: malformed bodies are 400 with a message, bodies over the limit 413, unsupported media
types 415, a wrong or missing key 401 (see :mod:`.auth`), a ``Host`` that is not a loopback name
403 (see :mod:`.hosts`), a database failure 503 (the SDK retries it). Nothing of a refused
request is stored.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, Optional, Union

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from honeyhive._collector import payloads
from honeyhive._collector.auth import BearerAuth
from honeyhive._collector.bodies import decode_content, read_body
from honeyhive._collector.hosts import LoopbackHostOnly
from honeyhive._collector.otlp_json import decode_json
from honeyhive._collector.otlp_protobuf import decode_protobuf
from honeyhive._collector.records import PayloadError, SpanBatch
from honeyhive._collector.store import Store, StoreError
from honeyhive._version import __version__

__all__ = ["DEFAULT_MAX_BODY_BYTES", "STATIC_DIR", "TRACE_PATHS", "build_app"]

#: The largest request body accepted (after decompression), in bytes.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
TRACE_PATHS = ("/opentelemetry/v1/traces", "/v1/traces")
STATIC_DIR = Path(__file__).resolve().parent / "static"
_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_TYPE = "application/json"
_MAX_LIMIT = 1000
_GRPC_CODES = {400: 3, 401: 16, 413: 8, 415: 3, 503: 14}  # google.rpc.Code


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _rpc_status(code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` message in protobuf, as OTLP/HTTP answers errors."""
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path in TRACE_PATHS:  # OTLP: a google.rpc.Status, in the request's encoding
        code = _GRPC_CODES.get(status, 2)
        if _media_type(request) in _PROTOBUF_TYPES:
            return Response(_rpc_status(code, message), status, media_type="application/x-protobuf")
        return JSONResponse({"code": code, "message": message}, status)
    return JSONResponse({"error": message}, status)


def _limit(request: Request, default: int = 50) -> int:
    raw = request.query_params.get("limit", "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise PayloadError(f"limit must be an integer, got {raw!r}") from None
    return max(1, min(value, _MAX_LIMIT))


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "")
    try:
        return max(0, int(raw)) if raw else 0
    except ValueError:
        raise PayloadError(f"offset must be an integer, got {raw!r}") from None


def _full(request: Request) -> bool:
    return request.query_params.get("full", "") in ("1", "true", "yes")


def _json_text(text: str) -> Response:
    return Response(text, media_type=_JSON_TYPE)


Endpoint = Callable[[Request], Awaitable[Response]]


class _Collector:
    """The routes, bound to one store and one body limit."""

    def __init__(self, store: Store, max_body_bytes: int) -> None:
        self.store = store
        self.max_body_bytes = max_body_bytes

    async def _body(self, request: Request) -> bytes:
        body = await read_body(request.headers, request.receive, self.max_body_bytes)
        encoding = request.headers.get("content-encoding", "")
        if not encoding:
            return body
        return await run_in_threadpool(decode_content, encoding, body, self.max_body_bytes)

    async def _json(self, request: Request) -> dict[str, Any]:
        media = _media_type(request)
        if media != _JSON_TYPE:  # also when missing: a browser sends none on a simple request
            raise PayloadError(f"expected Content-Type application/json, got {media!r}", status=415)
        return payloads.json_object(await self._body(request))

    # -- ingest ------------------------------------------------------------------------------

    async def traces(self, request: Request) -> Response:
        media = _media_type(request)
        decode: Callable[[bytes], SpanBatch]
        if media in _PROTOBUF_TYPES:
            decode = decode_protobuf
        elif media == _JSON_TYPE:
            decode = decode_json
        else:
            raise PayloadError(
                f"unsupported Content-Type {media!r}; send OTLP as application/x-protobuf or "
                "application/json",
                status=415,
            )
        data = await self._body(request)

        def ingest() -> None:
            self.store.add_spans(decode(data))

        await run_in_threadpool(ingest)
        if decode is decode_protobuf:  # an empty ExportTraceServiceResponse
            return Response(b"", media_type="application/x-protobuf")
        return JSONResponse({})

    async def session_start(self, request: Request) -> Response:
        start = payloads.parse_session_start(await self._json(request))
        await run_in_threadpool(self.store.start_session, start)
        return JSONResponse({"session_id": start.session_id})

    async def events(self, request: Request) -> Response:
        doc = await self._json(request)
        if request.method == "PUT":
            update = payloads.parse_update(doc)
            await run_in_threadpool(self.store.add_update, update)
            return JSONResponse({"success": True})
        event = payloads.parse_event(doc, time.time_ns())
        await run_in_threadpool(self.store.add_event, event)
        return JSONResponse({"success": True, "event_id": event.event_id})

    async def events_batch(self, request: Request) -> Response:
        batch = payloads.parse_batch(await self._json(request), time.time_ns())
        await run_in_threadpool(self.store.add_batch, batch)
        answer: dict[str, Any] = {"success": True, "event_ids": batch.event_ids}
        if batch.session_id is not None:
            answer["session_id"] = batch.session_id
        return JSONResponse(answer)

    # -- read --------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        del request
        return JSONResponse(
            {
                "ok": True,
                "collector": "honeyhive",
                "version": __version__,
                "database": str(self.store.path.resolve()),
            }
        )

    async def stats(self, request: Request) -> Response:
        del request
        return JSONResponse(await run_in_threadpool(self.store.stats))

    async def sessions(self, request: Request) -> Response:
        limit, offset = _limit(request), _offset(request)
        rows = await run_in_threadpool(self.store.sessions, limit, offset)
        return JSONResponse({"sessions": rows, "limit": limit, "offset": offset})

    async def session(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        full = _full(request)
        text = await run_in_threadpool(lambda: self.store.session_json(session_id, full=full))
        if text is None:
            return JSONResponse({"error": f"no session {session_id!r}"}, 404)
        return _json_text(text)

    async def trace(self, request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        full = _full(request)
        text = await run_in_threadpool(lambda: self.store.trace_json(trace_id, full=full))
        if text is None:
            return JSONResponse({"error": f"no trace {trace_id!r}"}, 404)
        return _json_text(text)

    async def span(self, request: Request) -> Response:
        trace_id, span_id = request.path_params["trace_id"], request.path_params["span_id"]
        text = await run_in_threadpool(self.store.span_json, trace_id, span_id)
        if text is None:
            return JSONResponse({"error": f"no span {span_id!r} in trace {trace_id!r}"}, 404)
        return _json_text(text)

    async def search(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        found = await run_in_threadpool(self.store.search, query, _limit(request, 20))
        return JSONResponse(found)

    async def viewer(self, request: Request) -> Response:
        del request
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def _guard(endpoint: Endpoint) -> Endpoint:
    """Turn refusals and database failures into answers (nothing half stored: see Store)."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except PayloadError as exc:
            return _error(request, exc.status, exc.message)
        except (StoreError, sqlite3.Error) as exc:
            return _error(request, 503, f"the collector could not use its database: {exc}")

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


def build_app(
    db_path: Union[str, os.PathLike[str]],
    *,
    api_key: Optional[str] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """The collector app, with its database opened (errors surface here, not at startup)."""
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    store = Store(db_path)
    collector = _Collector(store, max_body_bytes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        try:
            yield
        finally:
            store.close()

    routes = [
        Route("/session/start", _guard(collector.session_start), methods=["POST"]),
        Route("/events", _guard(collector.events), methods=["POST", "PUT"]),
        Route("/events/batch", _guard(collector.events_batch), methods=["POST"]),
        *(Route(path, _guard(collector.traces), methods=["POST"]) for path in TRACE_PATHS),
        Route("/api/health", _guard(collector.health), methods=["GET"]),
        Route("/api/stats", _guard(collector.stats), methods=["GET"]),
        Route("/api/sessions", _guard(collector.sessions), methods=["GET"]),
        Route("/api/sessions/{session_id:path}", _guard(collector.session), methods=["GET"]),
        Route("/api/traces/{trace_id}", _guard(collector.trace), methods=["GET"]),
        Route("/api/spans/{trace_id}/{span_id}", _guard(collector.span), methods=["GET"]),
        Route("/api/search", _guard(collector.search), methods=["GET"]),
        Route("/", collector.viewer, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(LoopbackHostOnly, max_body_bytes=max_body_bytes)]
    if api_key:
        middleware.append(Middleware(BearerAuth, api_key=api_key, max_body_bytes=max_body_bytes))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.store = store
    app.state.max_body_bytes = max_body_bytes
    return app

"""The collector as a Starlette application: the HoneyHive API, OTLP/HTTP, the viewer's API and
the viewer itself.

Ingest (what the SDK sends):

* ``POST /session/start``, ``POST /events``, ``PUT /events``, ``POST /events/batch``: JSON, the
  HoneyHive API's shapes (a batch is stored whole, in one transaction);
* ``POST /opentelemetry/v1/traces`` and ``POST /v1/traces``: OTLP ``ExportTraceServiceRequest``
  as protobuf (``application/x-protobuf``) or JSON (``application/json``), optionally gzip.

Experiments (see :mod:`.runs_api`): ``/v1/runs``, ``/v1/datasets``, ``/v1/datapoints`` as the
HoneyHive API has them, and the viewer's ``/api/runs``.

Read (what the viewer and ``honeyhive traces`` use): ``GET /api/health``, ``/api/stats``,
``/api/sessions``, ``/api/sessions/{id}``, ``/api/traces/{id}`` (span summaries; ``?full=1`` for
attributes, events and links too), ``/api/spans/{trace id}/{span id}``, ``/api/search?q=``; and
``GET /`` for the viewer. Bodies are read under a budget shared by all requests, then
decompressed, parsed and stored by one worker thread (see :mod:`.ingest`), so the event loop
keeps answering while a big batch is stored; reads run in Starlette's thread pool.

Errors: malformed bodies are 400 with a message, bodies over the limit 413, unsupported media
types 415, a wrong or missing key 401 (see :mod:`.auth`), a ``Host`` that is not a loopback name
or a request from another site 403 (see :mod:`.hosts`), a database failure or a spent body
budget 503 with ``Retry-After`` (the SDK retries both). Nothing of a refused request is stored.
Every response carries the headers of :mod:`.security_headers`.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar, Union

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from honeyhive._collector import payloads
from honeyhive._collector.auth import BearerAuth
from honeyhive._collector.budget import BodyBudget
from honeyhive._collector.datasets import Datasets
from honeyhive._collector.hosts import LoopbackHostOnly
from honeyhive._collector.ingest import Ingest
from honeyhive._collector.otlp_json import decode_json
from honeyhive._collector.otlp_protobuf import decode_protobuf
from honeyhive._collector.prices import PriceTable
from honeyhive._collector.records import PayloadError, SpanBatch
from honeyhive._collector.runs import Experiments
from honeyhive._collector.runs_api import experiment_routes
from honeyhive._collector.search import SpanFilter
from honeyhive._collector.security_headers import SecurityHeaders
from honeyhive._collector.store import Store, StoreError
from honeyhive._version import __version__

__all__ = [
    "DEFAULT_BODY_BUDGET_BYTES",
    "DEFAULT_MAX_BODY_BYTES",
    "LOCAL_ORG_ID",
    "LOCAL_PROJECT_ID",
    "LOCAL_WORKSPACE_ID",
    "STATIC_DIR",
    "TRACE_PATHS",
    "build_app",
]

#: The largest request body accepted (after decompression), in bytes.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
#: Request bodies held at once across all requests (received and decompressed), in bytes.
DEFAULT_BODY_BUDGET_BYTES = 128 * 1024 * 1024
TRACE_PATHS = ("/opentelemetry/v1/traces", "/v1/traces")
#: The organisation, workspace and project a local collector answers a session start with:
#: there is one of each here (the HoneyHive API answers with the key's own).
LOCAL_ORG_ID = "local"
LOCAL_WORKSPACE_ID = "local"
LOCAL_PROJECT_ID = "local"
STATIC_DIR = Path(__file__).resolve().parent / "static"
_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_TYPE = "application/json"
_MAX_LIMIT = 1000
_MAX_OFFSET = 2**63 - 1
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


def _error(
    request: Request, status: int, message: str, headers: Optional[dict[str, str]] = None
) -> Response:
    if request.url.path in TRACE_PATHS:  # OTLP: a google.rpc.Status, in the request's encoding
        code = _GRPC_CODES.get(status, 2)
        if _media_type(request) in _PROTOBUF_TYPES:
            return Response(
                _rpc_status(code, message),
                status,
                headers=headers,
                media_type="application/x-protobuf",
            )
        return JSONResponse({"code": code, "message": message}, status, headers=headers)
    return JSONResponse({"error": message}, status, headers=headers)


def _limit(request: Request, default: int = 50) -> int:
    raw = request.query_params.get("limit", "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise PayloadError(f"limit must be an integer, got {raw!r:.60}") from None
    return max(1, min(value, _MAX_LIMIT))


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "")
    try:
        value = max(0, int(raw)) if raw else 0
    except ValueError:
        raise PayloadError(f"offset must be an integer, got {raw!r:.60}") from None
    if value > _MAX_OFFSET:  # SQLite's integers are 64-bit
        raise PayloadError(f"offset must be at most {_MAX_OFFSET}, got {raw:.60}")
    return value


def _span_filter(request: Request) -> SpanFilter:
    params = request.query_params
    raw = params.get("min_ms", "").strip()
    try:
        min_ms = float(raw) if raw else None
    except ValueError:
        raise PayloadError(f"min_ms must be a number of milliseconds, got {raw!r:.60}") from None
    if min_ms is not None and not 0 <= min_ms <= 1e12:
        raise PayloadError(f"min_ms must be from 0 to 1e12 milliseconds, got {raw:.60}")
    return SpanFilter(
        errors_only=params.get("errors", "") in ("1", "true", "yes"),
        event_type=params.get("type") or None,
        model=params.get("model") or None,
        min_duration_ms=min_ms,
    )


def _full(request: Request) -> bool:
    return request.query_params.get("full", "") in ("1", "true", "yes")


def _json_text(text: str) -> Response:
    return Response(text, media_type=_JSON_TYPE)


Endpoint = Callable[[Request], Awaitable[Response]]
P = TypeVar("P")
T = TypeVar("T")


class _Collector:
    """The routes, bound to one store and one write path."""

    def __init__(self, store: Store, ingest: Ingest) -> None:
        self.store = store
        self.ingest = ingest
        self.boot = uuid.uuid4().hex[:8]
        self.writes = 0  # stored requests since start (written by the ingest worker only)

    def _stored(self, result: T) -> T:
        self.writes += 1
        return result

    async def _json(
        self, request: Request, parse: Callable[[bytes], P], store: Callable[[P], T]
    ) -> T:
        """``parse`` the JSON body and ``store`` the result (in the ingest worker, not here)."""
        media = _media_type(request)
        if media != _JSON_TYPE:  # also when missing: a browser sends none on a simple request
            raise PayloadError(f"expected Content-Type application/json, got {media!r}", status=415)
        return await self.ingest.run(
            request.headers, request.receive, parse, lambda parsed: self._stored(store(parsed))
        )

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
        await self.ingest.run(
            request.headers,
            request.receive,
            decode,
            lambda batch: self._stored(self.store.add_spans(batch)),
        )
        if decode is decode_protobuf:  # an empty ExportTraceServiceResponse
            return Response(b"", media_type="application/x-protobuf")
        return JSONResponse({})

    async def session_start(self, request: Request) -> Response:
        def store(parsed: tuple[payloads.SessionStart, Optional[payloads.EventUpdate]]) -> str:
            start, extra = parsed
            self.store.start_session(start)
            if extra is not None:
                self.store.add_update(extra)
            return start.session_id

        session_id = await self._json(request, payloads.session_start_body, store)
        # The HoneyHive API's answer in full: the published 1.x client requires every one of
        # these ids and, missing one, files its spans under a random session it never started.
        return JSONResponse(
            {
                "session_id": session_id,
                "event_id": session_id,  # a session is its root event
                "org_id": LOCAL_ORG_ID,
                "workspace_id": LOCAL_WORKSPACE_ID,
                "project_id": LOCAL_PROJECT_ID,
            }
        )

    async def events(self, request: Request) -> Response:
        if request.method == "PUT":
            await self._json(request, payloads.update_body, self.store.add_update)
            return JSONResponse({"success": True})

        def store(event: payloads.EventRecord) -> str:
            self.store.add_event(event)
            return event.event_id

        parse = functools.partial(payloads.event_body, time.time_ns())
        event_id = await self._json(request, parse, store)
        return JSONResponse({"success": True, "event_id": event_id})

    async def events_batch(self, request: Request) -> Response:
        def store(batch: payloads.EventBatch) -> payloads.EventBatch:
            self.store.add_batch(batch)
            return batch

        parse = functools.partial(payloads.batch_body, time.time_ns())
        batch = await self._json(request, parse, store)
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
                # Requests refused with 503 because the body budget was spent (clients retry).
                "refused_busy": self.ingest.budget.refused,
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
        filters, limit = _span_filter(request), _limit(request, 50)
        found = await run_in_threadpool(self.store.search, query, limit, filters)
        return JSONResponse(found)

    async def changes(self, request: Request) -> Response:
        """What the viewer polls to refresh while data arrives: no database work at all."""
        del request
        return JSONResponse({"version": f"{self.boot}-{self.writes}"})

    async def prices(self, request: Request) -> Response:
        """The price table in force: USD per million tokens, input and output."""
        del request
        return JSONResponse(self.store.prices.as_dict())

    async def viewer(self, request: Request) -> Response:
        del request
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def _guard(endpoint: Endpoint) -> Endpoint:
    """Turn refusals and database failures into answers (nothing half stored: see Store)."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except PayloadError as exc:
            return _error(request, exc.status, exc.message, exc.headers)
        except (StoreError, sqlite3.Error) as exc:
            return _error(request, 503, f"the collector could not use its database: {exc}")

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


def build_app(
    db_path: Union[str, os.PathLike[str]],
    *,
    api_key: Optional[str] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_budget_bytes: int = DEFAULT_BODY_BUDGET_BYTES,
    prices: Optional[Mapping[str, tuple[float, float]]] = None,
) -> Starlette:
    """The collector app, with its database opened (errors surface here, not at startup)."""
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
        raise ValueError(f"max_body_bytes must be an integer, got {max_body_bytes!r}")
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be a positive number of bytes, got {max_body_bytes}")
    if isinstance(body_budget_bytes, bool) or not isinstance(body_budget_bytes, int):
        raise ValueError(f"body_budget_bytes must be an integer, got {body_budget_bytes!r}")
    budget = BodyBudget(body_budget_bytes)
    store = Store(db_path, prices=PriceTable(prices))
    ingest = Ingest(max_body_bytes, budget)
    collector = _Collector(store, ingest)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        try:
            yield
        finally:
            ingest.close()
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
        Route("/api/changes", _guard(collector.changes), methods=["GET"]),
        Route("/api/prices", _guard(collector.prices), methods=["GET"]),
        *experiment_routes(Experiments(store), Datasets(store), collector._json, _guard),
        Route("/", collector.viewer, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(LoopbackHostOnly, max_body_bytes=max_body_bytes),
    ]
    if api_key:
        middleware.append(Middleware(BearerAuth, api_key=api_key, max_body_bytes=max_body_bytes))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.store = store
    app.state.max_body_bytes = max_body_bytes
    app.state.budget = budget
    return app

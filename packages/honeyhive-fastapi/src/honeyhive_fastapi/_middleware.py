"""The pure ASGI middleware: one SERVER span per HTTP request and per WebSocket connection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Callable, Optional

from opentelemetry import context as context_api
from opentelemetry.baggage import _BAGGAGE_KEY
from opentelemetry.context import Context
from opentelemetry.trace import Span

from honeyhive import HoneyHiveTracer
from honeyhive.http_server import (
    RequestInfo,
    RequestScope,
    ServerConfig,
    exit_budget,
    flush_at_shutdown,
    internal_error,
    logger,
)
from honeyhive_fastapi import _background
from honeyhive_fastapi._errors import PENDING_KEY, is_closing_stack, wrap_error_handler
from honeyhive_fastapi._native import app_being_built, quiet_native_server_span
from honeyhive_fastapi._request import request_info
from honeyhive_fastapi._routes import TELEMETRY_KEY, new_route_recorder, route_of
from honeyhive_fastapi._tracing import TracerSource, service_of

__all__ = ["HoneyHiveMiddleware"]

ASGIApp = Callable[..., Any]
_MARKER = "honeyhive.traced"  # on the scope: an outer HoneyHive middleware owns this request
_STARLETTE_OTEL = "starlette.opentelemetry"


class _Request:
    """Per-request state (lives in the request's own frame and scope, never on the middleware)."""

    __slots__ = ("closable", "response", "scope", "scope_dict", "telemetry", "token")

    def __init__(self, rs: RequestScope, scope: Any, token: object) -> None:
        self.scope = rs
        self.scope_dict = scope
        self.token: Optional[object] = token
        self.telemetry: Any = None
        self.response: Any = None
        self.closable = False

    def finish(self, *, incomplete: bool = False) -> None:
        rs = self.scope
        if rs.finished:
            return
        try:
            rs.set_route(route_of(self.scope_dict, self._telemetry()))
        except Exception as exc:
            internal_error("fastapi: reading the route", exc)
        rs.finish(self.response, incomplete=incomplete)

    def _telemetry(self) -> Any:
        telemetry = self.scope_dict.get(TELEMETRY_KEY)
        return telemetry if telemetry is not None else self.telemetry

    def detach(self) -> None:
        token, self.token = self.token, None
        if token is not None:
            try:
                context_api.detach(token)  # type: ignore[arg-type]
            except Exception as exc:  # detached across contexts by someone else: nothing to undo
                logger.debug("request context detach failed: %r", exc)

    def close_after_handler(self) -> None:
        """The app's exception handler returned: end the span, restore the context."""
        try:
            self.finish()
        finally:
            self.detach()


class HoneyHiveMiddleware:
    """Trace every HTTP request and WebSocket connection of an ASGI app.

    ``app.add_middleware(HoneyHiveMiddleware)`` (FastAPI, Starlette), or
    ``HoneyHiveMiddleware(app)`` around any ASGI app. Each request gets one SERVER span named
    ``{METHOD} {route}`` from the route the router chose (``WS {route}`` for WebSockets),
    ending when the response's last byte is sent; each request is its own HoneyHive session
    by default.

    :param tracer: the ``HoneyHiveTracer`` to use; default: ``honeyhive.get_default_tracer()``
        at request time, else one built from the environment (``HH_*``) on first use.
    :param capture_request_headers: header names or full-match patterns to record
        (case-insensitive; off by default; secret headers always redacted).
    :param capture_response_headers: the same for response headers.
    :param excluded_urls: anchored path patterns not to trace (``/health`` does not exclude
        ``/healthcare``).
    :param exclude: a predicate on :class:`honeyhive.http_server.RequestInfo`; True: not traced.
    :param trust_incoming_context: honour incoming ``traceparent``/``baggage`` (default True).
    :param allowed_baggage_keys: protected baggage keys (``session_id``, ...) callers may set.
    :param session_per_request: each request is its own HoneyHive session (default True).
    :param session_id_for: given a ``starlette.requests.Request``, the session id to use.
    :param request_hook: ``hook(span, request)`` when the request starts.
    :param response_hook: ``hook(span, request, response)`` when it ends; ``response`` is the
        ``http.response.start`` message (None if no response was sent).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: Optional[HoneyHiveTracer] = None,
        capture_request_headers: Optional[Iterable[str]] = None,
        capture_response_headers: Optional[Iterable[str]] = None,
        excluded_urls: Optional[Iterable[str]] = None,
        exclude: Optional[Callable[[RequestInfo], bool]] = None,
        trust_incoming_context: Optional[bool] = None,
        allowed_baggage_keys: Optional[Iterable[str]] = None,
        session_per_request: bool = True,
        session_id_for: Optional[Callable[[Any], Optional[str]]] = None,
        request_hook: Optional[Callable[[Span, Any], None]] = None,
        response_hook: Optional[Callable[[Span, Any, Any], None]] = None,
    ) -> None:
        self.app = app
        config = ServerConfig.from_settings(
            capture_request_headers=capture_request_headers,
            capture_response_headers=capture_response_headers,
            excluded_urls=excluded_urls,
            exclude=exclude,
            trust_incoming_context=trust_incoming_context,
            allowed_baggage_keys=allowed_baggage_keys,
            session_per_request=session_per_request,
            session_id_for=session_id_for,
            request_hook=request_hook,
            response_hook=response_hook,
        )
        self._tracers = TracerSource(tracer, config)
        self._wants_request = (
            session_id_for is not None or request_hook is not None or response_hook is not None
        )
        # Per app, decided once: does an exception escaping us reach a wrapped error handler?
        self._handler_wrapped: Optional[bool] = None
        _background.install()
        quiet_native_server_span(app_being_built())  # add_middleware on a FastAPI app

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http" or kind == "websocket":
            if _MARKER in scope:  # a mounted sub-app's middleware: the outer one owns it
                await self.app(scope, receive, send)
                return
            await self._traced(scope, receive, send, kind)
        elif kind == "lifespan":
            if self._handler_wrapped is None:  # before the first request, when there is one
                self._handler_wrapped = wrap_error_handler(scope.get("app"), self)
            await self.app(scope, receive, self._lifespan_send(send))
        else:
            await self.app(scope, receive, send)

    def _start(self, scope: Any, kind: str) -> Optional[_Request]:
        tracers = self._tracers
        if tracers.service is None:
            tracers.service = service_of(scope.get("app")) or ""
        rt = tracers.get()
        if rt is None:
            return None
        info = request_info(scope, kind)
        request = None
        if self._wants_request:
            from starlette.requests import HTTPConnection, Request

            request = Request(scope) if kind == "http" else HTTPConnection(scope)
        rs = rt.start(info, request)
        if rs is None:
            return None
        rs.detach()  # re-attached here, so that only this frame (this task) detaches it
        outer = context_api.get_current()
        # Keep what outer layers put in the context (FastAPI's telemetry, Sentry's scope).
        # Never their baggage: the trust rules already decided which incoming baggage counts.
        ctx = rs.context
        if outer:
            merged = {k: v for k, v in outer.items() if k != _BAGGAGE_KEY}
            merged.update(rs.context)
            ctx = Context(merged)
        state = _Request(rs, scope, context_api.attach(ctx))
        if TELEMETRY_KEY not in scope:
            recorder = new_route_recorder(scope, info.method)
            if recorder is not None:
                scope[TELEMETRY_KEY] = recorder
                state.telemetry = recorder
        # The request may stay open for the app's exception handler only if it entered the
        # app through the stack that closes it afterwards (not the case on the very first
        # request when no lifespan came before it).
        state.closable = is_closing_stack(getattr(scope.get("app"), "middleware_stack", None))
        if self._handler_wrapped is None:
            self._handler_wrapped = wrap_error_handler(scope.get("app"), self)
        return state

    async def _traced(self, scope: Any, receive: Any, send: Any, kind: str) -> None:
        scope[_MARKER] = True
        own_otel_marker = _STARLETTE_OTEL not in scope
        if own_otel_marker:
            scope[_STARLETTE_OTEL] = True  # Starlette's own OTel middleware stands down
        try:
            state = self._start(scope, kind)
        except Exception as exc:
            internal_error("fastapi: starting the request span", exc)
            state = None
        if state is None:
            try:
                await self.app(scope, receive, send)
            finally:
                _unmark(scope, own_otel_marker)
            return
        pending = False
        try:
            await self.app(
                scope,
                receive,
                self._http_send(send, state) if kind == "http" else self._ws_send(send, state),
            )
        except BaseException as exc:
            pending = self._on_exception(scope, state, exc, kind)
            raise
        finally:
            _unmark(scope, own_otel_marker)
            if not pending:
                try:
                    state.finish(incomplete=kind == "http")  # no-op when already finished
                except Exception as exc:
                    internal_error("fastapi: ending the request span", exc)
                state.detach()
            if state.telemetry is not None and scope.get(TELEMETRY_KEY) is state.telemetry:
                del scope[TELEMETRY_KEY]

    def _on_exception(self, scope: Any, state: _Request, exc: BaseException, kind: str) -> bool:
        """Record an exception leaving us; True if the span stays open for the error handler."""
        try:
            rs = state.scope
            if kind == "websocket":
                code = getattr(exc, "code", None)
                if type(exc).__name__ == "WebSocketDisconnect" and code in (1000, 1001):
                    return False
            if rs.finished:
                return False
            rs.record_exception(exc)
            if state.response is None and kind == "http":
                rs.set_status(500)
                if self._handler_wrapped and state.closable and isinstance(exc, Exception):
                    scope[PENDING_KEY] = state
                    return True
        except Exception as error:
            internal_error("fastapi: recording an exception", error)
        return False

    def _http_send(self, send: Any, state: _Request) -> Any:
        async def honeyhive_send(message: Any) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state.response = message
                try:
                    rs = state.scope
                    rs.set_status(message["status"])
                    headers = message.get("headers")
                    if headers:
                        rs.set_response_headers(
                            (k.decode("latin-1"), v.decode("latin-1")) for k, v in headers
                        )
                except Exception as exc:
                    internal_error("fastapi: reading the response start", exc)
            await send(message)
            if (kind == "http.response.body" and not message.get("more_body", False)) or (
                kind == "http.response.pathsend"
            ):
                try:
                    state.finish()
                except Exception as exc:
                    internal_error("fastapi: ending the request span", exc)

        return honeyhive_send

    def _ws_send(self, send: Any, state: _Request) -> Any:
        async def honeyhive_ws_send(message: Any) -> None:
            kind = message["type"]
            if kind == "websocket.http.response.start":  # the handshake was denied
                state.response = message
                state.scope.set_status(message["status"])
            elif kind == "websocket.accept":
                state.response = message
            await send(message)

        return honeyhive_ws_send

    def _lifespan_send(self, send: Any) -> Any:
        async def honeyhive_lifespan_send(message: Any) -> None:
            if message.get("type") == "lifespan.shutdown.complete":
                await self._flush()
            await send(message)

        return honeyhive_lifespan_send

    async def _flush(self) -> None:
        """Flush the tracer in use, off the event loop, within the tracer's exit budget."""
        tracer = self._tracers.explicit or self._tracers.in_use()
        if tracer is None or tracer.closed:
            return
        try:
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(
                loop.run_in_executor(None, flush_at_shutdown, tracer), exit_budget(tracer) + 1
            )
        except Exception as exc:
            logger.warning("flushing at shutdown failed: %r", exc)


def _unmark(scope: Any, own_otel_marker: bool) -> None:
    scope.pop(_MARKER, None)
    if own_otel_marker:
        scope.pop(_STARLETTE_OTEL, None)

"""Per-request tracing for the demo's services, with the core API only.

STAND-IN: honeyhive-flask, honeyhive-fastapi and honeyhive-django will do this (and more: route
names, semantic-convention attributes, header capture with redaction, trust rules for incoming
context). When they ship, each app replaces its one line that wraps itself with these classes.

What a request gets here: ``tracer.link(headers)`` joins the caller's trace and session (W3C
``traceparent`` and ``baggage``, written by ``tracer.inject`` on the calling side), one span
``METHOD /path`` covers the request, including a streamed body, and ``tracer.unlink`` restores
the worker's context afterwards, so nothing leaks into the next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable

from opentelemetry.trace import Status, StatusCode

from honeyhive import HoneyHiveTracer

__all__ = ["TraceAsgiRequests", "TraceWsgiRequests"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _finish(span: Any, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))


class TraceWsgiRequests:
    """WSGI middleware (Flask's ``app.wsgi_app``, Django's ``application``)."""

    def __init__(self, app: WsgiApp, tracer: HoneyHiveTracer) -> None:
        self.app = app
        self.tracer = tracer

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        token = self.tracer.link(headers)
        try:
            with self.tracer.trace(f"{method} {path}", event_type="chain") as span:
                span.set_attribute("http.request.method", method)
                span.set_attribute("url.path", path)
                statuses: list[int] = []

                def recording_start_response(status: str, *args: Any) -> Any:
                    statuses.append(int(status.split(" ", 1)[0]))
                    return start_response(status, *args)

                # Read the whole body inside the span (the demo's WSGI responses are small).
                body = list(self.app(environ, recording_start_response))
                _finish(span, statuses[-1] if statuses else 500)
                return body
        finally:
            self.tracer.unlink(token)


class TraceAsgiRequests:
    """ASGI middleware (FastAPI, Starlette): the span lasts until the last body chunk is sent."""

    def __init__(self, app: AsgiApp, tracer: HoneyHiveTracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        token = self.tracer.link(headers)
        try:
            with self.tracer.trace(f"{method} {path}", event_type="chain") as span:
                span.set_attribute("http.request.method", method)
                span.set_attribute("url.path", path)
                status = 500

                async def recording_send(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                await self.app(scope, receive, recording_send)
                _finish(span, status)
        finally:
            self.tracer.unlink(token)

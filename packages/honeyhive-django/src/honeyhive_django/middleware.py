"""``HoneyHiveMiddleware``: one SERVER span per Django request, under WSGI and ASGI alike."""

from __future__ import annotations

from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest

from honeyhive.http_server import RequestScope, internal_error
from honeyhive_django import _state
from honeyhive_django._request import request_info, route_of, user_id_of
from honeyhive_django._streaming import follow_stream

__all__ = ["HoneyHiveMiddleware"]

_SCOPE = "_honeyhive_scope"
_EXCEPTION = "_honeyhive_exception"
_SEEN = object()  # marks a request another instance already handles (listed twice)


def _start(request: HttpRequest) -> Optional[RequestScope]:
    cached = request.__dict__
    if _SCOPE in cached:
        return None  # exactly one span per request, whatever else wraps the handler
    cached[_SCOPE] = _SEEN
    try:
        tracer = _state.request_tracer()
        if tracer is None:
            return None
        scope = tracer.start(request_info(request), request)
    except Exception as exc:
        internal_error("starting a Django request span", exc)
        return None
    if scope is not None:
        cached[_SCOPE] = scope
    return scope


def _respond(scope: RequestScope, request: HttpRequest, response: Any) -> Any:
    try:
        scope.set_route(route_of(request))
        status = response.status_code
        scope.set_status(status)
        exception = request.__dict__.get(_EXCEPTION)
        if exception is not None and status >= 500:
            scope.record_exception(exception)
        settings = _state.state.settings
        if settings is not None and settings.capture_user:
            user = user_id_of(request)
            if user is not None:
                scope.span.set_attribute("enduser.id", user)
        scope.set_response_headers(response.items())
        if response.streaming and follow_stream(scope, response):
            scope.detach()  # the body is produced later, with the context attached per chunk
            return response
    except Exception as exc:
        internal_error("recording a Django response", exc)
    scope.finish(response)
    return response


def _fail(scope: RequestScope, exc: BaseException) -> None:
    """An exception escaped the whole handler chain (rare: Django converts them to 500)."""
    scope.set_status(500)
    scope.record_exception(exc)
    scope.finish()


class HoneyHiveMiddleware:
    """Traces each request as one SERVER span; put it first in ``MIDDLEWARE``.

    Sync- and async-capable: under ASGI it runs on the event loop with no thread hop, under
    WSGI it never touches an event loop. Settings come from ``settings.HONEYHIVE``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self.__acall__(request)
        scope = _start(request)
        if scope is None:
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except BaseException as exc:
            _fail(scope, exc)
            raise
        return _respond(scope, request, response)

    async def __acall__(self, request: HttpRequest) -> Any:
        scope = _start(request)
        if scope is None:
            return await self.get_response(request)
        try:
            response = await self.get_response(request)
        except BaseException as exc:
            _fail(scope, exc)
            raise
        return _respond(scope, request, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Remember a view's exception; it is recorded once if the response is a 5xx."""
        request.__dict__.setdefault(_EXCEPTION, exception)

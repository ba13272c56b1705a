"""The ``HoneyHive`` Flask extension."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, Optional

from flask import Flask, Response, current_app, got_request_exception, request
from werkzeug.exceptions import HTTPException

from honeyhive import HoneyHiveTracer
from honeyhive.http_server import RequestInfo, ServerConfig, internal_error, logger
from honeyhive_flask._middleware import (
    HANDLED_KEY,
    RESPONSE_KEY,
    SCOPE_KEY,
    HoneyHiveMiddleware,
    note_route,
)
from honeyhive_flask._settings import split_config
from honeyhive_flask._tracing import AppTracing

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["HoneyHive"]

_EXTENSION_KEY = "honeyhive"


class HoneyHive:
    """Traces a Flask app: one SERVER span per request, from WSGI entry to the end of the body.

    ``HoneyHive(app)``, or ``hh = HoneyHive(); hh.init_app(app)`` in an application factory
    (one extension may serve several apps, each with its own ``app.config``). Settings, highest
    first: these arguments, then ``app.config`` (``HONEYHIVE_`` plus the upper-cased option or
    ``HoneyHiveTracer.init`` parameter name, e.g. ``HONEYHIVE_API_KEY``,
    ``HONEYHIVE_CAPTURE_REQUEST_HEADERS``), then the environment.

    Without ``tracer`` and without tracer settings in ``app.config``, requests use
    ``honeyhive.get_default_tracer()`` at request time, else a tracer built once from the
    ``HH_*`` environment variables.

    The options are those of the shared server logic (see ``honeyhive.http_server.ServerConfig``):

    * ``capture_request_headers`` / ``capture_response_headers``: header names or full-match
      patterns to record (off by default; secret headers stay redacted).
    * ``excluded_urls``: anchored path patterns not traced; ``exclude``: a predicate on
      :class:`honeyhive.http_server.RequestInfo`.
    * ``trust_incoming_context``: honour incoming ``traceparent``/``baggage`` (default True).
    * ``allowed_baggage_keys``: protected baggage keys (e.g. ``session_id``) a caller may set.
    * ``session_per_request``: each request is its own HoneyHive session (default True).
    * ``session_id_for(request)``: the session to use for a request, or None.
    * ``request_hook(span, request)`` / ``response_hook(span, request, response)``: run inside
      the request; their errors never reach it. ``request`` is a shallow werkzeug request
      (headers, args, cookies; the body is never read), ``response`` the Flask response (None
      when the request ended in an unhandled exception).
    """

    def __init__(
        self,
        app: Optional[Flask] = None,
        *,
        tracer: Optional[HoneyHiveTracer] = None,
        capture_request_headers: Optional[Iterable[str]] = None,
        capture_response_headers: Optional[Iterable[str]] = None,
        excluded_urls: Optional[Iterable[str]] = None,
        exclude: Optional[Callable[[RequestInfo], bool]] = None,
        trust_incoming_context: Optional[bool] = None,
        allowed_baggage_keys: Optional[Iterable[str]] = None,
        session_per_request: Optional[bool] = None,
        session_id_for: Optional[Callable[[Any], Optional[str]]] = None,
        request_hook: Optional[Callable[[Span, Any], None]] = None,
        response_hook: Optional[Callable[[Span, Any, Any], None]] = None,
    ) -> None:
        self._tracer = tracer
        given = {
            "capture_request_headers": capture_request_headers,
            "capture_response_headers": capture_response_headers,
            "excluded_urls": excluded_urls,
            "exclude": exclude,
            "trust_incoming_context": trust_incoming_context,
            "allowed_baggage_keys": allowed_baggage_keys,
            "session_per_request": session_per_request,
            "session_id_for": session_id_for,
            "request_hook": request_hook,
            "response_hook": response_hook,
        }
        self._options = {k: v for k, v in given.items() if v is not None}
        self._apps: weakref.WeakKeyDictionary[Flask, AppTracing] = weakref.WeakKeyDictionary()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Trace ``app`` (idempotent: a second call for the same app changes nothing)."""
        existing = app.extensions.get(_EXTENSION_KEY)
        if existing is not None:
            if existing is not self:
                logger.warning("honeyhive-flask: %r is already traced; ignoring", app.name)
            return
        tracer_settings, config_options = split_config(app.config)
        options = {**config_options, **self._options}
        tracer = self._tracer
        if tracer is None and tracer_settings:
            tracer = HoneyHiveTracer.init(**tracer_settings)
        config = ServerConfig.from_settings(
            session_per_request=options.pop("session_per_request", True), **options
        )
        tracing = AppTracing(tracer, config, f"flask:{app.name}", service=app.name)
        app.wsgi_app = HoneyHiveMiddleware(app.wsgi_app, tracing)  # type: ignore[method-assign]
        got_request_exception.connect(_on_unhandled_exception, app, weak=False)
        _remember_handled_exceptions(app)
        if config.response_hook is not None:
            app.after_request(_keep_response)
        app.extensions[_EXTENSION_KEY] = self
        self._apps[app] = tracing

    def get_tracer(self, app: Optional[Flask] = None) -> Optional[HoneyHiveTracer]:
        """The tracer ``app``'s requests use (default: the current app); None if untraced."""
        target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
        tracing = self._apps.get(target)
        return None if tracing is None else tracing.current_tracer()

    def flush(self, timeout: Optional[float] = None, app: Optional[Flask] = None) -> bool:
        """Deliver what ``app``'s tracer has queued (serverless: call at the end of a request)."""
        tracer = self.get_tracer(app)
        return True if tracer is None else tracer.flush(timeout)


def _on_unhandled_exception(sender: Flask, exception: BaseException, **extra: Any) -> None:
    """An exception no error handler took: recorded once on the request span."""
    try:
        environ = request.environ
        scope = environ.get(SCOPE_KEY)
        if scope is not None:
            note_route(scope, environ)  # the response may never be started (propagated)
            scope.record_exception(exception)
    except Exception as exc:
        internal_error("recording a Flask exception", exc)


def _remember_handled_exceptions(app: Flask) -> None:
    """An exception a user's error handler answered is recorded if that answer is a 5xx."""
    original = app.handle_user_exception

    def handle_user_exception(e: Exception) -> Any:
        if not isinstance(e, HTTPException):
            try:
                request.environ[HANDLED_KEY] = e
            except Exception as exc:
                internal_error("noting a handled Flask exception", exc)
        return original(e)

    app.handle_user_exception = handle_user_exception  # type: ignore[method-assign]


def _keep_response(response: Response) -> Response:
    request.environ[RESPONSE_KEY] = response
    return response

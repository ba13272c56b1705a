"""The WSGI middleware: one SERVER span from WSGI entry until the response iterable is closed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional

from flask.globals import _cv_request

from honeyhive.http_server import RequestScope, internal_error
from honeyhive_flask._tracing import AppTracing

__all__ = ["HANDLED_KEY", "RESPONSE_KEY", "SCOPE_KEY", "HoneyHiveMiddleware", "note_route"]

#: The request's scope in the environ (None: seen, not traced). Guards against a second span.
SCOPE_KEY = "honeyhive.request_scope"
#: An exception a Flask error handler turned into a response (recorded if that response is 5xx).
HANDLED_KEY = "honeyhive.handled_exception"
#: The Flask response object, kept for ``response_hook``.
RESPONSE_KEY = "honeyhive.response"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def note_route(scope: RequestScope, environ: dict[str, Any]) -> None:
    """Tell the scope the rule Flask matched (after dispatch, O(1)); call while the request
    context is pushed (Flask forgets ``environ["werkzeug.request"]`` when it pops it)."""
    ctx = _cv_request.get(None)  # a thread's copy_current_request_context may have cleared
    request: Any
    if ctx is not None and ctx.request.environ is environ:  # the environ's werkzeug.request
        request = ctx.request
    else:
        request = environ.get("werkzeug.request")
    rule = getattr(request, "url_rule", None)
    if rule is not None:
        scope.set_route(environ.get("SCRIPT_NAME", "") + rule.rule)


def _finish(scope: RequestScope, environ: dict[str, Any], incomplete: bool = False) -> None:
    try:
        scope.finish(environ.get(RESPONSE_KEY), incomplete=incomplete)
    except Exception as exc:
        internal_error("finishing the Flask request span", exc)


class HoneyHiveMiddleware:
    """Wraps ``app.wsgi_app``. Exactly one span per request, even when wrapped twice."""

    __slots__ = ("tracing", "wsgi_app")

    def __init__(self, wsgi_app: WSGIApp, tracing: AppTracing) -> None:
        self.wsgi_app = wsgi_app
        self.tracing = tracing

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if SCOPE_KEY in environ:  # an outer HoneyHive middleware owns this request
            return self.wsgi_app(environ, start_response)
        scope: Optional[RequestScope]
        try:
            scope = self.tracing.start(environ)
        except Exception as exc:
            internal_error("starting the Flask request span", exc)
            scope = None
        environ[SCOPE_KEY] = scope
        if scope is None:
            return self.wsgi_app(environ, start_response)
        capture_headers = self.tracing.capture_response_headers

        def traced_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            try:
                note_route(scope, environ)
                code = int(status[:3])
                scope.set_status(code)
                if capture_headers:
                    scope.set_response_headers(headers)
                if code >= 500:
                    handled = environ.get(HANDLED_KEY)
                    if handled is not None:
                        scope.record_exception(handled)
            except Exception as exc:
                internal_error("reading the Flask response status", exc)
            return start_response(status, headers, exc_info)

        try:
            result = self.wsgi_app(environ, traced_start_response)
        except BaseException as exc:  # propagate_exceptions mode: escapes to the server
            scope.record_exception(exc)
            scope.set_status(500)
            _finish(scope, environ)
            raise
        scope.detach()  # re-attached around each step of the body, on whichever thread runs it
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
            return _traced_file(result, scope, environ)  # type: ignore[no-any-return]  # keep the server's sendfile path
        return TracedBody(result, scope, environ)


class TracedBody:
    """The response iterable with the request context current while it runs.

    The span ends when the body is exhausted, or on ``close()`` before that (ERROR: the client
    went away or the server gave up), exactly once.
    """

    __slots__ = ("_closed", "_done", "_environ", "_iterable", "_iterator", "_scope")

    def __init__(
        self, iterable: Iterable[bytes], scope: RequestScope, environ: dict[str, Any]
    ) -> None:
        self._iterable = iterable
        self._iterator: Optional[Iterator[bytes]] = None
        self._scope = scope
        self._environ = environ
        self._done = False
        self._closed = False

    def __iter__(self) -> TracedBody:
        return self

    def __next__(self) -> bytes:
        scope = self._scope
        scope.attach()
        try:
            iterator = self._iterator
            if iterator is None:
                iterator = self._iterator = iter(self._iterable)
            return next(iterator)
        except StopIteration:
            if not self._done:  # the whole body was produced: the response is complete
                self._done = True
                _finish(scope, self._environ)
            raise
        except BaseException as exc:
            scope.record_exception(exc)
            raise
        finally:
            scope.detach()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        scope = self._scope
        scope.attach()
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()  # Flask's teardown for stream_with_context runs here, inside the request
        except BaseException as exc:
            scope.record_exception(exc)
            raise
        finally:
            scope.detach()
            if not self._done:
                _finish(scope, self._environ, incomplete=True)


def _traced_file(result: Any, scope: RequestScope, environ: dict[str, Any]) -> Any:
    """A ``wsgi.file_wrapper`` response: end the span when the server closes it."""
    original = getattr(result, "close", None)

    def close() -> None:
        try:
            if original is not None:
                original()
        finally:
            _finish(scope, environ)

    try:
        result.close = close
    except Exception:  # a wrapper that refuses attributes: the span covers the view only
        _finish(scope, environ)
    return result

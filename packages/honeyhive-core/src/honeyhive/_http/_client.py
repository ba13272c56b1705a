"""Client spans and propagation headers for outgoing ``httpx`` and ``requests`` calls.

Enabled per tracer by ``disable_http_tracing=False``. The client libraries' ``send`` methods are
wrapped once per process (and unwrapped when the last tracer using them closes); a call is traced
by the tracer whose span is current if it has HTTP tracing on, else by the default tracer if it
has. Calls made with instrumentation suppressed -- everything the SDK's own delivery thread
sends -- are never traced and never get headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode

from honeyhive import _forksafe as forksafe
from honeyhive._context import SUPPRESS_KEY, current_tracer, get_default_tracer
from honeyhive._diagnostics import internal_error
from honeyhive._spans import record_error

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = ["disable_client_tracing", "enable_client_tracing"]

_lock = forksafe.Lock()
_tracers: list[HoneyHiveTracer] = []
_originals: list[tuple[Any, str, Callable[..., Any]]] = []


def _tracer_for_call() -> Optional[HoneyHiveTracer]:
    ctx = context_api.get_current()
    if ctx.get(SUPPRESS_KEY):
        return None
    tracers = _tracers
    if not tracers:
        return None
    current = current_tracer()  # the current span's owner, else link()'s, else the default
    if current is not None and current in tracers:
        return current
    default = get_default_tracer()
    return default if default in tracers else None


def _start(tracer: HoneyHiveTracer, method: str, url: str, headers: Any) -> tuple[Any, object]:
    method = method.upper()
    parts = url.split("/", 3)
    host = parts[2].rpartition("@")[2] if len(parts) > 2 else ""
    name, _, port = host.partition(":")
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.full": tracer._query_redaction.url(url),
        "server.address": name.strip("[]"),
    }
    if port.isdigit():
        attributes["server.port"] = int(port)
    span = tracer._spans.start(method, kind=SpanKind.CLIENT, attributes=attributes)
    ctx = trace_api.set_span_in_context(span)
    token = context_api.attach(ctx)
    try:
        tracer.inject(headers)
    except Exception as exc:
        internal_error("injecting propagation headers", exc)
    return span, token


def _end(span: Any, token: object, status: Optional[int], exc: Optional[BaseException]) -> None:
    try:
        context_api.detach(token)  # type: ignore[arg-type]
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
        if isinstance(exc, Exception):
            span.set_attribute("error.type", type(exc).__qualname__)
            record_error(span, exc)
        span.end()
    except Exception as err:
        internal_error("ending an HTTP client span", err)


def _wrap_sync(original: Callable[..., Any], read: Callable[[Any], tuple[str, str, Any]]) -> Any:
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer_for_call()
        if tracer is None:
            return original(self, request, *args, **kwargs)
        try:
            method, url, headers = read(request)
            span, token = _start(tracer, method, url, headers)
        except Exception as exc:
            internal_error("starting an HTTP client span", exc)
            return original(self, request, *args, **kwargs)
        try:
            response = original(self, request, *args, **kwargs)
        except BaseException as exc:
            _end(span, token, None, exc)
            raise
        _end(span, token, getattr(response, "status_code", None), None)
        return response

    send.__wrapped__ = original  # type: ignore[attr-defined]
    return send


def _wrap_async(original: Callable[..., Any], read: Callable[[Any], tuple[str, str, Any]]) -> Any:
    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = _tracer_for_call()
        if tracer is None:
            return await original(self, request, *args, **kwargs)
        try:
            method, url, headers = read(request)
            span, token = _start(tracer, method, url, headers)
        except Exception as exc:
            internal_error("starting an HTTP client span", exc)
            return await original(self, request, *args, **kwargs)
        try:
            response = await original(self, request, *args, **kwargs)
        except BaseException as exc:
            _end(span, token, None, exc)
            raise
        _end(span, token, getattr(response, "status_code", None), None)
        return response

    send.__wrapped__ = original  # type: ignore[attr-defined]
    return send


def _read_httpx(request: Any) -> tuple[str, str, Any]:
    return str(request.method), str(request.url), request.headers


def _read_requests(request: Any) -> tuple[str, str, Any]:
    return str(request.method or "GET"), str(request.url), request.headers


def _patch(owner: Any, attribute: str, wrapper: Any) -> None:
    original = getattr(owner, attribute)
    _originals.append((owner, attribute, original))
    setattr(owner, attribute, wrapper)


def _install() -> None:
    try:
        import httpx
    except ImportError:
        pass
    else:
        _patch(httpx.Client, "send", _wrap_sync(httpx.Client.send, _read_httpx))
        _patch(httpx.AsyncClient, "send", _wrap_async(httpx.AsyncClient.send, _read_httpx))
    try:
        import requests
    except ImportError:
        pass
    else:
        _patch(requests.Session, "send", _wrap_sync(requests.Session.send, _read_requests))


def enable_client_tracing(tracer: HoneyHiveTracer) -> None:
    with _lock:
        if not _originals:
            _install()
        if tracer not in _tracers:
            _tracers.append(tracer)


def disable_client_tracing(tracer: HoneyHiveTracer) -> None:
    with _lock:
        if tracer in _tracers:
            _tracers.remove(tracer)
        if not _tracers:
            while _originals:
                owner, attribute, original = _originals.pop()
                setattr(owner, attribute, original)

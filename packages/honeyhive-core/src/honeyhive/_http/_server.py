"""Tracing an HTTP server request, independent of the framework.

An integration describes the request (:class:`RequestInfo`), calls :meth:`RequestTracer.start`
once, tells the returned :class:`RequestScope` what it learns (the route the router chose, the
status, an exception, response headers) and calls :meth:`RequestScope.finish` exactly when the
response is complete. Everything else lives here, once: the trust rules for incoming context,
per-request sessions, the span's name and stable semantic-convention attributes, status mapping,
header capture with redaction, query redaction (by the tracer's lists), excluded URLs and the
user's hooks.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from opentelemetry import baggage
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from honeyhive import _propagation
from honeyhive._context import TRACER_KEY, owner_of
from honeyhive._diagnostics import logger
from honeyhive._http._headers import DEFAULT_REDACT_HEADERS, HeaderCapture, SecretHeaders
from honeyhive._http._request_span import REQUEST_SCOPE_KEY
from honeyhive._http._routes import normalize_route
from honeyhive._spans import edit_names, record_error, set_bounded, set_clean

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "CALLABLE_OPTIONS",
    "LIST_OPTIONS",
    "PROTECTED_BAGGAGE_KEYS",
    "SERVER_OPTIONS",
    "RequestInfo",
    "RequestScope",
    "RequestTracer",
    "ServerConfig",
    "exit_budget",
    "flush_at_shutdown",
]

#: Baggage keys that decide where spans land: ignored from the network unless allowed.
PROTECTED_BAGGAGE_KEYS = frozenset(
    {
        "session_id",
        "honeyhive_session_id",
        "honeyhive.session_id",
        "project",
        "source",
        "run_id",
        "dataset_id",
        "datapoint_id",
    }
)
_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"}
)

#: The options every integration accepts: the arguments of :meth:`ServerConfig.from_settings`.
SERVER_OPTIONS = (
    "capture_request_headers",
    "capture_response_headers",
    "excluded_urls",
    "exclude",
    "trust_incoming_context",
    "allowed_baggage_keys",
    "session_per_request",
    "session_id_for",
    "request_hook",
    "response_hook",
)
#: Of those, the ones holding a list of names or patterns (from config files: comma-separated).
LIST_OPTIONS = frozenset(
    {"capture_request_headers", "capture_response_headers", "excluded_urls", "allowed_baggage_keys"}
)
#: Of those, the ones holding a callable (from config files: a dotted path).
CALLABLE_OPTIONS = frozenset({"exclude", "session_id_for", "request_hook", "response_hook"})

RequestHook = Callable[[Span, Any], None]
ResponseHook = Callable[[Span, Any, Any], None]


def _env_list(*names: str) -> tuple[str, ...]:
    for name in names:
        raw = os.environ.get(name)
        if raw:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    return ()


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class ServerConfig:
    """How an integration traces requests. Every field has an environment fallback.

    * ``capture_request_headers`` / ``capture_response_headers``: header names or full-match
      patterns (case-insensitive) to record; off by default. Secret headers stay redacted.
      Environment: ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST`` / ``_RESPONSE``.
    * ``excluded_urls``: path patterns, anchored (``/health`` does not exclude ``/healthcare``);
      ``exclude``: a predicate on :class:`RequestInfo`. Environment: ``HH_EXCLUDED_URLS``.
    * ``trust_incoming_context``: honour incoming ``traceparent``/``baggage`` (default True;
      False at an untrusted edge). Environment: ``HH_TRUST_INCOMING_CONTEXT``.
    * ``allowed_baggage_keys``: protected baggage keys (``session_id``, ``project``,
      ``source``, evaluation ids) a caller may set; none by default. ``HH_ALLOWED_BAGGAGE_KEYS``.
    * ``session_per_request``: each request is its own HoneyHive session (default True).
    * ``session_id_for``: given the framework's request, the session to use (or None).
    * ``request_hook(span, request)`` / ``response_hook(span, request, response)``: run inside
      the request; whatever they raise is logged and never reaches the request.
    """

    capture_request_headers: tuple[str, ...] = ()
    capture_response_headers: tuple[str, ...] = ()
    excluded_urls: tuple[str, ...] = ()
    exclude: Optional[Callable[[RequestInfo], bool]] = None
    trust_incoming_context: bool = True
    allowed_baggage_keys: frozenset[str] = frozenset()
    session_per_request: bool = True
    session_id_for: Optional[Callable[[Any], Optional[str]]] = None
    request_hook: Optional[RequestHook] = None
    response_hook: Optional[ResponseHook] = None

    @classmethod
    def from_settings(
        cls,
        *,
        capture_request_headers: Optional[Iterable[str]] = None,
        capture_response_headers: Optional[Iterable[str]] = None,
        excluded_urls: Optional[Iterable[str]] = None,
        exclude: Optional[Callable[[RequestInfo], bool]] = None,
        trust_incoming_context: Optional[bool] = None,
        allowed_baggage_keys: Optional[Iterable[str]] = None,
        session_per_request: bool = True,
        session_id_for: Optional[Callable[[Any], Optional[str]]] = None,
        request_hook: Optional[RequestHook] = None,
        response_hook: Optional[ResponseHook] = None,
    ) -> ServerConfig:
        """Arguments first, then the environment, then defaults; bad patterns fail here."""
        request_headers = tuple(
            capture_request_headers
            if capture_request_headers is not None
            else _env_list("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST")
        )
        response_headers = tuple(
            capture_response_headers
            if capture_response_headers is not None
            else _env_list("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE")
        )
        excluded = tuple(
            excluded_urls if excluded_urls is not None else _env_list("HH_EXCLUDED_URLS")
        )
        for name, patterns in (
            ("capture_request_headers", request_headers),
            ("capture_response_headers", response_headers),
            ("excluded_urls", excluded),
        ):
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(
                        f"{name}: {pattern!r} is not a valid pattern ({exc})"
                    ) from None
        return cls(
            capture_request_headers=request_headers,
            capture_response_headers=response_headers,
            excluded_urls=excluded,
            exclude=exclude,
            trust_incoming_context=(
                trust_incoming_context
                if trust_incoming_context is not None
                else _env_bool("HH_TRUST_INCOMING_CONTEXT", True)
            ),
            allowed_baggage_keys=frozenset(
                allowed_baggage_keys
                if allowed_baggage_keys is not None
                else _env_list("HH_ALLOWED_BAGGAGE_KEYS")
            ),
            session_per_request=session_per_request,
            session_id_for=session_id_for,
            request_hook=request_hook,
            response_hook=response_hook,
        )


@dataclass
class RequestInfo:
    """What an integration knows about a request when it arrives."""

    method: str
    path: str
    scheme: str = "http"
    query: str = ""
    server_address: Optional[str] = None
    server_port: Optional[int] = None
    client_address: Optional[str] = None
    user_agent: Optional[str] = None
    protocol_version: Optional[str] = None
    headers: Iterable[tuple[str, str]] = ()
    carrier: Any = None  # what the propagators read; ``headers`` as a dict when None
    getter: Optional[Getter[Any]] = None
    kind: str = "http"  # or "websocket"


class RequestScope:
    """One traced request: learns what the integration finds out, then finishes once."""

    __slots__ = (
        "_exception",
        "_finished",
        "_kind",
        "_new_session",
        "_owner",
        "_request",
        "_route",
        "_status",
        "_token",
        "context",
        "method",
        "session_id",
        "span",
    )

    def __init__(
        self,
        owner: RequestTracer,
        span: Span,
        context: Context,
        method: str,
        request: Any,
        session_id: Optional[str],
        kind: str = "http",
    ) -> None:
        self._owner = owner
        self._kind = kind
        self.span = span
        self.context = context
        self.method = method
        self.session_id = session_id
        self._request = request
        self._route: Optional[str] = None
        self._status: Optional[int] = None
        self._exception: Optional[BaseException] = None
        self._finished = False
        self._token: Optional[object] = None
        self._new_session = False  # a per-request session that starts when the request ends

    # -- the current context ------------------------------------------------------------------

    def attach(self) -> None:
        """Make the request current (on this thread or task) until :meth:`detach`."""
        if self._token is None:
            self._token = context_api.attach(self.context)

    def detach(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                context_api.detach(token)  # type: ignore[arg-type]
            except Exception as exc:  # a framework detached across contexts: nothing to undo
                logger.debug("request context detach failed: %r", exc)

    # -- what the integration learns ----------------------------------------------------------

    def set_route(self, template: Optional[str]) -> None:
        """The route the router chose (any framework's template syntax)."""
        if template:
            self._route = normalize_route(template)

    def set_status(self, status: int) -> None:
        self._status = status

    def record_exception(self, exc: BaseException) -> None:
        """An exception escaped the application (recorded once, however often it is reported)."""
        if self._exception is None:
            self._exception = exc
            if isinstance(exc, Exception):
                record_error(self.span, exc)

    def set_response_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        capture = self._owner._response_headers
        if capture.enabled:
            set_bounded(self.span, capture.attributes(headers), self._owner.tracer._rules)

    @property
    def finished(self) -> bool:
        return self._finished

    def session_start(self) -> dict[str, Any]:
        """The start of the request's own session, named after the request (as far as known)."""
        started = getattr(self.span, "start_time", None)
        return self._owner.tracer._session_event(
            self.session_id,  # type: ignore[arg-type]
            self.name,
            start_time=started // 1_000_000 if started else None,
        )

    @property
    def name(self) -> str:
        """``GET /users/{user_id}`` (``GET`` alone while no route is known, or none matched)."""
        route = self._route
        kind = "WS" if self._kind == "websocket" else self.method
        return f"{kind} {route}" if route else kind

    def finish(self, response: Any = None, *, incomplete: bool = False) -> None:
        """End the request span (idempotent). ``incomplete``: the response never completed."""
        if self._finished:
            return
        self._finished = True
        span = self.span
        try:
            route = self._route
            span.update_name(self.name)
            attributes: dict[str, Any] = {}
            if route:
                attributes["http.route"] = route
            status = self._status
            if status is not None:
                attributes["http.response.status_code"] = status
            if self._exception is not None:
                attributes["error.type"] = type(self._exception).__qualname__
                span.set_status(Status(StatusCode.ERROR))
            elif status is not None and status >= 500:
                attributes["error.type"] = str(status)
                span.set_status(Status(StatusCode.ERROR))
            elif incomplete:
                attributes["error.type"] = "incomplete_response"
                span.set_status(Status(StatusCode.ERROR, "the response did not complete"))
            set_clean(span, attributes)
            hook = self._owner.config.response_hook
            if hook is not None:
                self._owner._run_hook("response_hook", hook, span, self._request, response)
        finally:
            self.detach()
            if self._new_session:  # named now, started before the request's span ends
                self._owner.tracer._start_open_session(self.session_id)  # type: ignore[arg-type]
            span.end()


class RequestTracer:
    """Starts request scopes for one integration instance (one app)."""

    def __init__(
        self,
        tracer: HoneyHiveTracer,
        config: ServerConfig,
        name: str,
        service: Optional[str] = None,
    ) -> None:
        """``service``: the app's name, for ``service.name`` when nothing else names it
        (``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win)."""
        self.tracer = tracer
        self.config = config
        self.name = name
        secret = SecretHeaders(
            edit_names(DEFAULT_REDACT_HEADERS, tracer._settings.redact_headers, "redact_headers")
        )
        if service:
            tracer._adopt_service_name(service)
        self._request_headers = HeaderCapture(
            config.capture_request_headers, "http.request.header.", secret
        )
        self._response_headers = HeaderCapture(
            config.capture_response_headers, "http.response.header.", secret
        )
        self._excluded = (
            re.compile("|".join(f"(?:{p})" for p in config.excluded_urls))
            if config.excluded_urls
            else None
        )
        self.hook_errors = 0
        # The headers the configured propagators read (W3C by default, or a plug-in's own).
        self._incoming_fields = tuple(sorted(tracer._propagator.fields))

    def excluded(self, info: RequestInfo) -> bool:
        if self._excluded is not None and self._excluded.fullmatch(info.path):
            return True
        predicate = self.config.exclude
        if predicate is None:
            return False
        try:
            return bool(predicate(info))
        except Exception as exc:
            self.hook_errors += 1
            logger.warning("the exclude predicate raised %s; the request is traced", type(exc))
            return False

    def _run_hook(self, name: str, hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except Exception as exc:
            self.hook_errors += 1
            logger.warning("%s raised %s; the request is not affected", name, type(exc).__name__)

    def _incoming(self, info: RequestInfo) -> Context:
        if not self.config.trust_incoming_context:
            return Context()
        carrier = info.carrier if info.carrier is not None else dict(info.headers)
        getter = info.getter or _propagation.default_getter
        if all(getter.get(carrier, name) is None for name in self._incoming_fields):
            return Context()  # nothing came in: skip the propagators entirely
        ctx = _propagation.extract(self.tracer._propagator, carrier, getter, Context())
        entries = baggage.get_all(ctx)
        allowed = self.config.allowed_baggage_keys
        for key in entries:
            if key in PROTECTED_BAGGAGE_KEYS and key not in allowed:
                ctx = baggage.remove_baggage(key, ctx)
        return ctx

    def start(self, info: RequestInfo, request: Any = None) -> Optional[RequestScope]:
        """Begin tracing a request, with its context current; None if it is not traced."""
        tracer = self.tracer
        if tracer.closed or self.excluded(info):
            return None
        ctx = self._incoming(info)
        session_id, new_session = self._session_for(request, ctx)
        if session_id is not None:
            ctx = baggage.set_baggage("session_id", session_id, ctx)
        method = info.method.upper()
        attributes: dict[str, Any] = {"url.path": info.path, "url.scheme": info.scheme}
        if method in _KNOWN_METHODS:
            attributes["http.request.method"] = method
        else:
            attributes["http.request.method"] = "_OTHER"
            attributes["http.request.method_original"] = info.method
            method = "HTTP"
        if info.query:
            attributes["url.query"] = tracer._query_redaction.query(info.query)
        if info.server_address:
            attributes["server.address"] = info.server_address
        if info.server_port is not None:
            attributes["server.port"] = info.server_port
        if info.client_address:
            attributes["client.address"] = info.client_address
        if info.user_agent:
            attributes["user_agent.original"] = info.user_agent
        if info.protocol_version:
            attributes["network.protocol.version"] = info.protocol_version
        if self._request_headers.enabled:
            attributes.update(self._request_headers.attributes(info.headers))
        span = tracer._spans.start(method, ctx, self._kind_under_current())
        set_bounded(span, attributes, tracer._rules)  # a URL of any length costs the limit
        ctx = trace_api.set_span_in_context(span, ctx)
        ctx = context_api.set_value(TRACER_KEY, tracer, ctx)
        scope = RequestScope(self, span, ctx, method, request, session_id, info.kind)
        scope.context = context_api.set_value(REQUEST_SCOPE_KEY, scope, ctx)
        if new_session and session_id is not None:
            if tracer._settings.session_name_given:  # the user named the sessions
                tracer._start_session(session_id)
            else:  # named after the request when it ends
                scope._new_session = True
                tracer._open_session(session_id, scope.session_start)
        scope.attach()
        hook = self.config.request_hook
        if hook is not None:
            self._run_hook("request_hook", hook, span, request)
        return scope

    def _kind_under_current(self) -> SpanKind:
        """SERVER, unless another instrumentation (contrib, Starlette's own middleware) already
        opened this request's SERVER span in this tracer's provider: then ours is INTERNAL, so
        the trace still has exactly one SERVER span."""
        current = trace_api.get_current_span()
        if (
            current.is_recording()
            and getattr(current, "kind", None) is SpanKind.SERVER
            and owner_of(current) is self.tracer
        ):
            return SpanKind.INTERNAL
        return SpanKind.SERVER

    def _session_for(self, request: Any, ctx: Context) -> tuple[Optional[str], bool]:
        """The request's session, and whether it is a new one (to be started)."""
        chooser = self.config.session_id_for
        if chooser is not None:
            try:
                chosen = chooser(request)
            except Exception as exc:
                self.hook_errors += 1
                logger.warning("session_id_for raised %s; a new session is used", type(exc))
                chosen = None
            if chosen:
                try:
                    return str(uuid.UUID(str(chosen))), False
                except ValueError:
                    self.hook_errors += 1
                    logger.warning("session_id_for returned an id that is not a UUID; ignored")
        existing = baggage.get_baggage("session_id", ctx)
        if isinstance(existing, str) and existing:
            return existing, False  # an allowed incoming session (already validated by extract)
        if not self.config.session_per_request:
            return None, False
        return _new_session_id(), True


#: The version (4) and variant (RFC 4122) bits of a random UUID, over its 128-bit integer.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def _new_session_id() -> str:
    """A random (version 4) UUID in its usual text form, from the fast generator OpenTelemetry
    uses for trace ids: a session id is an identifier, not a secret, and ``os.urandom`` is a
    system call. Formatted directly: ``str(uuid.UUID(...))`` costs three times as much, on
    every request."""
    digits = "%032x" % (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def exit_budget(tracer: HoneyHiveTracer) -> float:
    """Seconds a server's shutdown may spend delivering (the tracer's ``exit_timeout``)."""
    return tracer._settings.exit_timeout


def flush_at_shutdown(tracer: HoneyHiveTracer) -> bool:
    """Deliver what is queued within the exit budget (a server shutting down, e.g. ASGI
    ``lifespan.shutdown``); blocking: run it off an event loop. The budget counts from here:
    the exit hook that follows gets what is left of it."""
    from honeyhive._tracer import flush_for_exit

    return flush_for_exit(tracer)

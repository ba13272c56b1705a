"""The HTTP wing: tracing HTTP requests, server side and client side, for every framework.

The framework integrations (``honeyhive-fastapi``, ``honeyhive-flask``, ``honeyhive-django``) are
thin adapters over the server side; they reach it through the public
:mod:`honeyhive.http_server`, never through this wing.

* ``_server``: :class:`RequestTracer` and :class:`RequestScope`: one SERVER span per request,
  named from the route; semantic-convention attributes, status, trust rules for incoming context,
  per-request sessions, excluded URLs and hooks.
* ``_request_span``: finding the current request's span (and tracer) from anywhere inside it.
* ``_routes``: route templates of every framework in one ``/users/{user_id}`` form.
* ``_headers``: which headers become attributes; secret headers stay redacted (editable list).
* ``_urls``: URL and query redaction (editable list of parameter names).
* ``_client``: CLIENT spans and propagation headers for outgoing ``httpx`` and ``requests`` calls.
* ``_env_tracer``: the tracer an integration falls back to, built once from ``HH_*``.

The rest of the package imports what it needs from here, never from the modules above.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from honeyhive._http._client import disable_client_tracing, enable_client_tracing
from honeyhive._http._request_span import (
    REQUEST_SCOPE_KEY,
    current_request_tracer,
    enrich_request_span,
    get_request_span,
)
from honeyhive._http._urls import (
    DEFAULT_REDACT_QUERY_PARAMS,
    QueryRedaction,
    redact_query,
    redact_url,
)

if TYPE_CHECKING:
    from honeyhive._http._env_tracer import tracer_from_environment
    from honeyhive._http._headers import (
        DEFAULT_REDACT_HEADERS,
        HeaderCapture,
        SecretHeaders,
        is_secret_header,
    )
    from honeyhive._http._routes import normalize_route
    from honeyhive._http._server import (
        CALLABLE_OPTIONS,
        LIST_OPTIONS,
        PROTECTED_BAGGAGE_KEYS,
        SERVER_OPTIONS,
        RequestInfo,
        RequestScope,
        RequestTracer,
        ServerConfig,
        exit_budget,
        flush_at_shutdown,
    )

# The server side loads on first use: only the integrations need it (through
# honeyhive.http_server), and ``import honeyhive`` should not pay for it.
_SERVER_SIDE = {
    "CALLABLE_OPTIONS": "_server",
    "LIST_OPTIONS": "_server",
    "PROTECTED_BAGGAGE_KEYS": "_server",
    "SERVER_OPTIONS": "_server",
    "RequestInfo": "_server",
    "RequestScope": "_server",
    "RequestTracer": "_server",
    "ServerConfig": "_server",
    "DEFAULT_REDACT_HEADERS": "_headers",
    "exit_budget": "_server",
    "flush_at_shutdown": "_server",
    "HeaderCapture": "_headers",
    "SecretHeaders": "_headers",
    "is_secret_header": "_headers",
    "normalize_route": "_routes",
    "tracer_from_environment": "_env_tracer",
}


def __getattr__(name: str) -> Any:
    module = _SERVER_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CALLABLE_OPTIONS",
    "DEFAULT_REDACT_HEADERS",
    "DEFAULT_REDACT_QUERY_PARAMS",
    "HeaderCapture",
    "LIST_OPTIONS",
    "PROTECTED_BAGGAGE_KEYS",
    "QueryRedaction",
    "REQUEST_SCOPE_KEY",
    "RequestInfo",
    "RequestScope",
    "RequestTracer",
    "SERVER_OPTIONS",
    "SecretHeaders",
    "ServerConfig",
    "current_request_tracer",
    "disable_client_tracing",
    "enable_client_tracing",
    "enrich_request_span",
    "exit_budget",
    "flush_at_shutdown",
    "get_request_span",
    "is_secret_header",
    "normalize_route",
    "redact_query",
    "redact_url",
    "tracer_from_environment",
]

"""The framework-independent part of server-side request tracing, for integration packages.

``honeyhive-fastapi``, ``honeyhive-flask`` and ``honeyhive-django`` are thin adapters over this
module: each turns its framework's request into a :class:`RequestInfo`, starts a
:class:`RequestScope` with a :class:`RequestTracer`, tells it the route, status, exception and
response headers as it learns them, and finishes it when the response is complete. Naming,
semantic-convention attributes, status mapping, header capture with redaction, query redaction,
excluded URLs, trust rules for incoming context, per-request sessions and hooks live here once.

Integrations report their own failures through :func:`internal_error` (counted, never raised)
and log through :data:`logger`, the SDK's ``honeyhive`` logger. Application code needs only
:func:`honeyhive.enrich_request_span`.
"""

from honeyhive._diagnostics import internal_error, logger
from honeyhive._http import (
    CALLABLE_OPTIONS,
    LIST_OPTIONS,
    PROTECTED_BAGGAGE_KEYS,
    SERVER_OPTIONS,
    RequestInfo,
    RequestScope,
    RequestTracer,
    ServerConfig,
    current_request_tracer,
    enrich_request_span,
    exit_budget,
    flush_at_shutdown,
    get_request_span,
    is_secret_header,
    normalize_route,
    redact_query,
    redact_url,
    tracer_from_environment,
)

__all__ = [
    "CALLABLE_OPTIONS",
    "LIST_OPTIONS",
    "PROTECTED_BAGGAGE_KEYS",
    "RequestInfo",
    "RequestScope",
    "RequestTracer",
    "SERVER_OPTIONS",
    "ServerConfig",
    "current_request_tracer",
    "enrich_request_span",
    "exit_budget",
    "flush_at_shutdown",
    "get_request_span",
    "internal_error",
    "is_secret_header",
    "logger",
    "normalize_route",
    "redact_query",
    "redact_url",
    "tracer_from_environment",
]

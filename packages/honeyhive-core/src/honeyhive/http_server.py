"""The framework-independent part of server-side request tracing, for integration packages.

``honeyhive-fastapi``, ``honeyhive-flask`` and ``honeyhive-django`` are thin adapters over this
module: each turns its framework's request into a :class:`RequestInfo`, starts a
:class:`RequestScope` with a :class:`RequestTracer`, tells it the route, status, exception and
response headers as it learns them, and finishes it when the response is complete. Naming,
semantic-convention attributes, status mapping, header capture with redaction, query redaction,
excluded URLs, trust rules for incoming context, per-request sessions and hooks live here once.

Application code needs only :func:`honeyhive.enrich_request_span`.
"""

from honeyhive._env_tracer import tracer_from_environment
from honeyhive._headers import is_secret_header
from honeyhive._request_span import enrich_request_span, get_request_span
from honeyhive._routes import normalize_route
from honeyhive._server import (
    CALLABLE_OPTIONS,
    LIST_OPTIONS,
    PROTECTED_BAGGAGE_KEYS,
    SERVER_OPTIONS,
    RequestInfo,
    RequestScope,
    RequestTracer,
    ServerConfig,
)
from honeyhive._urls import redact_query, redact_url

__all__ = [
    "CALLABLE_OPTIONS",
    "LIST_OPTIONS",
    "PROTECTED_BAGGAGE_KEYS",
    "RequestInfo",
    "RequestScope",
    "RequestTracer",
    "SERVER_OPTIONS",
    "ServerConfig",
    "enrich_request_span",
    "get_request_span",
    "is_secret_header",
    "normalize_route",
    "redact_query",
    "redact_url",
    "tracer_from_environment",
]

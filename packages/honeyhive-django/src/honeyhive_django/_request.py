"""What the core needs to know about a Django request, read from ``request.META`` (no RAW_URI)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from django.http import HttpRequest
from opentelemetry.propagators.textmap import Getter

from honeyhive.http_server import RequestInfo

__all__ = ["MetaGetter", "request_info", "route_of", "user_id_of"]


class MetaGetter(Getter[Mapping[str, Any]]):
    """Reads propagation headers (``traceparent``, ``baggage``) straight from ``request.META``."""

    def get(self, carrier: Mapping[str, Any], key: str) -> Optional[list[str]]:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


_GETTER = MetaGetter()


class _MetaHeaders:
    """Request headers as ``(name, value)`` pairs, computed only if header capture asks."""

    __slots__ = ("_meta",)

    def __init__(self, meta: Mapping[str, Any]) -> None:
        self._meta = meta

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for key, value in self._meta.items():
            if key.startswith("HTTP_"):
                yield key[5:].lower().replace("_", "-"), str(value)
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.lower().replace("_", "-"), str(value)


def _host_and_port(meta: Mapping[str, Any]) -> tuple[Optional[str], Optional[int]]:
    host = meta.get("HTTP_HOST")
    port: Any = None
    if host:
        if host.startswith("["):  # [::1]:8000
            end = host.find("]")
            if end > 0:
                rest = host[end + 1 :]
                port = rest[1:] if rest.startswith(":") else None
                host = host[1:end]
        elif ":" in host:
            host, _, port = host.rpartition(":")
    else:
        host = meta.get("SERVER_NAME")
        port = meta.get("SERVER_PORT")
    try:
        number = int(port) if port else None
    except ValueError:
        number = None
    return host or None, number


def request_info(request: HttpRequest) -> RequestInfo:
    """Describe the request for the core; only ``META`` and the ASGI scope are read."""
    meta = request.META
    host, port = _host_and_port(meta)
    scope = getattr(request, "scope", None)  # ASGIRequest
    if scope is not None:
        protocol = scope.get("http_version")
        scheme = scope.get("scheme") or "http"
    else:
        raw_protocol = meta.get("SERVER_PROTOCOL") or ""
        protocol = raw_protocol[5:] if raw_protocol.startswith("HTTP/") else None
        scheme = meta.get("wsgi.url_scheme") or "http"
    return RequestInfo(
        method=request.method or "GET",
        path=request.path,
        scheme=scheme,
        query=meta.get("QUERY_STRING", ""),
        server_address=host,
        server_port=port,
        client_address=meta.get("REMOTE_ADDR") or None,
        user_agent=meta.get("HTTP_USER_AGENT") or None,
        protocol_version=protocol,
        headers=_MetaHeaders(meta),
        carrier=meta,
        getter=_GETTER,
    )


def route_of(request: HttpRequest) -> Optional[str]:
    """The template of the URL pattern Django matched (``include()`` prefixes joined), or None.

    ``ResolverMatch.route`` is what the resolver chose, after dispatch, so this is O(1) and
    honours ``request.urlconf``.
    """
    match = request.resolver_match
    if match is None:
        return None
    return match.route or "/"


def user_id_of(request: HttpRequest) -> Optional[str]:
    """The authenticated user's primary key, only if authentication already loaded the user.

    Never evaluates a lazy ``request.user`` (that would query the database, and raise
    ``SynchronousOnlyOperation`` in async code): it reads what ``request.user`` or
    ``await request.auser()`` cached.
    """
    cached = request.__dict__
    user = cached.get("_cached_user")
    if user is None:
        user = cached.get("_acached_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return None if pk is None else str(pk)

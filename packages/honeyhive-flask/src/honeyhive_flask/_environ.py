"""What a WSGI environ says about a request, read without relying on RAW_URI/REQUEST_URI."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, Optional

from opentelemetry.propagators.textmap import Getter

from honeyhive.http_server import RequestInfo

__all__ = ["EnvironHeaders", "environ_getter", "request_info"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PROTOCOLS = {"HTTP/1.0": "1.0", "HTTP/1.1": "1.1", "HTTP/2": "2", "HTTP/2.0": "2"}


@functools.lru_cache(maxsize=1024)
def _environ_key(header: str) -> str:
    name = header.upper().replace("-", "_")
    if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return name
    return "HTTP_" + name


class _EnvironGetter(Getter[Mapping[str, Any]]):
    """Reads propagation headers (``traceparent``, ``baggage``) straight from the environ."""

    def get(self, carrier: Mapping[str, Any], key: str) -> Optional[list[str]]:
        value = carrier.get(_environ_key(key))
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


environ_getter = _EnvironGetter()


class EnvironHeaders:
    """The request headers of an environ as ``(name, value)`` pairs, read only when iterated."""

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._environ = environ

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for key, value in self._environ.items():
            if key.startswith("HTTP_"):
                yield key[5:].lower().replace("_", "-"), str(value)
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.lower().replace("_", "-"), str(value)


@functools.lru_cache(maxsize=256)
def _split_host(host: str, scheme: str) -> tuple[str, Optional[int]]:
    """``Host`` header -> (address, port); IPv6 literals keep no brackets."""
    address, port = host, ""
    if host.startswith("["):
        end = host.find("]")
        if end != -1:
            address, rest = host[1:end], host[end + 1 :]
            port = rest[1:] if rest.startswith(":") else ""
    elif host.count(":") == 1:
        address, port = host.split(":")
    if port.isdigit():
        return address, int(port)
    return address, _DEFAULT_PORTS.get(scheme)


def _port(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def request_info(environ: Mapping[str, Any]) -> RequestInfo:
    """The shared logic's view of a WSGI request."""
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if not path.isascii():  # WSGI gives bytes as latin-1; the URL path is UTF-8
        path = path.encode("latin-1", "replace").decode("utf-8", "replace")
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    address: Optional[str]
    if host:
        address, port = _split_host(host, scheme)
    else:
        address, port = environ.get("SERVER_NAME"), _port(environ.get("SERVER_PORT"))
    protocol = environ.get("SERVER_PROTOCOL", "")
    version = _PROTOCOLS.get(protocol, protocol[5:] if protocol[:5] == "HTTP/" else None)
    return RequestInfo(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path or "/",
        scheme=scheme,
        query=environ.get("QUERY_STRING", ""),
        server_address=address,
        server_port=port,
        client_address=environ.get("REMOTE_ADDR"),
        user_agent=environ.get("HTTP_USER_AGENT"),
        protocol_version=version,
        headers=EnvironHeaders(environ),
        carrier=environ,
        getter=environ_getter,
    )

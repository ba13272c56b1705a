"""Describing an ASGI request to the core: RequestInfo built from the scope, lazily decoded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

from opentelemetry import trace as trace_api
from opentelemetry.propagators.textmap import Getter

from honeyhive.http_server import RequestInfo

__all__ = ["request_info"]


class _Carrier:
    """The scope's raw headers, plus a ``traceparent`` to prefer (an enclosing server span)."""

    __slots__ = ("override", "raw")

    def __init__(self, raw: Any, override: Optional[dict[str, str]]) -> None:
        self.raw = raw
        self.override = override


class _ScopeGetter(Getter[_Carrier]):
    """Reads propagation headers straight from the raw ASGI list, decoding only those."""

    def get(self, carrier: _Carrier, key: str) -> Optional[list[str]]:
        override = carrier.override
        if override is not None and key in override:
            return [override[key]]
        name = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for k, value in carrier.raw if k.lower() == name]
        if not values:
            return None
        if name == b"baggage" and len(values) > 1:
            return [",".join(values)]  # several baggage headers are joined
        return values

    def keys(self, carrier: _Carrier) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier.raw]


_GETTER = _ScopeGetter()
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class _Headers:
    """Decoded (name, value) pairs, produced only if header capture iterates them."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for name, value in self.raw:
            yield name.decode("latin-1"), value.decode("latin-1")


def _enclosing_traceparent() -> Optional[dict[str, str]]:
    """A SERVER span already current (contrib's or Starlette's middleware outside us): join its
    trace. Only a recording SERVER span counts, never whatever context happens to be current."""
    span = trace_api.get_current_span()
    ctx = span.get_span_context()
    if not ctx.is_valid or not span.is_recording():
        return None
    if getattr(span, "kind", None) is not trace_api.SpanKind.SERVER:
        return None
    flags = "01" if ctx.trace_flags.sampled else "00"
    return {"traceparent": f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{flags}"}


def request_info(scope: Any, kind: str) -> RequestInfo:
    """The core's description of this request (no body, no ``receive``)."""
    raw = scope.get("headers") or ()
    user_agent: Optional[str] = None
    host: Optional[bytes] = None
    for name, value in raw:
        if name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"host":
            host = value
    server_address: Optional[str] = None
    server_port: Optional[int] = None
    if host is not None:
        text = host.decode("latin-1")
        if text.startswith("["):  # [v6]:port
            address, _, rest = text[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        else:
            address, _, port_text = text.partition(":")
        server_address = address or None
        if port_text.isdigit():
            server_port = int(port_text)
    scheme = scope.get("scheme") or ("ws" if kind == "websocket" else "http")
    if host is None:
        server = scope.get("server")
        if server:
            server_address, server_port = server[0], server[1]
    elif server_port is None:
        server_port = _DEFAULT_PORTS.get(scheme)
    client = scope.get("client")
    query = scope.get("query_string") or b""
    return RequestInfo(
        method=scope.get("method", "GET") if kind == "http" else "GET",
        path=scope.get("path") or "/",
        scheme=scheme,
        query=query.decode("latin-1") if query else "",
        server_address=server_address,
        server_port=server_port,
        client_address=client[0] if client else None,
        user_agent=user_agent,
        protocol_version=scope.get("http_version"),
        headers=_Headers(raw),
        carrier=_Carrier(raw, _enclosing_traceparent()),
        getter=_GETTER,
        kind=kind,
    )

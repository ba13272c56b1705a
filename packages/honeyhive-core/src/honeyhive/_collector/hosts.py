"""Only requests addressed to this machine by name: a guard against DNS rebinding.

The collector listens on 127.0.0.1 and, without a key, answers anyone who reaches it. A web page
in the user's browser cannot read its answers (no CORS), unless it rebinds its own host name to
127.0.0.1: then the browser sends that host name in ``Host``. Refusing every ``Host`` that is not
a loopback name closes that door. Plain ASGI middleware.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from honeyhive._collector.bodies import drain, drain_limit

__all__ = ["LOOPBACK_NAMES", "LoopbackHostOnly", "host_name"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
ASGIApp = Callable[..., Any]


def host_name(header: str) -> str:
    """``127.0.0.1:8318`` -> ``127.0.0.1``, ``[::1]:8318`` -> ``::1`` (lower case)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _own_origins(host: str) -> tuple[str, str]:
    return (f"http://{host}", f"https://{host}")


class LoopbackHostOnly:
    """Answer 403 to requests whose ``Host`` is not 127.0.0.1, localhost or ::1, and to
    cross-site requests from a browser (``Origin`` or ``Sec-Fetch-Site`` says so)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self._drain = drain_limit(max_body_bytes)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = origin = fetch_site = None
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"sec-fetch-site":
                fetch_site = value.decode("latin-1")
        problem = None
        if host is not None and host_name(host) not in LOOPBACK_NAMES:  # HTTP/1.0: no Host
            problem = f"this collector answers requests to 127.0.0.1 or localhost, not {host!r}"
        elif fetch_site not in (None, "same-origin", "none") or (
            origin is not None and host is not None and origin not in _own_origins(host)
        ):
            # Another web page in the user's browser (even one on another localhost port) may
            # neither read nor write traces; the SDK and the viewer itself send neither header
            # or a same-origin one.
            problem = "cross-site requests are refused"
        if problem is None:
            await self.app(scope, receive, send)
            return
        await drain(receive, self._drain)
        body = json.dumps({"error": problem}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

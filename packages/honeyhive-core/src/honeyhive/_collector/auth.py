"""Optional Bearer authentication, as plain ASGI middleware.

With a key configured, every request except the viewer's page and static files needs
``Authorization: Bearer <key>``; anything else is a 401 (after reading and discarding the body,
so that the client reads the answer). Without a key, everything is accepted: the collector
listens on loopback only, and the SDK sends no key to a loopback server unless it has one.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Callable

from honeyhive._collector.bodies import drain, drain_limit

__all__ = ["BearerAuth", "is_public"]

ASGIApp = Callable[..., Any]
_PUBLIC_PREFIXES = ("/static/",)
_PUBLIC_PATHS = frozenset({"/", "/favicon.ico"})


def is_public(path: str) -> bool:
    """The viewer's page and assets: they hold no data, and the page asks for the key."""
    return path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES)


class BearerAuth:
    """Refuse requests without ``Authorization: Bearer <api_key>`` (compared in constant time)."""

    def __init__(self, app: ASGIApp, api_key: str, max_body_bytes: int) -> None:
        self.app = app
        self._expected = f"Bearer {api_key}".encode()
        self._drain = drain_limit(max_body_bytes)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        await drain(receive, self._drain)
        reason = "missing" if not given else "invalid"
        body = json.dumps(
            {"error": f"{reason} API key: send Authorization: Bearer <the collector's key>"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="honeyhive-collector"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

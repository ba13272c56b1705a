"""Headers that keep the viewer's pages and the API's answers to themselves, as ASGI middleware.

On every response: a Content-Security-Policy that runs only the viewer's own script and
style files (nothing inline: a captured value rendered by mistake as HTML still cannot run),
loads nothing from elsewhere and cannot be framed; ``X-Content-Type-Options: nosniff`` (a JSON
answer is never read as a script or a page); ``X-Frame-Options: DENY`` for browsers older than
``frame-ancestors``; no ``Referer`` leaves the viewer; and ``Cross-Origin-Resource-Policy`` and
``Cross-Origin-Opener-Policy`` so that another site can neither embed an answer nor keep a handle
on a viewer window it opened.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "SecurityHeaders"]

ASGIApp = Callable[..., Any]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every HTTP response (replacing any of the same name)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() not in _NAMES]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""Only requests addressed to this machine by name: a guard against DNS rebinding.

The collector listens on 127.0.0.1 and, without a key, answers anyone who reaches it. A web page
in the user's browser cannot read its answers (no CORS), unless it rebinds its own host name to
127.0.0.1: then the browser sends that host name in ``Host``. Refusing every ``Host`` that is not
a loopback name closes that door. Requests a browser makes for another site (``Origin`` or
``Sec-Fetch-Site`` says so) are refused too, with one exception: following a link to the
viewer's page (a top-level navigation to ``/``) opens it, because the page holds no data and
its own requests are same-origin. A refused navigation gets a short HTML page that says why and
links to the viewer, not JSON. Plain ASGI middleware.
"""

from __future__ import annotations

import html
import json
from typing import Any, Callable, Optional

from honeyhive._collector.bodies import drain, drain_limit

__all__ = ["LOOPBACK_NAMES", "LoopbackHostOnly", "host_name"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
ASGIApp = Callable[..., Any]
_READ = frozenset({b"host", b"origin", b"sec-fetch-site", b"sec-fetch-mode", b"accept"})
_PAGES = frozenset({"/"})  # what a link from elsewhere may open


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
        headers = {
            name: value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in _READ
        }
        host, origin = headers.get(b"host"), headers.get(b"origin")
        fetch_site = headers.get(b"sec-fetch-site")
        navigation = headers.get(b"sec-fetch-mode") == "navigate" and scope.get("method") in (
            "GET",
            "HEAD",
        )
        problem = None
        if host is not None and host_name(host) not in LOOPBACK_NAMES:  # HTTP/1.0: no Host
            problem = f"this collector answers requests to 127.0.0.1 or localhost, not {host!r}"
        elif navigation and scope.get("path") in _PAGES:
            pass  # a link to the viewer, followed from anywhere: the page holds no data
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
        if navigation or "text/html" in headers.get(b"accept", ""):
            body, kind = _refusal_page(problem, host), b"text/html; charset=utf-8"
        else:
            body, kind = json.dumps({"error": problem}).encode(), b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _refusal_page(problem: str, host: Optional[str]) -> bytes:
    """A plain page for a person who followed a link: what happened and where to go."""
    viewer = ""
    if host is not None and host_name(host) in LOOPBACK_NAMES:
        viewer = f'<p><a href="/">Open the trace viewer</a> on {html.escape(host)}.</p>'
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<title>Refused · HoneyHive local collector</title>"
        '<link rel="stylesheet" href="/static/viewer.css"><body class="refused">'
        "<h1>This request was refused</h1>"
        f"<p>{html.escape(problem[:1].upper() + problem[1:])}: the local collector answers its "
        "own viewer and the SDK, not other web pages, so that a page elsewhere can neither "
        "read nor change your traces.</p>"
        f"{viewer}</body></html>"
    ).encode()

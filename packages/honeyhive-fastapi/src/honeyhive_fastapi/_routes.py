"""The route template the router chose, read after dispatch in O(1).

FastAPI's routers report the full template (mount and ``include_router`` prefixes included) to
the request-telemetry object in ``scope["fastapi.telemetry"]`` as they route: we read that when
it is there. Otherwise (plain Starlette) the selected ``scope["route"]`` plus the mount path
accumulated in ``root_path``. A Starlette app mounted in a FastAPI app routes without telling
FastAPI (its template stops at the mount, ``/star/{path}``): the route its own router chose,
under the mount path, is the full template then (``/star/things/{thing_id}``).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from starlette.routing import Mount

__all__ = ["TELEMETRY_KEY", "new_route_recorder", "route_of"]

TELEMETRY_KEY = "fastapi.telemetry"

_make: Optional[Callable[..., Any]] = None
_kind: Any = None
try:  # FastAPI 0.142+: its routers record the effective template on this object
    from fastapi.telemetry._api import _RequestTelemetry

    _kind = _RequestTelemetry
    _make = _RequestTelemetry
except Exception:  # pragma: no cover - FastAPI absent or changed: fall back to scope["route"]
    _make = None


def new_route_recorder(scope: Any, method: str) -> Optional[Any]:
    """A FastAPI request-telemetry object with tracing off, that only records the route.

    Its presence in the scope also tells FastAPI (this app and any mounted FastAPI sub-app)
    that the request is already traced, so the native request span stays off.
    """
    if _make is None:
        return None
    try:
        return _make(
            span=None,
            span_method=method,
            data=None,
            _mount_prefix=scope.get("app_root_path", scope.get("root_path", "")).rstrip("/"),
        )
    except Exception:  # pragma: no cover - a FastAPI whose private object changed shape
        return None


def route_of(scope: Any, telemetry: Any) -> Optional[str]:
    """The template of the route that handled the request; None when none matched."""
    if _kind is not None and isinstance(telemetry, _kind) and telemetry.route:
        recorded = str(telemetry.route)
        if not recorded.endswith("/{path}"):
            return recorded
        # The last thing FastAPI saw was a mount: a mounted app may have routed further.
        return _selected(scope) or recorded
    return _selected(scope)


def _selected(scope: Any) -> Optional[str]:
    """The innermost route a router selected, under the mount paths in ``root_path``."""
    route = scope.get("route")
    if route is None:
        return None
    root = str(scope.get("root_path") or "").rstrip("/")
    if isinstance(route, Mount):
        return root + "/{path}"
    path_format = getattr(route, "path_format", None)
    if isinstance(path_format, str):
        return root + path_format or "/"
    return None

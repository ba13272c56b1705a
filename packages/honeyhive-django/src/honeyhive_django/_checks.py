"""Django system checks: the middleware is installed first, and ``HONEYHIVE`` is valid."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from honeyhive_django import _state

__all__ = ["MIDDLEWARE_PATH", "check_honeyhive"]

MIDDLEWARE_PATH = "honeyhive_django.middleware.HoneyHiveMiddleware"
_ALIASES = frozenset({MIDDLEWARE_PATH, "honeyhive_django.HoneyHiveMiddleware"})


def check_honeyhive(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W001 middleware missing, W002 not first, E001 invalid settings, W003 no tracer."""
    messages: list[checks.CheckMessage] = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if not any(entry in _ALIASES for entry in middleware):
        messages.append(
            checks.Warning(
                "HoneyHiveMiddleware is not in MIDDLEWARE: requests are not traced.",
                hint=f"Add {MIDDLEWARE_PATH!r} as the first entry of MIDDLEWARE.",
                id="honeyhive_django.W001",
            )
        )
    elif middleware[0] not in _ALIASES:
        messages.append(
            checks.Warning(
                "HoneyHiveMiddleware is not the first entry of MIDDLEWARE: responses made by "
                "the middleware before it (redirects, 403s, errors) are not traced correctly.",
                hint=f"Move {MIDDLEWARE_PATH!r} to the top of MIDDLEWARE.",
                id="honeyhive_django.W002",
            )
        )
    error = _state.settings_error()
    if error is not None:
        messages.append(
            checks.Error(
                f"Invalid HONEYHIVE setting: {error}",
                hint="Keys are HoneyHiveTracer.init parameter names or integration options "
                "(see the honeyhive-django README).",
                id="honeyhive_django.E001",
            )
        )
    tracer_error = _state.tracer_error()
    if tracer_error is not None:
        messages.append(
            checks.Warning(
                f"No HoneyHive tracer: {tracer_error}",
                hint="Set HH_API_KEY and HH_PROJECT, or put api_key/project in HONEYHIVE, or "
                "create a HoneyHiveTracer before Django starts.",
                id="honeyhive_django.W003",
            )
        )
    return messages

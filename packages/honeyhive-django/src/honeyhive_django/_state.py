"""The one place the integration keeps its process-wide state: settings and the tracer."""

from __future__ import annotations

import threading
from typing import Any, Optional

from honeyhive import HoneyHiveTracer, get_default_tracer
from honeyhive.http_server import RequestTracer, logger
from honeyhive_django._settings import IntegrationSettings, load

__all__ = [
    "configure",
    "configure_from_django",
    "get_tracer",
    "request_tracer",
    "settings_error",
    "state",
    "tracer_error",
]

_NAME = "django"


class _State:
    """Settings and tracers; replaced as a whole by :func:`configure` (no locks per request)."""

    __slots__ = ("built", "error", "fixed", "last", "settings", "tracer_error")

    def __init__(self) -> None:
        self.settings: Optional[IntegrationSettings] = None
        self.error: Optional[str] = None  # invalid settings (a system check error)
        self.tracer_error: Optional[str] = None  # the tracer could not be built (a warning)
        self.fixed: Optional[RequestTracer] = None  # a configured tracer: always this one
        self.built: Optional[HoneyHiveTracer] = None  # a tracer we built (we own it)
        self.last: Optional[RequestTracer] = None  # cache for the default tracer


state = _State()
_lock = threading.Lock()


def configure(raw: Any) -> None:
    """Read ``settings.HONEYHIVE`` and build the tracer (from ``AppConfig.ready``); never raises."""
    new = _State()
    try:
        new.settings = load(raw)
    except (ValueError, TypeError) as exc:
        new.error = str(exc)
        logger.warning("honeyhive_django: invalid HONEYHIVE setting: %s", exc)
    settings = new.settings
    if settings is not None:
        tracer: Optional[HoneyHiveTracer] = settings.tracer
        if tracer is None and (settings.tracer_kwargs or get_default_tracer() is None):
            try:
                tracer = HoneyHiveTracer(**settings.tracer_kwargs)
                new.built = tracer
            except (ValueError, TypeError) as exc:
                message = str(exc)
                if settings.tracer_kwargs:
                    new.error = message  # the user's own tracer settings are invalid
                else:
                    new.tracer_error = message  # nothing configured and no usable environment
                logger.warning("honeyhive_django: no tracer built: %s", message)
        if tracer is not None and (settings.tracer is not None or settings.tracer_kwargs):
            new.fixed = RequestTracer(tracer, settings.server, _NAME, _service())
    global state
    with _lock:
        state = new


def settings_error() -> Optional[str]:
    return state.error


def tracer_error() -> Optional[str]:
    return state.tracer_error


def request_tracer() -> Optional[RequestTracer]:
    """The request tracer for this request: the configured tracer, else the default tracer."""
    current = state
    fixed = current.fixed
    if fixed is not None:
        return fixed
    settings = current.settings
    if settings is None:
        if current.error is not None:
            return None  # invalid settings: untraced (the system check says why)
        configure_from_django()  # the middleware without the app in INSTALLED_APPS
        return request_tracer()
    tracer = get_default_tracer()
    if tracer is None:
        return None
    last = current.last
    if last is None or last.tracer is not tracer:
        last = current.last = RequestTracer(tracer, settings.server, _NAME, _service())
    return last


def _service() -> Optional[str]:
    """The Django project (``mysite`` for ``mysite.settings``): service.name unless the
    environment names one."""
    from django.conf import settings

    module = getattr(settings, "SETTINGS_MODULE", None) or ""
    return module.split(".")[0] or None


def configure_from_django() -> None:
    from django.conf import settings

    configure(getattr(settings, "HONEYHIVE", None))


def get_tracer() -> Optional[HoneyHiveTracer]:
    """The tracer requests are traced with: the configured or built one, else the default."""
    current = state
    if current.fixed is not None:
        return current.fixed.tracer
    return get_default_tracer()

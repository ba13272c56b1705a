"""HoneyHive tracing for Django: one SERVER span per request, under WSGI and ASGI.

::

    INSTALLED_APPS = [..., "honeyhive_django"]
    MIDDLEWARE = ["honeyhive_django.middleware.HoneyHiveMiddleware", ...]  # first
    HONEYHIVE = {"project": "my-project"}  # HoneyHiveTracer.init parameters + options

Add attributes to the request span from anywhere in a request with
:func:`honeyhive.enrich_request_span`.
"""

from __future__ import annotations

from typing import Optional

from honeyhive import HoneyHiveTracer
from honeyhive_django._version import __version__

__all__ = ["__version__", "get_tracer"]


def get_tracer() -> Optional[HoneyHiveTracer]:
    """The tracer requests are traced with (from ``settings.HONEYHIVE`` or built from the
    environment when the app registry was ready); the default tracer if none was configured;
    None when there is no tracer at all."""
    from honeyhive_django._state import get_tracer as current

    return current()

"""WSGI entry point of the docs service: ``gunicorn django_app.wsgi:application``."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.settings")

from demo_tracing import TraceWsgiRequests
from django.core.wsgi import get_wsgi_application

from django_app.tracing import tracer

# STAND-IN for honeyhive-django's middleware (see demo_tracing.py): one span per request.
application = TraceWsgiRequests(get_wsgi_application(), tracer)

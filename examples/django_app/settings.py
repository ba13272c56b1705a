"""Settings of the demo's Django project: no database, no apps, one view."""

from __future__ import annotations

SECRET_KEY = "demo-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "django_app.urls"
INSTALLED_APPS: list[str] = ["honeyhive_django"]
MIDDLEWARE: list[str] = ["honeyhive_django.middleware.HoneyHiveMiddleware"]
# The tracer honeyhive_django builds when the app registry is ready (HH_API_URL from the env);
# a caller's session (in its baggage) is allowed to carry over: the services trust each other.
HONEYHIVE = {
    "project": "demo-shop",
    "source": "demo",
    "allowed_baggage_keys": ["session_id"],
}
DATABASES: dict[str, object] = {}
USE_TZ = True

"""Settings shared by every honeyhive-django test (Django settings are process-global)."""

from __future__ import annotations

import os

SECRET_KEY = "test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "apps.django_project.urls"
USE_TZ = True
APPEND_SLASH = True
DATABASES: dict[str, object] = {}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "honeyhive_django",
]
MIDDLEWARE = [
    "honeyhive_django.middleware.HoneyHiveMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.django_project.middleware.fake_auth",
    "apps.django_project.middleware.alternate_urlconf",
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
LOGGING_CONFIG = None

# Under a real server the tracer is built from HONEYHIVE + the environment (HH_API_URL); in
# process the tests' capturing tracer is the default tracer, so nothing is configured here.
if os.environ.get("DJANGO_HH_REAL_SERVER"):
    HONEYHIVE = {
        "project": "django-app",
        # The shutdown tests hold everything until SIGTERM (HH_SCHEDULE_DELAY=30).
        "schedule_delay": float(os.environ.get("HH_SCHEDULE_DELAY", "0.1")),
        "capture_user": True,
    }
else:
    HONEYHIVE: dict[str, object] = {"capture_user": True}

"""Configure Django once for every honeyhive-django test module (settings are process-global)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.django_project.settings")
django.setup()

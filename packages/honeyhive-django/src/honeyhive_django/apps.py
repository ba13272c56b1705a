"""The Django app: reads ``settings.HONEYHIVE`` and builds the tracer once the registry is ready."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.signals import setting_changed

from honeyhive_django import _state
from honeyhive_django._checks import check_honeyhive

__all__ = ["HoneyHiveConfig"]


def _reconfigure(*, setting: str, value: Any, **kwargs: Any) -> None:
    if setting == "HONEYHIVE":  # override_settings(HONEYHIVE=...) in tests
        _state.configure(value)


class HoneyHiveConfig(AppConfig):
    """``INSTALLED_APPS += ["honeyhive_django"]``."""

    name = "honeyhive_django"
    verbose_name = "HoneyHive"
    default = True

    def ready(self) -> None:
        _state.configure_from_django()
        checks.register(check_honeyhive)
        setting_changed.connect(_reconfigure, dispatch_uid="honeyhive_django.settings")

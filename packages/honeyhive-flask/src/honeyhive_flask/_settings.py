"""Settings from ``app.config``: ``HONEYHIVE_<NAME>`` for the tracer and the integration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honeyhive.http_server import CALLABLE_OPTIONS, LIST_OPTIONS, SERVER_OPTIONS

__all__ = ["LIST_OPTIONS", "OPTION_NAMES", "split_config"]

#: The integration's own options (the arguments of ``ServerConfig.from_settings``).
OPTION_NAMES = frozenset(SERVER_OPTIONS)
_BOOL_OPTIONS = frozenset({"trust_incoming_context", "session_per_request"})
_PREFIX = "HONEYHIVE_"


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{key} must be true or false, got {value!r}")


def _option(name: str, key: str, value: Any) -> Any:
    if name in LIST_OPTIONS and isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if name in _BOOL_OPTIONS:
        return _as_bool(key, value)
    if name in CALLABLE_OPTIONS:
        return _callable(key, value)
    return value


def _callable(key: str, value: Any) -> Any:
    """A hook or predicate: the callable itself, or a dotted path to it (from config files)."""
    if isinstance(value, str):
        from werkzeug.utils import import_string

        try:
            value = import_string(value)
        except ImportError as exc:
            raise ValueError(f"{key}: cannot import {value!r} ({exc})") from None
    if not callable(value):
        raise ValueError(f"{key} must be a callable or a dotted path to one")
    return value


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(tracer settings, integration options)`` from the ``HONEYHIVE_*`` keys of a config.

    ``HONEYHIVE_API_KEY`` -> ``api_key`` for ``HoneyHiveTracer.init``;
    ``HONEYHIVE_CAPTURE_REQUEST_HEADERS`` -> the ``capture_request_headers`` option (a list, or a
    comma-separated string). ``None`` values count as unset.
    """
    tracer: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in config.items():
        if not key.startswith(_PREFIX) or value is None:
            continue
        name = key[len(_PREFIX) :].lower()
        if name in OPTION_NAMES:
            options[name] = _option(name, key, value)
        else:
            tracer[name] = value
    return tracer, options

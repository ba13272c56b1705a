"""Reading ``settings.HONEYHIVE``: tracer parameters apart from integration options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from django.utils.module_loading import import_string

from honeyhive import HoneyHiveTracer
from honeyhive.config.models import EvaluationConfig, SessionConfig, TracerConfig
from honeyhive.http_server import CALLABLE_OPTIONS, LIST_OPTIONS, SERVER_OPTIONS, ServerConfig

__all__ = ["INTEGRATION_OPTIONS", "IntegrationSettings", "TRACER_PARAMETERS", "load"]

#: Every key ``HONEYHIVE`` accepts besides the tracer's own parameters.
INTEGRATION_OPTIONS = frozenset({*SERVER_OPTIONS, "tracer", "capture_user"})
#: ``HoneyHiveTracer.init`` parameters (and the other tracer settings) accepted in ``HONEYHIVE``.
TRACER_PARAMETERS = frozenset(
    {
        *TracerConfig.model_fields,
        *SessionConfig.model_fields,
        *EvaluationConfig.model_fields,
        "link_carrier",
    }
)


@dataclass(frozen=True)
class IntegrationSettings:
    """``settings.HONEYHIVE``, validated."""

    server: ServerConfig
    tracer_kwargs: dict[str, Any] = field(default_factory=dict)
    tracer: Optional[HoneyHiveTracer] = None  # a tracer the user built (``"tracer"`` key)
    capture_user: bool = False


def _callable(name: str, value: Any) -> Optional[Callable[..., Any]]:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ValueError(f"HONEYHIVE[{name!r}]: cannot import {value!r} ({exc})") from None
    if not callable(value):
        raise ValueError(f"HONEYHIVE[{name!r}] must be a callable or a dotted path to one")
    return value  # type: ignore[no-any-return]


def _sequence(name: str, value: Any) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"HONEYHIVE[{name!r}] must be a list of strings") from None
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"HONEYHIVE[{name!r}] must be a list of strings")
    return items


def load(raw: Any) -> IntegrationSettings:
    """Validate ``settings.HONEYHIVE`` (a dict; None or missing means all defaults).

    Raises ValueError with a message naming the offending key.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"HONEYHIVE must be a dict, got {type(raw).__name__}")
    unknown = sorted(str(k) for k in raw if k not in INTEGRATION_OPTIONS | TRACER_PARAMETERS)
    if unknown:
        raise ValueError(
            f"HONEYHIVE has unknown key(s) {', '.join(unknown)}: use HoneyHiveTracer.init "
            "parameter names or the integration options"
        )
    options: dict[str, Any] = {}
    for name in SERVER_OPTIONS:
        if name not in raw:
            continue
        value = raw[name]
        if name in CALLABLE_OPTIONS:
            value = _callable(name, value)
        elif name in LIST_OPTIONS:
            value = _sequence(name, value)
        elif value is not None and not isinstance(value, bool):
            raise ValueError(f"HONEYHIVE[{name!r}] must be True or False")
        if value is not None:
            options[name] = value
    server = ServerConfig.from_settings(**options)
    tracer = raw.get("tracer")
    if isinstance(tracer, str):
        try:
            tracer = import_string(tracer)
        except ImportError as exc:
            raise ValueError(f"HONEYHIVE['tracer']: cannot import {tracer!r} ({exc})") from None
    if tracer is not None and not isinstance(tracer, HoneyHiveTracer):
        raise ValueError("HONEYHIVE['tracer'] must be a HoneyHiveTracer or a dotted path to one")
    tracer_kwargs = {k: v for k, v in raw.items() if k in TRACER_PARAMETERS}
    if tracer is not None and tracer_kwargs:
        raise ValueError(
            "HONEYHIVE: give either 'tracer' or tracer parameters "
            f"({', '.join(sorted(tracer_kwargs))}), not both"
        )
    capture_user = raw.get("capture_user", False)  # a user id is personal data: opt in
    if not isinstance(capture_user, bool):
        raise ValueError("HONEYHIVE['capture_user'] must be True or False")
    return IntegrationSettings(server, tracer_kwargs, tracer, capture_user)

"""The published SDK's settings: honoured under our names, or said once to have no effect here.

The published ``HoneyHiveTracer`` accepts any keyword and ignores what it does not know. Here a
keyword is either one of our settings (a ``ValueError`` names a typo), one of the published
SDK's that we honour (translated below), or one of the published SDK's that has no meaning
here: that one is accepted, and a WARNING says once per process what it was and why nothing
happens, never an error and never silence.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from honeyhive._compat._dotdict import DotDict
from honeyhive._compat._instrumentors import check_instrumentors
from honeyhive._diagnostics import logger
from honeyhive._http import redact_url

__all__ = [
    "PUBLISHED_CONFIG_FIELDS",
    "PUBLISHED_ENV_VARS",
    "PUBLISHED_ONLY",
    "Published",
    "carried_settings",
    "forget_warnings",
    "settings_view",
    "translate",
    "warn_once",
]

#: Keywords of the published SDK that take effect here under another name.
_RENAMED = {
    "verify_ssl": "verify_tls",
    "flush_interval": "schedule_delay",
    "batch_size": "max_export_batch_size",
}

#: Keywords of the published SDK that win over ours when both are given: everything this SDK
#: sends (spans, session starts, events) is ingestion, which the published SDK sends with
#: ``ingestion_api_key`` when it has one, ``api_key`` otherwise.
_PREFERRED = {"ingestion_api_key": "api_key"}

_OTLP_PROTOCOLS = {"http/json": "json", "http/protobuf": "protobuf"}

#: Keywords of the published SDK that have no effect here, and why (the WARNING says it).
PUBLISHED_ONLY: dict[str, str] = {
    "requests_session": "spans are sent by the SDK's own HTTP client, with keep-alive",
    "span_name_filters": "filter spans with a processor plug-in (docs/plugins.md)",
    "max_attributes": "use capture_max_attributes",
    "max_events": "span events are bounded by OpenTelemetry's own limits",
    "max_links": "span links are bounded by OpenTelemetry's own limits",
    "max_span_size": "use capture_max_length and capture_max_items",
    "preserve_core_attributes": "the SDK's own attributes always have room on a span",
    "cache_enabled": "there is no attribute cache to tune",
    "cache_max_size": "there is no attribute cache to tune",
    "cache_ttl": "there is no attribute cache to tune",
    "cache_cleanup_interval": "there is no attribute cache to tune",
    "otlp_enabled": "choose exporters with exporters= (HH_EXPORTERS)",
    "otlp_endpoint": "use server_url, or the 'otlp' exporter plug-in",
    "otlp_headers": "use the 'otlp' exporter plug-in's OTEL_EXPORTER_OTLP_HEADERS",
    "timeout": "use export_timeout",
    "max_connections": "the SDK keeps its own connections",
    "max_keepalive_connections": "the SDK keeps its own connections",
    "keepalive_expiry": "the SDK keeps its own connections",
    "pool_timeout": "the SDK keeps its own connections",
    "rate_limit_calls": "the SDK follows the backend's Retry-After instead",
    "rate_limit_window": "the SDK follows the backend's Retry-After instead",
    "max_retries": "retries follow the OTLP rules within export_timeout",
    "http_proxy": "set the standard HTTP_PROXY variable",
    "https_proxy": "set the standard HTTPS_PROXY variable",
    "no_proxy": "set the standard NO_PROXY variable",
    "follow_redirects": "the API does not redirect",
    "experiment_id": "experiment harness settings are not part of tracing here",
    "experiment_name": "experiment harness settings are not part of tracing here",
    "experiment_variant": "experiment harness settings are not part of tracing here",
    "experiment_group": "experiment harness settings are not part of tracing here",
    "experiment_metadata": "experiment harness settings are not part of tracing here",
}

_BASE_FIELDS = ("api_key", "ingestion_api_key", "project", "server_url", "test_mode", "verbose")

#: The fields of the published SDK's config objects (``honeyhive.config.models``), by class:
#: those that ours do not have are kept apart by ours and given to the tracer as keywords.
PUBLISHED_CONFIG_FIELDS: dict[str, frozenset[str]] = {
    "TracerConfig": frozenset(
        {
            *_BASE_FIELDS,
            *("session_name", "source", "session_id", "inputs", "link_carrier"),
            *("disable_http_tracing", "disable_batch", "disable_tracing", "requests_session"),
            *("is_evaluation", "run_id", "dataset_id", "datapoint_id"),
            *("span_name_filters", "max_attributes", "max_events", "max_links", "max_span_size"),
            "preserve_core_attributes",
            *("cache_enabled", "cache_max_size", "cache_ttl", "cache_cleanup_interval"),
        }
    ),
    "SessionConfig": frozenset(
        {*_BASE_FIELDS, "session_id", "inputs", "link_carrier", "skip_backend_session_creation"}
    ),
    "EvaluationConfig": frozenset(
        {*_BASE_FIELDS, "is_evaluation", "run_id", "dataset_id", "datapoint_id"}
    ),
}

#: ``HH_*`` variables the published SDK reads that this SDK does not (beside the ones it reads
#: too): what ``warn_unknown_env`` says about each.
PUBLISHED_ENV_VARS = frozenset(
    {
        "HH_DEBUG_MODE",
        "HH_OTLP_ENABLED",
        "HH_OTLP_PROTOCOL",
        "HH_OTLP_ENDPOINT",
        "HH_OTLP_HEADERS",
        "HH_BATCH_SIZE",
        "HH_FLUSH_INTERVAL",
        "HH_API_TIMEOUT",
        "HH_MAX_CONNECTIONS",
        "HH_MAX_KEEPALIVE_CONNECTIONS",
        "HH_KEEPALIVE_EXPIRY",
        "HH_POOL_TIMEOUT",
        "HH_RATE_LIMIT_CALLS",
        "HH_RATE_LIMIT_WINDOW",
        "HH_MAX_RETRIES",
        "HH_HTTP_PROXY",
        "HH_HTTPS_PROXY",
        "HH_NO_PROXY",
        "HH_EXPERIMENT_ID",
        "HH_EXPERIMENT_NAME",
        "HH_EXPERIMENT_VARIANT",
        "HH_EXPERIMENT_GROUP",
        "HH_EXPERIMENT_METADATA",
        "HH_DATA_PLANE_API_KEY",
        "HH_CACHE_ENABLED",
        "HH_CACHE_MAX_SIZE",
        "HH_CACHE_TTL",
        "HH_CACHE_CLEANUP_INTERVAL",
        "HH_MAX_ATTRIBUTES",
        "HH_MAX_EVENTS",
        "HH_MAX_LINKS",
        "HH_MAX_SPAN_SIZE",
        "HH_PRESERVE_CORE_ATTRIBUTES",
        "HH_EXPORT_TIMEOUT_SECONDS",
    }
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_warned: set[str] = set()
_lock = threading.Lock()


def warn_once(key: str, message: str, *args: Any) -> None:
    """A WARNING, the first time ``key`` comes up in this process."""
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message, *args)


def forget_warnings() -> None:
    """Say every warning again (``HoneyHiveTracer.reset()``)."""
    with _lock:
        _warned.clear()


@dataclass(frozen=True)
class Published:
    """The published SDK's settings that are set up apart from ours."""

    #: ``init(instrumentors=[...])``, checked: each is instrumented with the tracer's provider.
    instrumentors: list[Any]
    #: The session given by ``session_id=`` exists already: no start is sent for it.
    skip_backend_session_creation: bool


def translate(
    given: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], Published]:
    """The keywords of our settings, and the published SDK's behaviours to set up apart from
    them (``instrumentors``, ``skip_backend_session_creation``).

    Raises ``ValueError`` for a value of a honoured keyword that cannot be (an unknown OTLP
    protocol, instrumentors that are not instrumentors).
    """
    ours: dict[str, Any] = {}
    apart: dict[str, Any] = {}
    for name, value in given.items():
        if name in _PREFERRED:
            if value is not None:
                ours[_PREFERRED[name]] = value
        elif name in _RENAMED:
            target = _RENAMED[name]
            if target in given:  # our own spelling, given as well, wins
                continue
            if value is not None:
                ours[target] = value
        elif name == "otlp_protocol":
            if value is not None and "otlp_format" not in given:
                ours["otlp_format"] = _otlp_format(value)
        elif name == "disable_tracing":
            apart["disable_tracing"] = _flag(value, name)
        elif name in ("instrumentors", "skip_backend_session_creation"):
            apart[name] = value
        elif name in PUBLISHED_ONLY:
            if value is not None:
                warn_once(
                    f"setting:{name}",
                    "honeyhive: %s= is a setting of the published honeyhive SDK that has no "
                    "effect here (%s); it is ignored",
                    name,
                    PUBLISHED_ONLY[name],
                )
        elif not (name in _PREFERRED.values() and name in ours):
            ours[name] = value
    if "disable_tracing" not in apart:
        raw = environ.get("HH_DISABLE_TRACING", "")
        apart["disable_tracing"] = raw.strip().lower() in _TRUE
    if apart["disable_tracing"]:
        ours["exporters"] = []  # nothing is sent: no spans, no sessions, no events
    published = Published(
        instrumentors=check_instrumentors(apart.get("instrumentors")),
        skip_backend_session_creation=_flag(
            apart.get("skip_backend_session_creation"), "skip_backend_session_creation"
        ),
    )
    return ours, published


#: What ``tracer.config`` shows (never the API key).
_SHOWN_SETTINGS = (
    "project",
    "source",
    "session_name",
    "server_url",
    "session_id",
    "disable_http_tracing",
    "disable_batch",
    "verbose",
    "test_mode",
    "inputs",
    "is_evaluation",
    "run_id",
    "dataset_id",
    "datapoint_id",
    "exporters",
    "export_timeout",
    "exit_timeout",
)


def carried_settings(*objects: Any) -> dict[str, Any]:
    """The published SDK's fields the config objects kept apart (see ``PUBLISHED_CONFIG_FIELDS``),
    later objects winning, None left out: keywords for :func:`translate`."""
    carried: dict[str, Any] = {}
    for obj in objects:
        kept = getattr(obj, "_published", None)
        if isinstance(obj, Mapping):  # config given as a dict of TracerConfig fields
            from honeyhive.config.models import TracerConfig

            theirs = PUBLISHED_CONFIG_FIELDS["TracerConfig"] - set(TracerConfig.model_fields)
            kept = {k: v for k, v in obj.items() if k in theirs}
        if isinstance(kept, dict):
            carried.update((k, v) for k, v in kept.items() if v is not None)
    return carried


def settings_view(settings: Any) -> DotDict:
    """``tracer.config``: the resolved settings as the published SDK's ``DotDict`` (a copy,
    printed and logged freely: no API key, and the server URL without credentials)."""
    shown = {
        name: getattr(settings, name)
        for name in _SHOWN_SETTINGS
        if getattr(settings, name, None) is not None
    }
    if isinstance(shown.get("server_url"), str):
        shown["server_url"] = redact_url(shown["server_url"])
    return DotDict(shown)


def _otlp_format(value: Any) -> str:
    if value not in _OTLP_PROTOCOLS:
        raise ValueError(
            f"otlp_protocol must be one of {', '.join(_OTLP_PROTOCOLS)}, got {value!r}"
        )
    return _OTLP_PROTOCOLS[value]


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value

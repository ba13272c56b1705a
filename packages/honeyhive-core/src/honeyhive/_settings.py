"""Resolve a tracer's settings from arguments, config objects, the environment and defaults.

One function, :func:`resolve`, turns what the user gave into a frozen :class:`Settings`; every
validation error is a ``ValueError`` that names the setting and the environment variable behind it.
"""

from __future__ import annotations

import difflib
import importlib
import ipaddress
import math
import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, ValidationError

from honeyhive._diagnostics import logger
from honeyhive._http import redact_url
from honeyhive.config.models import EvaluationConfig, SessionConfig, TracerConfig

__all__ = [
    "DEFAULT_SERVER_URL",
    "ENV_VARS",
    "OTHER_ENV_VARS",
    "Settings",
    "default_service_name",
    "is_loopback_url",
    "resolve",
    "warn_unknown_env",
]

DEFAULT_SERVER_URL = "https://api.dp1.us.honeyhive.ai"

#: Environment variables read for each setting, first match wins.
ENV_VARS: dict[str, tuple[str, ...]] = {
    # What this SDK sends is ingestion: the published SDK's ingestion key comes first.
    "api_key": ("HH_INGESTION_API_KEY", "HH_API_KEY", "HONEYHIVE_API_KEY"),
    "project": ("HH_PROJECT",),
    "source": ("HH_SOURCE",),
    "session_name": ("HH_SESSION_NAME",),
    "server_url": ("HH_API_URL", "HH_SERVER_URL", "HONEYHIVE_SERVER_URL"),
    "test_mode": ("HH_TEST_MODE",),
    "disable_http_tracing": ("HH_DISABLE_HTTP_TRACING",),
    "disable_batch": ("HH_DISABLE_BATCH",),
    "verbose": ("HH_VERBOSE",),
    "exporters": ("HH_EXPORTERS",),
    "processors": ("HH_PROCESSORS",),
    "propagators": ("HH_PROPAGATORS",),
    "otlp_format": ("HH_OTLP_FORMAT",),
    "max_queue_size": ("HH_MAX_QUEUE_SIZE",),
    "max_export_batch_size": ("HH_MAX_EXPORT_BATCH_SIZE",),
    "schedule_delay": ("HH_SCHEDULE_DELAY",),
    "max_queue_bytes": ("HH_MAX_QUEUE_BYTES",),
    "spool_dir": ("HH_SPOOL_DIR",),
    "spool_max_bytes": ("HH_SPOOL_MAX_BYTES",),
    "export_timeout": ("HH_EXPORT_TIMEOUT",),
    "exit_timeout": ("HH_EXIT_TIMEOUT",),
    "capture_max_length": ("HH_CAPTURE_MAX_LENGTH",),
    "propagate_thread_context": ("HH_PROPAGATE_THREAD_CONTEXT",),
    "verify_tls": ("HH_VERIFY_TLS", "HH_VERIFY_SSL"),
    "set_global_provider": ("HH_SET_GLOBAL_PROVIDER",),
    "baggage_span_keys": ("HH_BAGGAGE_SPAN_KEYS",),
    "capture_max_items": ("HH_CAPTURE_MAX_ITEMS",),
    "capture_max_attributes": ("HH_CAPTURE_MAX_ATTRIBUTES",),
    "mask": ("HH_MASK",),
    "redact_keys": ("HH_REDACT_KEYS",),
    "redact_headers": ("HH_REDACT_HEADERS",),
    "redact_query_params": ("HH_REDACT_QUERY_PARAMS",),
}

# -- HH_* variables that are not tracer settings, and typos ------------------------------------

#: ``HH_*`` variables read elsewhere: the integrations' server options
#: (``honeyhive.http_server``) and the local collector's commands (``honeyhive serve``/``traces``).
OTHER_ENV_VARS = frozenset(
    {
        "HH_EXCLUDED_URLS",
        "HH_TRUST_INCOMING_CONTEXT",
        "HH_ALLOWED_BAGGAGE_KEYS",
        "HH_COLLECTOR_DB",
        "HH_COLLECTOR_API_KEY",
        "HH_COLLECTOR_PORT",
        "HH_COLLECTOR_PRICES",
        "HH_DISABLE_TRACING",  # the published SDK's, honoured (honeyhive._compat)
    }
)
_warned_env: set[str] = set()


def warn_unknown_env(environ: Mapping[str, str]) -> None:
    """One WARNING per unknown ``HH_*`` variable (per process), naming the closest known one:
    a typo in a variable's name is otherwise ignored without a word."""
    from honeyhive._compat import PUBLISHED_ENV_VARS

    known = sorted({var for names in ENV_VARS.values() for var in names} | OTHER_ENV_VARS)
    for name in sorted(environ):
        if not name.startswith("HH_") or name in known or name in _warned_env:
            continue
        _warned_env.add(name)
        if name in PUBLISHED_ENV_VARS:
            logger.warning(
                "honeyhive: the environment variable %s is a setting of the published honeyhive "
                "SDK that has no effect here and is ignored (see docs/migration.md)",
                name,
            )
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        logger.warning(
            "honeyhive: the environment variable %s is not a HoneyHive setting and is ignored%s",
            name,
            f" (did you mean {close[0]}?)" if close else "",
        )


def default_service_name() -> str:
    """``service.name`` when neither ``OTEL_SERVICE_NAME`` nor ``OTEL_RESOURCE_ATTRIBUTES``
    names one and no integration knows the app: the program's name (``worker`` for
    ``worker.py``), which tells one script from another better than the project does."""
    return _default_session_name()


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LIST_FIELDS = frozenset({"exporters", "processors", "propagators", "baggage_span_keys"})
_LIST_FIELDS |= {"redact_keys", "redact_headers", "redact_query_params"}


@dataclass(frozen=True)
class Settings:
    """Every setting of one tracer, resolved and validated."""

    api_key: Optional[SecretStr]
    project: Optional[str]
    source: str
    session_name: str
    server_url: str
    session_id: Optional[str]
    disable_http_tracing: bool
    disable_batch: bool
    verbose: bool
    test_mode: bool
    exporters: tuple[str, ...]
    processors: tuple[str, ...]
    propagators: tuple[str, ...]
    otlp_format: str
    max_queue_size: int
    max_export_batch_size: int
    schedule_delay: float
    max_queue_bytes: int
    spool_dir: Optional[str]
    spool_max_bytes: int
    export_timeout: float
    exit_timeout: float
    capture_max_length: int
    propagate_thread_context: bool
    verify_tls: bool
    set_global_provider: bool
    baggage_span_keys: tuple[str, ...]
    inputs: Optional[dict[str, Any]] = None
    link_carrier: Optional[dict[str, Any]] = None
    is_evaluation: bool = False
    run_id: Optional[str] = None
    dataset_id: Optional[str] = None
    datapoint_id: Optional[str] = None
    session_id_given: bool = field(default=False)
    # What is captured and what never leaves the process (the redact_* hold the user's edits).
    capture_max_items: int = 32
    capture_max_attributes: int = 128
    mask: Optional[Callable[[str, Any], Any]] = None
    redact_keys: tuple[str, ...] = ()
    redact_headers: tuple[str, ...] = ()
    redact_query_params: tuple[str, ...] = ()
    #: The session name was chosen (argument, config, HH_SESSION_NAME), not defaulted: every
    #: session this tracer starts, per-request ones included, is named so.
    session_name_given: bool = field(default=False)

    def __repr__(self) -> str:  # the API key is a SecretStr; show the rest
        return (
            f"Settings(project={self.project!r}, source={self.source!r}, "
            f"server_url={redact_url(self.server_url)!r})"
        )

    @property
    def evaluation(self) -> dict[str, str]:
        """Evaluation identifiers that are set (empty outside an evaluation run)."""
        if not self.is_evaluation:
            return {}
        items = {
            "run_id": self.run_id,
            "dataset_id": self.dataset_id,
            "datapoint_id": self.datapoint_id,
        }
        return {k: v for k, v in items.items() if v}

    def as_config(self) -> TracerConfig:
        """The resolved settings as a public :class:`TracerConfig` (handed to plug-in factories)."""
        values = {name: getattr(self, name) for name in TracerConfig.model_fields}
        for name in _LIST_FIELDS:
            values[name] = list(values[name])
        return TracerConfig.model_construct(**values)


def _setting_name(name: str) -> str:
    env = ENV_VARS.get(name)
    return f"{name!r} (environment variable {env[0]})" if env else repr(name)


def _parse_env(name: str, var: str, raw: str) -> Any:
    annotation = TracerConfig.model_fields[name].annotation
    if name in _LIST_FIELDS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if annotation is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{var} must be true or false, got {raw!r}")
    if annotation is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{var} must be an integer, got {raw!r}") from None
    if annotation is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{var} must be a number, got {raw!r}") from None
    return raw


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, names in ENV_VARS.items():
        for var in names:
            raw = environ.get(var)
            if raw is None:
                continue
            if name == "api_key" and not raw.strip():
                break
            found[name] = _parse_env(name, var, raw)
            break
    return found


def _set_fields(model: Optional[BaseModel]) -> dict[str, Any]:
    if model is None:
        return {}
    return {name: getattr(model, name) for name in model.model_fields_set}


def _default_session_name() -> str:
    main = sys.argv[0] if sys.argv and sys.argv[0] else ""
    base = os.path.basename(main)
    if base.endswith(".py"):
        base = base[:-3]
    if base == "__main__":  # python -m package: the package (uvicorn, gunicorn, django)
        base = os.path.basename(os.path.dirname(main))
    return base if base and base not in ("-c", "-m") else "python"


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (no API key is needed there)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validate_server_url(url: str) -> str:
    where = "(set it with server_url= or the HH_API_URL environment variable)"
    stripped = url.strip()
    parts = urlsplit(stripped)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"server_url must be an http:// or https:// URL, got {redact_url(url)!r} {where}"
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in stripped):
        raise ValueError(
            f"server_url must not contain spaces or control characters such as a newline, got "
            f"{redact_url(stripped)!r} {where}"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ValueError(
            f"server_url has an invalid port (1 to 65535), got {redact_url(stripped)!r} {where}"
        )
    return stripped.rstrip("/")


#: Seconds settings: finite, and no longer than a day (a wait longer than that is a mistake,
#: and the platform's thread waits cannot take much more).
_SECONDS_SETTINGS = ("schedule_delay", "export_timeout", "exit_timeout")
_MAX_SECONDS = 86400.0


def _validate_seconds(name: str, value: float) -> None:
    if not math.isfinite(value) or value > _MAX_SECONDS:
        raise ValueError(
            f"invalid HoneyHive setting {_setting_name(name)}: must be a finite number of "
            f"seconds, at most {_MAX_SECONDS:.0f} (one day), got {value!r}"
        )


def _resolve_mask(value: Any) -> Optional[Callable[[str, Any], Any]]:
    """The mask hook: a callable, or 'package.module.function' / 'package.module:function'."""
    if value is None or callable(value):
        return value  # type: ignore[no-any-return]
    path = str(value).strip()
    try:
        hook = _import_object(path)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(
            f"invalid HoneyHive setting {_setting_name('mask')}: cannot import {path!r} ({exc})"
        ) from None
    if not callable(hook):
        raise ValueError(
            f"invalid HoneyHive setting {_setting_name('mask')}: {path!r} is not callable"
        )
    return hook  # type: ignore[no-any-return]


def _import_object(path: str) -> Any:
    """``package.module:name`` or ``package.module.name`` (the longest importable module)."""
    module_name, sep, attributes = path.partition(":")
    if sep:
        target: Any = importlib.import_module(module_name)
        for name in attributes.split("."):
            target = getattr(target, name)
        return target
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            if split == 1:
                raise
            continue
        for name in parts[split:]:
            target = getattr(target, name)
        return target
    raise ValueError("expected a dotted path such as 'myapp.privacy.mask'")


def _validate_redaction_edits(tracer: TracerConfig) -> None:
    """Each redact_* list edits its defaults; a bad entry is an error here, not at first use."""
    from honeyhive._http import DEFAULT_REDACT_HEADERS, DEFAULT_REDACT_QUERY_PARAMS
    from honeyhive._spans import DEFAULT_REDACT_KEYS, edit_names

    for name, defaults in (
        ("redact_keys", DEFAULT_REDACT_KEYS),
        ("redact_headers", DEFAULT_REDACT_HEADERS),
        ("redact_query_params", DEFAULT_REDACT_QUERY_PARAMS),
    ):
        edits = getattr(tracer, name)
        if edits:
            edit_names(defaults, edits, _setting_name(name))


def _validate_session_id(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(
            f"session_id must be a UUID such as '550e8400-e29b-41d4-a716-446655440000', "
            f"got {value!r}"
        ) from None


def resolve(
    config: Optional[TracerConfig | Mapping[str, Any]],
    session_config: Optional[SessionConfig],
    evaluation_config: Optional[EvaluationConfig],
    explicit: Mapping[str, Any],
    environ: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Merge the layers (explicit > config objects > environment > defaults) and validate."""
    if isinstance(config, Mapping):  # a plain dict of TracerConfig fields is accepted too
        config = _model(TracerConfig, dict(config))
    if config is not None and not isinstance(config, TracerConfig):
        raise TypeError(f"config must be a TracerConfig, got {type(config).__name__}")
    for arg, cls in (("session_config", SessionConfig), ("evaluation_config", EvaluationConfig)):
        value = session_config if arg == "session_config" else evaluation_config
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"{arg} must be a {cls.__name__}, got {type(value).__name__}")

    known = set(TracerConfig.model_fields) | set(SessionConfig.model_fields)
    known |= set(EvaluationConfig.model_fields)
    unknown = sorted(set(explicit) - known)
    if unknown:
        hints = [difflib.get_close_matches(name, sorted(known), n=1) for name in unknown]
        named = [f"{n} (did you mean {h[0]}?)" if h else n for n, h in zip(unknown, hints)]
        raise ValueError(f"unknown setting(s) for HoneyHiveTracer: {', '.join(named)}")

    if environ is None:
        warn_unknown_env(os.environ)
    merged: dict[str, Any] = {}
    merged.update(_from_env(os.environ if environ is None else environ))
    merged.update(_set_fields(config))
    merged.update(_set_fields(evaluation_config))
    merged.update(_set_fields(session_config))
    merged.update(explicit)

    session_given = merged.get("session_id") is not None
    tracer_values = {k: v for k, v in merged.items() if k in TracerConfig.model_fields}
    if isinstance(tracer_values.get("api_key"), str):
        tracer_values["api_key"] = SecretStr(tracer_values["api_key"])
    tracer = _model(TracerConfig, tracer_values)
    session = _model(
        SessionConfig, {k: v for k, v in merged.items() if k in SessionConfig.model_fields}
    )
    evaluation = _model(
        EvaluationConfig,
        {k: v for k, v in merged.items() if k in EvaluationConfig.model_fields},
    )

    server_url = _validate_server_url(tracer.server_url or DEFAULT_SERVER_URL)
    session_id = _validate_session_id(tracer.session_id) if tracer.session_id else None
    api_key = tracer.api_key if tracer.api_key and tracer.api_key.get_secret_value() else None
    exporters = tuple(tracer.exporters if tracer.exporters is not None else ["honeyhive"])
    needs_key = "honeyhive" in exporters and not tracer.test_mode
    if needs_key and api_key is None and not is_loopback_url(server_url):
        from honeyhive._compat import MissingApiKeyError

        raise MissingApiKeyError(
            "project",
            f" (needed to send traces to {redact_url(server_url)}; or use test_mode=True, or "
            "a loopback server_url such as a local collector)",
        )
    if tracer.max_export_batch_size > tracer.max_queue_size:
        raise ValueError("max_export_batch_size must not exceed max_queue_size")
    for name in _SECONDS_SETTINGS:
        _validate_seconds(name, getattr(tracer, name))
    _validate_redaction_edits(tracer)
    mask = _resolve_mask(tracer.mask)
    is_evaluation = _is_evaluation(evaluation, merged.get("is_evaluation") is not None)

    return Settings(
        api_key=api_key,
        project=tracer.project or None,
        source=tracer.source,
        session_name=tracer.session_name or _default_session_name(),
        server_url=server_url,
        session_id=session_id,
        disable_http_tracing=tracer.disable_http_tracing,
        disable_batch=tracer.disable_batch,
        verbose=tracer.verbose,
        test_mode=tracer.test_mode,
        exporters=exporters,
        processors=tuple(tracer.processors or ()),
        propagators=tuple(
            tracer.propagators if tracer.propagators is not None else ["tracecontext", "baggage"]
        ),
        otlp_format=tracer.otlp_format,
        max_queue_size=tracer.max_queue_size,
        max_export_batch_size=tracer.max_export_batch_size,
        schedule_delay=tracer.schedule_delay,
        max_queue_bytes=tracer.max_queue_bytes,
        spool_dir=tracer.spool_dir or None,
        spool_max_bytes=tracer.spool_max_bytes,
        export_timeout=tracer.export_timeout,
        exit_timeout=tracer.exit_timeout,
        capture_max_length=tracer.capture_max_length,
        propagate_thread_context=tracer.propagate_thread_context,
        verify_tls=tracer.verify_tls,
        set_global_provider=tracer.set_global_provider,
        baggage_span_keys=tuple(tracer.baggage_span_keys or ()),
        inputs=session.inputs,
        link_carrier=session.link_carrier,
        is_evaluation=is_evaluation,
        run_id=evaluation.run_id,
        dataset_id=evaluation.dataset_id,
        datapoint_id=evaluation.datapoint_id,
        session_id_given=session_given,
        capture_max_items=tracer.capture_max_items,
        capture_max_attributes=tracer.capture_max_attributes,
        mask=mask,
        redact_keys=tuple(tracer.redact_keys or ()),
        redact_headers=tuple(tracer.redact_headers or ()),
        redact_query_params=tuple(tracer.redact_query_params or ()),
        session_name_given=tracer.session_name is not None,
    )


_ModelT = Any

_EVALUATION_IDS = ("run_id", "dataset_id", "datapoint_id")


def _is_evaluation(evaluation: EvaluationConfig, given: bool) -> bool:
    """``is_evaluation``; when it is not given, the three ids given together make an
    evaluation run (the published SDK's rule). Ids that make none are said, once, to do
    nothing: never dropped in silence."""
    if evaluation.is_evaluation:
        return True
    ids = [name for name in _EVALUATION_IDS if getattr(evaluation, name)]
    if len(ids) == len(_EVALUATION_IDS) and not given:
        return True
    if ids:
        from honeyhive._compat import warn_once

        warn_once(
            "setting:evaluation-ids",
            "honeyhive: %s= set without an evaluation run has no effect; give is_evaluation=True "
            "(or run_id, dataset_id and datapoint_id together) to put the ids on the session "
            "and its spans",
            "=, ".join(ids),
        )
    return False


def _model(cls: Callable[..., _ModelT], values: dict[str, Any]) -> _ModelT:
    try:
        return cls(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"])
            problems.append(f"{_setting_name(name)}: {error['msg']}")
        raise ValueError("invalid HoneyHive setting " + "; ".join(problems)) from None

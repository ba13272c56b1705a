"""``honeyhive doctor``: what the SDK would do here, and whether the backend answers.

Four parts: the configuration a tracer built now would resolve (environment and defaults, with
the API key masked), the plug-ins and integrations found through entry points (with the
distribution and version that provides each, and whether it imports), one real request to the
configured backend with the configured key, and one span with its session start sent through the
SDK itself, with what each exporter and the API channel delivered or lost (refusals counted
apart from network errors). The exit status is 1 if any of it is a problem.
The API key never appears in the output: at most its first characters, and every line is
scrubbed of it before it is printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from importlib import metadata
from typing import Any, Optional

__all__ = ["mask", "register"]

_SECRET_ENVS = (
    "HH_API_KEY",
    "HH_INGESTION_API_KEY",
    "HONEYHIVE_API_KEY",
    "HH_DATA_PLANE_API_KEY",
    "HH_COLLECTOR_API_KEY",
)
_KINDS = (("exporters", "exporter"), ("processors", "processor"), ("propagators", "propagator"))
_INTEGRATIONS = "honeyhive.integrations"
_EXTRA = ("starlette", "uvicorn", "opentelemetry-proto")
_SHOWN = (
    "server_url",
    "api_key",
    "project",
    "source",
    "session_name",
    "exporters",
    "processors",
    "propagators",
    "otlp_format",
    "test_mode",
    "disable_http_tracing",
    "disable_batch",
    "verbose",
    "max_queue_size",
    "max_export_batch_size",
    "schedule_delay",
    "export_timeout",
    "exit_timeout",
    "spool_dir",
    "verify_tls",
)


def mask(secret: str) -> str:
    """A secret as ``hh_a... (40 characters)``: a short prefix only, none for short secrets."""
    size = f"({len(secret)} characters)"
    return f"{secret[:4]}... {size}" if len(secret) >= 16 else f"**** {size}"


class _Report:
    def __init__(self, secrets: list[str]) -> None:
        self.lines: list[str] = []
        self.problems = 0
        self._secrets = [s for s in secrets if s]

    def add(self, line: str = "") -> None:
        for secret in self._secrets:
            line = line.replace(secret, "[REDACTED]")
        self.lines.append(line)

    def problem(self, line: str) -> None:
        self.problems += 1
        self.add(line)


def _display(value: Any) -> str:
    if value is None or value == ():
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _origin(name: str) -> str:
    from honeyhive._settings import ENV_VARS

    for var in ENV_VARS.get(name, ()):
        if os.environ.get(var) is not None:
            return f"from {var}"
    return "default"


def _configuration(report: _Report) -> Optional[Any]:
    from honeyhive._http import redact_url
    from honeyhive._settings import resolve

    report.add("configuration (environment and defaults, as a tracer made here would see it)")
    try:
        settings = resolve(None, None, None, {})
    except ValueError as exc:
        report.problem(f"  INVALID: {exc}")
        shown = sorted(k for k in os.environ if k.startswith(("HH_", "HONEYHIVE_")))
        for name in shown:
            value = os.environ[name]
            report.add(f"  {name}={mask(value) if name in _SECRET_ENVS else value}")
        return None
    for name in _SHOWN:
        value = getattr(settings, name)
        if name == "api_key":
            text = mask(value.get_secret_value()) if value is not None else "(not set)"
            if value is None and not settings.test_mode:
                text += ": fine for a loopback collector, required for HoneyHive"
        elif name == "server_url":
            text = redact_url(value)
        else:
            text = _display(value)
        report.add(f"  {name:<22} {text:<44} {_origin(name)}")
    return settings


def _owners() -> dict[tuple[str, str], str]:
    """(group, name) -> "distribution version", for every honeyhive.* entry point."""
    owners: dict[tuple[str, str], str] = {}
    for dist in metadata.distributions():
        try:
            label = f"{dist.metadata['Name']} {dist.version}"
            entry_points = list(dist.entry_points)
        except Exception:  # noqa: S112 - a broken distribution must not break the doctor
            continue
        for entry in entry_points:
            if entry.group.startswith("honeyhive."):
                owners.setdefault((entry.group, entry.name), label)
    return owners


def _loads(group: str, name: str) -> str:
    for entry in metadata.entry_points(group=group):
        if entry.name == name:
            try:
                entry.load()
            except Exception as exc:
                return f"FAILS TO IMPORT: {type(exc).__name__}: {exc}"
            return "ok"
    return "not found"


def _plugins(report: _Report) -> None:
    from honeyhive import _plugins

    owners = _owners()
    report.add("plug-ins and integrations (entry points)")
    for title, kind in _KINDS:
        group = _plugins.GROUPS[kind]
        found = _plugins.available(kind)
        if not found:
            report.add(f"  {title:<13} none installed")
        for index, (name, target) in enumerate(found.items()):
            status = _loads(group, name)
            line = f"  {title if index == 0 else '':<13} {name:<14} "
            line += f"{owners.get((group, name), 'unknown distribution'):<28} {status}"
            del target
            (report.add if status == "ok" else report.problem)(line)
    integrations = sorted(
        {entry.name: entry for entry in metadata.entry_points(group=_INTEGRATIONS)}.items()
    )
    if not integrations:
        report.add(f"  {'integrations':<13} none installed")
    for index, (name, _entry) in enumerate(integrations):
        status = _loads(_INTEGRATIONS, name)
        line = f"  {'integrations' if index == 0 else '':<13} {name:<14} "
        line += f"{owners.get((_INTEGRATIONS, name), 'unknown distribution'):<28} {status}"
        (report.add if status == "ok" else report.problem)(line)


def _collector_extra(report: _Report) -> None:
    report.add("collector extra (honeyhive serve)")
    versions = []
    missing = []
    for dist in _EXTRA:
        module = "opentelemetry.proto" if dist == "opentelemetry-proto" else dist
        try:
            present = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            present = False
        if not present:
            missing.append(dist)
            continue
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (version unknown)")
    if missing:
        report.add(f"  not installed (missing {', '.join(missing)}): ")
        report.add("  pip install 'honeyhive-core[collector]' to run a local collector")
    else:
        report.add(f"  installed: {', '.join(versions)}")


def _backend(report: _Report, settings: Any, timeout: float) -> None:
    import httpx

    from honeyhive._export import client_headers
    from honeyhive._http import redact_url
    from honeyhive._settings import is_loopback_url

    base = settings.server_url
    shown = redact_url(base)
    with_key = "with the API key" if settings.api_key is not None else "without an API key"
    report.add("backend")
    report.add(f"  POST {shown}/opentelemetry/v1/traces (an empty OTLP/JSON export, {with_key})")
    headers = {**client_headers(settings.as_config()), "Content-Type": "application/json"}
    loopback = is_loopback_url(base)
    try:
        with httpx.Client(
            timeout=timeout, verify=settings.verify_tls, trust_env=not loopback
        ) as client:
            started = time.perf_counter()
            response = client.post(
                f"{base}/opentelemetry/v1/traces", content=b"{}", headers=headers
            )
            elapsed = (time.perf_counter() - started) * 1000
            health = None
            if loopback and response.status_code < 500:
                try:
                    answer = client.get(f"{base}/api/health", headers=headers)
                    health = answer.json() if answer.status_code == 200 else None
                except (httpx.HTTPError, ValueError):
                    health = None
    except httpx.HTTPError as exc:
        report.problem(f"  UNREACHABLE: {type(exc).__name__}: {exc}")
        return
    status = response.status_code
    timing = f"{status} in {elapsed:.1f} ms"
    if 200 <= status < 300:
        accepted = "accepts the key" if settings.api_key is not None else "needs no key"
        report.add(f"  -> {timing}: the backend answers and {accepted}")
    elif status in (401, 403):
        why = "refused the API key" if settings.api_key is not None else "needs an API key"
        report.problem(f"  -> {timing}: the backend {why} (set HH_API_KEY)")
    elif status == 404:
        report.problem(f"  -> {timing}: no OTLP endpoint there; is HH_API_URL the API's base URL?")
    else:
        report.problem(f"  -> {timing}: unexpected answer")
    if isinstance(health, dict) and health.get("collector") == "honeyhive":
        report.add(
            f"  a local honeyhive collector {health.get('version', '')}, "
            f"database {health.get('database', '?')}"
        )


def _delivery(report: _Report, timeout: float) -> None:
    """One span and its session start through a real tracer; what each path did with them."""
    import logging

    from honeyhive import HoneyHiveTracer
    from honeyhive._export import last_failure

    report.add("delivery (one span and its session start, sent through the SDK)")
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):  # the SDK's warnings become part of this report
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = _Keep(logging.WARNING)
    sdk_logger = logging.getLogger("honeyhive")
    sdk_logger.addHandler(keep)
    try:
        tracer = HoneyHiveTracer(
            session_name="honeyhive doctor", export_timeout=timeout, exit_timeout=timeout
        )
        if tracer.test_mode:
            report.add("  not checked (test mode sends nothing)")
            tracer.close()
            return
        with tracer.trace("honeyhive doctor"):
            pass
        delivered = tracer.flush(timeout)
        api_used = tracer._api_enabled
        tracer.close()  # what the flush could not deliver is counted now
        lost = {k: dict(v) for k, v in tracer.dropped_by_exporter.items()}
    finally:
        sdk_logger.removeHandler(keep)
    for where, counts in lost.items():
        if where == "queue" or (where == "api" and not api_used):
            continue
        label = "API calls" if where == "api" else f"{where} exporter"
        failed = {reason: n for reason, n in counts.items() if n}
        if failed:
            listed = ", ".join(f"{reason} {n}" for reason, n in failed.items())
            report.problem(f"  {label:<22} lost: {listed}")
        else:
            report.add(f"  {label:<22} {'delivered' if delivered else 'not acknowledged'}")
    detail = last_failure(tracer.server_url)
    if detail:
        report.add(f"  last failure: {detail}")
    for record in records:
        report.add(f"  {record.getMessage()}")
    if not delivered and not any(any(c.values()) for c in lost.values()):
        report.problem(f"  not everything was acknowledged within {timeout:g} s")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "doctor",
        help="show the configuration, plug-ins and whether the backend answers",
        description=(
            "Show the configuration a tracer would resolve here (API key masked), the plug-ins "
            "and integrations installed through entry points, and whether the configured "
            "backend answers with the configured key."
        ),
    )
    parser.add_argument("--offline", action="store_true", help="skip the request to the backend")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for the backend (default 5)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from honeyhive._version import __version__

    secrets = [os.environ.get(name, "").strip() for name in _SECRET_ENVS]
    report = _Report(secrets)
    report.add(
        f"honeyhive-core {__version__} on Python {sys.version.split()[0]} ({sys.executable})"
    )
    report.add()
    settings = _configuration(report)
    report.add()
    _plugins(report)
    report.add()
    _collector_extra(report)
    report.add()
    if args.offline:
        report.add("backend: not checked (--offline)")
    elif settings is None:
        report.add("backend: not checked (the configuration is invalid)")
    else:
        _backend(report, settings, args.timeout)
        report.add()
        _delivery(report, args.timeout)
    report.add()
    report.add(
        "no problems found"
        if report.problems == 0
        else f"{report.problems} problem{'s' if report.problems > 1 else ''} found"
    )
    print("\n".join(report.lines))
    return 0 if report.problems == 0 else 1

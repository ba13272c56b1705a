"""Built-in exporters, registered under the ``honeyhive.exporters`` entry-point group.

* ``honeyhive``: OTLP over HTTP to the HoneyHive API (protobuf by default, JSON selectable).
* ``otlp``: OTLP over HTTP to any OpenTelemetry Collector, configured by the standard
  ``OTEL_EXPORTER_OTLP_*`` variables.
* ``console``: one JSON document per span on standard output.

An exporter factory takes the resolved :class:`~honeyhive.config.models.TracerConfig` and
returns an OpenTelemetry ``SpanExporter``. In test mode the HTTP exporters encode every batch
exactly as they would send it, and send nothing.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Callable, Optional, TextIO
from urllib.parse import unquote

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from honeyhive._encoding import encode_json, encode_protobuf
from honeyhive._transport import HttpTransport, gate_for
from honeyhive._version import __version__
from honeyhive.config.models import TracerConfig

__all__ = [
    "MAX_REQUEST_BYTES",
    "Failures",
    "OtlpHttpExporter",
    "client_headers",
    "console_exporter",
    "honeyhive_exporter",
    "otlp_exporter",
]

#: The OTLP cap on one request body before compression; bigger batches are split in half.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"

Failures = dict[str, int]  # drop reason -> spans lost


def client_headers(config: TracerConfig) -> dict[str, str]:
    """Headers every request to the HoneyHive API carries (the API key only when there is one)."""
    headers = {
        "hh-client-version": __version__,
        "hh-client-language": "python",
        "hh-client-package": "honeyhive-core",
    }
    if config.api_key is not None and config.api_key.get_secret_value():
        headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
    return headers


class OtlpHttpExporter(SpanExporter):
    """OTLP/HTTP exporter: encodes a batch once, splits it on 413 or when too large."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        json_format: bool,
        gzip_body: bool = False,
        timeout: float = 10.0,
        transport: Optional[HttpTransport] = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.url = url
        self._encode: Callable[[Sequence[ReadableSpan]], bytes] = (
            encode_json if json_format else encode_protobuf
        )
        self._headers = {"Content-Type": _JSON if json_format else _PROTOBUF, **headers}
        if gzip_body:
            self._headers["Content-Encoding"] = "gzip"
        self._gzip = gzip_body
        self._timeout = timeout
        self._transport = transport  # None: test mode, nothing is sent
        self._max_bytes = max_request_bytes
        self._stop = threading.Event()

    def __repr__(self) -> str:
        return f"OtlpHttpExporter({self.url!r}, dry_run={self._transport is None})"

    def export_batch(
        self, spans: Sequence[ReadableSpan], deadline: float, stop: threading.Event
    ) -> Failures:
        """Deliver ``spans``; returns the spans lost by reason (empty when all arrived)."""
        body = self._encode(spans)
        if len(body) > self._max_bytes and len(spans) > 1:
            return self._split(spans, deadline, stop)
        if self._transport is None:
            return {}
        if len(body) > self._max_bytes:
            return {"payload_too_large": 1}
        if self._gzip:
            body = gzip.compress(body, compresslevel=5)
        result = self._transport.send(
            "POST", self.url, body, self._headers, deadline=deadline, stop=stop
        )
        if result.ok:
            return {}
        if result.too_large and len(spans) > 1:
            return self._split(spans, deadline, stop)
        return {result.reason or "network_error": len(spans)}

    def _split(
        self, spans: Sequence[ReadableSpan], deadline: float, stop: threading.Event
    ) -> Failures:
        half = len(spans) // 2
        failures: Failures = {}
        for part in (spans[:half], spans[half:]):
            for reason, count in self.export_batch(part, deadline, stop).items():
                failures[reason] = failures.get(reason, 0) + count
        return failures

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        failures = self.export_batch(spans, time.monotonic() + self._timeout, self._stop)
        return SpanExportResult.FAILURE if failures else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._stop.set()
        if self._transport is not None:
            self._transport.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def honeyhive_exporter(config: TracerConfig) -> SpanExporter:
    """OTLP to ``{server_url}/opentelemetry/v1/traces`` with the HoneyHive headers."""
    base = (config.server_url or "").rstrip("/")
    headers = {**client_headers(config), "X-Source": config.source}
    transport = None
    if not config.test_mode:
        transport = HttpTransport(base, headers, verify=config.verify_tls, gate=gate_for(base))
    return OtlpHttpExporter(
        base + "/opentelemetry/v1/traces",
        headers={},
        json_format=config.otlp_format == "json",
        timeout=config.export_timeout,
        transport=transport,
    )


def _env(*names: str) -> Optional[str]:
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _parse_otlp_headers(raw: str, variable: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for index, item in enumerate(raw.split(",")):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            # The value may be an API key: name the variable and the position, never the text.
            raise ValueError(f"{variable}: entry {index + 1} is not of the form name=value")
        headers[unquote(name.strip()).lower()] = unquote(value.strip())
    return headers


def otlp_exporter(config: TracerConfig) -> SpanExporter:
    """OTLP/HTTP to any OpenTelemetry Collector, from the standard ``OTEL_EXPORTER_OTLP_*``."""
    endpoint = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if endpoint is None:
        base = _env("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318"
        endpoint = base.rstrip("/") + "/v1/traces"
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError("OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT must be an http(s) URL")
    protocol = _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    protocol = protocol or "http/protobuf"
    if protocol not in ("http/protobuf", "http/json"):
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported by the 'otlp' exporter; "
            "use http/protobuf or http/json"
        )
    headers: dict[str, str] = {}
    for variable in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        raw = _env(variable)
        if raw:
            headers.update(_parse_otlp_headers(raw, variable))
    compression = _env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")
    if compression not in (None, "none", "gzip"):
        raise ValueError(f"OTEL_EXPORTER_OTLP_COMPRESSION={compression!r}: use gzip or none")
    timeout_ms = _env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
    try:
        timeout = float(timeout_ms) / 1000.0 if timeout_ms else config.export_timeout
    except ValueError:
        raise ValueError("OTEL_EXPORTER_OTLP_TIMEOUT must be a number of milliseconds") from None
    certificate = _env("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE")
    verify: bool | str = certificate if certificate else config.verify_tls
    base_url = endpoint.split("/", 3)
    origin = "/".join(base_url[:3])
    transport = None
    if not config.test_mode:
        transport = HttpTransport(origin, headers, verify=verify, gate=gate_for(origin))
    return OtlpHttpExporter(
        endpoint,
        headers={},
        json_format=protocol == "http/json",
        gzip_body=compression == "gzip",
        timeout=timeout,
        transport=transport,
    )


class _ConsoleExporter(SpanExporter):
    def __init__(self, out: Optional[TextIO] = None) -> None:
        self._out = out
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        out = self._out or sys.stdout
        lines = [json.dumps(json.loads(span.to_json()), separators=(",", ":")) for span in spans]
        with self._lock:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def console_exporter(config: TracerConfig) -> SpanExporter:
    """Every span as one line of JSON on standard output."""
    del config
    return _ConsoleExporter()

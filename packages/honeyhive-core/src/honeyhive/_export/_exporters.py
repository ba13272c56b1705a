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
import time
from collections.abc import Sequence
from typing import Callable, Optional, TextIO
from urllib.parse import unquote

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from honeyhive import _forksafe as forksafe
from honeyhive._diagnostics import DropCounter, internal_error
from honeyhive._export._encoding import encode_json, encode_protobuf, split_request
from honeyhive._export._failures import BackendReport, report_for
from honeyhive._export._order import Ticket
from honeyhive._export._outbox import Outbox, Parcel
from honeyhive._export._spool import Spool
from honeyhive._export._transport import HttpTransport, gate_for
from honeyhive._version import __version__
from honeyhive.config.models import TracerConfig

__all__ = [
    "MAX_REQUEST_BYTES",
    "MemoryExporter",
    "OtlpHttpExporter",
    "client_headers",
    "console_exporter",
    "honeyhive_exporter",
    "memory_exporter",
    "otlp_exporter",
    "spool_for",
]

#: The OTLP cap on one request body before compression; bigger batches are split in half.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


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
    """OTLP/HTTP exporter: encodes on the caller's thread, sends from its own.

    ``export_batch`` only encodes and hands the request to an :class:`Outbox`
    (bounded in bytes, with retries and an optional spool), so the tracer's delivery thread never
    waits on the network. A request the backend refuses as too large (413) is split in half and
    both halves are sent; a batch above the OTLP request cap is split before it is sent.
    """

    def __init__(
        self,
        url: str,
        *,
        json_format: bool,
        transport: Optional[HttpTransport],
        headers: Optional[dict[str, str]] = None,
        gzip_body: bool = False,
        timeout: float = 10.0,
        max_queue_bytes: int = 64 * 1024 * 1024,
        spool: Optional[Spool] = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        orders_after_sessions: bool = False,
        report: Optional[BackendReport] = None,
    ) -> None:
        self.url = url
        #: Whether batches wait for the session starts they follow (the HoneyHive API's own
        #: backend: see ``honeyhive._export._order``).
        self.orders_after_sessions = orders_after_sessions
        self._json = json_format
        self._encode: Callable[[Sequence[ReadableSpan]], bytes] = (
            encode_json if json_format else encode_protobuf
        )
        self._headers = {"Content-Type": _JSON if json_format else _PROTOBUF, **(headers or {})}
        if gzip_body:
            self._headers["Content-Encoding"] = "gzip"
        self._gzip = gzip_body
        self._timeout = timeout
        self._max_bytes = max_request_bytes
        self.drops = DropCounter("spans")
        self.report = report
        self._outbox: Optional[Outbox] = None
        if transport is not None:  # None in test mode: encode everything, send nothing
            self._outbox = Outbox(
                transport,
                drops={"spans": self.drops, "calls": self.drops},
                max_bytes=max_queue_bytes,
                timeout=timeout,
                spool=spool,
                split=self._split_body,
                report=report,
            )

    def __repr__(self) -> str:
        return f"OtlpHttpExporter({self.url!r}, dry_run={self._outbox is None})"

    # -- what the tracer's delivery thread calls ----------------------------------------------

    def export_batch(self, spans: Sequence[ReadableSpan], after: Optional[Ticket] = None) -> None:
        """Encode ``spans`` and queue the request (splitting it if above the OTLP cap).

        ``after``: the session starts the request must not overtake.
        """
        try:
            body = self._encode(spans)
        except Exception as exc:
            self._encode_apart(spans, exc, after)
            return
        if len(body) > self._max_bytes and len(spans) > 1:
            half = len(spans) // 2
            self.export_batch(spans[:half], after)
            self.export_batch(spans[half:], after)
            return
        if self._outbox is None:
            return
        if len(body) > self._max_bytes:
            self.drops.add("payload_too_large")
            return
        self._outbox.put(self._parcel(body, len(spans), after))

    def _encode_apart(
        self, spans: Sequence[ReadableSpan], exc: Exception, after: Optional[Ticket]
    ) -> None:
        """A batch that cannot be encoded is halved until the span at fault is alone: it
        costs only itself (counted as an internal error), never the spans beside it."""
        if len(spans) > 1:
            half = len(spans) // 2
            self.export_batch(spans[:half], after)
            self.export_batch(spans[half:], after)
            return
        internal_error("encoding a span", exc)
        self.drops.add("internal_error", len(spans))

    def _parcel(self, body: bytes, count: int, after: Optional[Ticket] = None) -> Parcel:
        if self._gzip:
            body = gzip.compress(body, compresslevel=5)
        return Parcel(
            "POST", self.url, body, self._headers, count, "spans", (after,) if after else ()
        )

    def _split_body(self, parcel: Parcel) -> Optional[tuple[Parcel, Parcel]]:
        body = gzip.decompress(parcel.body) if self._gzip else parcel.body
        halves = split_request(body, self._json)
        if halves is None:
            return None
        first, second = halves
        half = parcel.count // 2
        return self._parcel(first, half), self._parcel(second, parcel.count - half)

    def wait(self, deadline: float) -> bool:
        """Until everything queued so far is finished (delivered, spooled or dropped)."""
        return True if self._outbox is None else self._outbox.wait(deadline)

    def failures(self) -> int:
        """Spans lost plus requests spooled so far: a flush is honest only if this is unchanged."""
        spooled: int = 0 if self._outbox is None else self._outbox.spooled
        return self.drops.total() + spooled

    def close(self, deadline: float) -> None:
        if self._outbox is not None:
            self._outbox.close(deadline)

    # -- the plain OpenTelemetry SpanExporter interface ---------------------------------------

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        before = self.failures()
        self.export_batch(spans)
        delivered = self.wait(time.monotonic() + self._timeout)
        ok = delivered and self.failures() == before
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.close(time.monotonic() + self._timeout)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.wait(time.monotonic() + timeout_millis / 1000.0)


def spool_for(config: TracerConfig, origin: str) -> Optional[Spool]:
    if not config.spool_dir or config.test_mode:
        return None
    try:
        return Spool(config.spool_dir, origin, config.spool_max_bytes)
    except OSError as exc:
        raise ValueError(
            f"spool_dir {config.spool_dir!r} (HH_SPOOL_DIR) cannot be used: {exc.strerror}"
        ) from None


def honeyhive_exporter(config: TracerConfig) -> SpanExporter:
    """OTLP to ``{server_url}/opentelemetry/v1/traces`` with the HoneyHive headers."""
    base = (config.server_url or "").rstrip("/")
    headers = {**client_headers(config), "X-Source": config.source}
    transport = None
    if not config.test_mode:
        transport = HttpTransport(base, headers, verify=config.verify_tls, gate=gate_for(base))
    return OtlpHttpExporter(
        base + "/opentelemetry/v1/traces",
        json_format=config.otlp_format == "json",
        timeout=config.export_timeout,
        transport=transport,
        max_queue_bytes=config.max_queue_bytes,
        spool=spool_for(config, base),
        orders_after_sessions=True,
        report=report_for(base, "HH_API_URL"),
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
        json_format=protocol == "http/json",
        gzip_body=compression == "gzip",
        timeout=timeout,
        transport=transport,
        max_queue_bytes=config.max_queue_bytes,
        spool=spool_for(config, origin),
        report=report_for(origin, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    )


class MemoryExporter(SpanExporter):
    """Keeps every exported span in memory (for tests: see :mod:`honeyhive.testing`)."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self._spans.extend(spans)
        return SpanExportResult.SUCCESS

    def spans(self) -> list[ReadableSpan]:
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def memory_exporter(config: TracerConfig) -> SpanExporter:
    """Spans kept in memory, for tests; nothing leaves the process."""
    del config
    return MemoryExporter()


class _ConsoleExporter(SpanExporter):
    def __init__(self, out: Optional[TextIO] = None) -> None:
        self._out = out
        self._lock = forksafe.Lock()

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

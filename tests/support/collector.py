"""A real HTTP collector on loopback that speaks the HoneyHive protocol, for tests.

The collector is a ``ThreadingHTTPServer`` bound to 127.0.0.1 and served from a daemon
thread. It accepts:

* ``POST /session/start``  ``{"session": {...}}``   -> ``{"session_id": ...}``
* ``POST /events``         ``{"event": {...}}``     -> ``{"success": true, "event_id": ...}``
* ``PUT  /events``         ``{"event_id": ..., ...}`` -> ``{"success": true}``
* ``POST /events/batch``   ``{"events": [...], "is_single_session"?, "session_properties"?}``
  -> ``{"success": true, "event_ids": [...], "session_id"?}``; an event of type ``session``
  starts its session (recorded in ``sessions`` as a session start would be, its
  ``event_name`` as ``session_name``), the others are recorded in ``events``.
* ``POST /opentelemetry/v1/traces`` and ``POST /v1/traces``: OTLP/HTTP trace exports as
  protobuf (``application/x-protobuf``) or OTLP/JSON (``application/json``), optionally
  ``Content-Encoding: gzip`` (or ``deflate``).

Everything it receives is recorded and can be inspected (thread-safely, as copies) through
``spans``, ``sessions``, ``events``, ``event_updates`` and ``requests``. Faults can be injected
with :meth:`Collector.set_fault` to exercise retry, timeout and back-pressure handling.

Run it in the foreground with ``python tests/support/collector.py [--port N]``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import gzip
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Optional, cast
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "Collector",
    "FaultMode",
    "ReceivedEvent",
    "ReceivedLink",
    "ReceivedSpan",
    "RecordedRequest",
    "SESSION_START_PATH",
    "EVENTS_PATH",
    "BATCH_PATH",
    "TRACE_PATHS",
]

FaultMode = Literal["status", "hang", "slow", "too_large", "reset", "down"]

SESSION_START_PATH = "/session/start"
EVENTS_PATH = "/events"
BATCH_PATH = "/events/batch"
TRACE_PATHS = ("/opentelemetry/v1/traces", "/v1/traces")

_ROUTES: dict[str, tuple[str, ...]] = {
    SESSION_START_PATH: ("POST",),
    EVENTS_PATH: ("POST", "PUT"),
    BATCH_PATH: ("POST",),
    **dict.fromkeys(TRACE_PATHS, ("POST",)),
}
_HOST = "127.0.0.1"
_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_SPAN_KINDS = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}
_MAX_BODY = 64 * 1024 * 1024
# Idle keep-alive connections and stalled request bodies give up after this long; stop() and
# the "down" fault do not wait for it, they shut live connections down.
_SOCKET_TIMEOUT = 15.0
_FAULT_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # mode: (required params, optional params)
    "status": (frozenset({"status"}), frozenset({"retry_after"})),
    "hang": (frozenset(), frozenset({"seconds"})),
    "slow": (frozenset({"seconds"}), frozenset()),
    "too_large": (frozenset({"max_bytes"}), frozenset()),
    "reset": (frozenset(), frozenset()),
    "down": (frozenset(), frozenset()),
}


# --------------------------------------------------------------------------------------------
# Public records


@dataclass
class RecordedRequest:
    """One HTTP request as it arrived, including rejected and faulted ones.

    ``response_status`` is the status the collector answered with, or ``None`` when it sent
    no response (hang, reset, down) or has not answered yet. ``fault`` names the injected
    fault that applied to the request, if any.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    response_status: Optional[int] = None
    fault: Optional[str] = None


@dataclass(frozen=True)
class ReceivedEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedLink:
    trace_id: str
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    """A decoded span. Equality ignores the transport fields (encoding, path, headers), so a
    span sent as protobuf compares equal to the same span sent as OTLP/JSON."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: Optional[str]
    kind: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: dict[str, Any]
    status_code: str
    status_message: str
    events: list[ReceivedEvent]
    links: list[ReceivedLink]
    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    encoding: str = field(default="protobuf", compare=False)
    path: str = field(default="/v1/traces", compare=False)
    headers: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def duration_ms(self) -> float:
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e6


# --------------------------------------------------------------------------------------------
# Decoding


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    mode: str
    params: dict[str, Any]
    remaining: Optional[int]


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _decode_content(headers: dict[str, str], body: bytes) -> bytes:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise _HttpError(400, f"cannot decode {encoding} body: {exc}") from exc
    raise _HttpError(415, f"unsupported Content-Encoding {encoding!r}")


def _json_object(headers: dict[str, str], data: bytes) -> dict[str, Any]:
    if _media_type(headers) != "application/json":
        raise _HttpError(415, f"expected application/json, got {headers.get('content-type')!r}")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise _HttpError(400, f"malformed JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _HttpError(400, "request body must be a JSON object")
    return doc


def _any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in pairs}


def _hex_id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise _HttpError(400, f"{what} must be {size} bytes, got {len(raw)}")
    if not any(raw):
        raise _HttpError(400, f"{what} is all zeros (invalid)")
    return raw.hex()


def _json_list(obj: Any, *keys: str) -> list[Any]:
    if not isinstance(obj, dict):
        raise _HttpError(400, f"expected a JSON object, got {type(obj).__name__}")
    for key in keys:
        if key in obj:
            value = obj[key]
            if value is None:
                return []
            if not isinstance(value, list):
                raise _HttpError(400, f"{key} must be a list")
            return value
    return []


def _hex_fields_to_base64(obj: Any, names: Sequence[str]) -> None:
    """OTLP/JSON encodes ids as hex; protobuf's JSON mapping expects base64."""
    if not isinstance(obj, dict):
        raise _HttpError(400, f"expected a JSON object, got {type(obj).__name__}")
    for camel in names:
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
        for key in {camel, snake}:
            if key not in obj or obj[key] is None:
                continue
            value = obj[key]
            if not isinstance(value, str):
                raise _HttpError(400, f"{key} must be a hex string")
            try:
                raw = bytes.fromhex(value)
            except ValueError as exc:
                raise _HttpError(400, f"{key} is not valid hex: {value!r}") from exc
            obj[key] = base64.b64encode(raw).decode("ascii")


def _parse_otlp_json(data: bytes) -> ExportTraceServiceRequest:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise _HttpError(400, f"malformed JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _HttpError(400, "OTLP/JSON body must be a JSON object")
    for resource_spans in _json_list(doc, "resourceSpans", "resource_spans"):
        for scope_spans in _json_list(resource_spans, "scopeSpans", "scope_spans"):
            for span in _json_list(scope_spans, "spans"):
                _hex_fields_to_base64(span, ("traceId", "spanId", "parentSpanId"))
                for link in _json_list(span, "links"):
                    _hex_fields_to_base64(link, ("traceId", "spanId"))
    message = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(doc, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        raise _HttpError(400, f"invalid OTLP/JSON: {exc}") from exc
    return message


def _parse_otlp_protobuf(data: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(data)
    except (DecodeError, ValueError) as exc:
        raise _HttpError(400, f"malformed protobuf ExportTraceServiceRequest: {exc}") from exc


def _decode_spans(
    request: ExportTraceServiceRequest, encoding: str, path: str, headers: dict[str, str]
) -> list[ReceivedSpan]:
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                parent = bytes(span.parent_span_id)
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=_hex_id(span.trace_id, 16, "traceId"),
                        span_id=_hex_id(span.span_id, 8, "spanId"),
                        parent_span_id=(
                            _hex_id(parent, 8, "parentSpanId") if any(parent) else None
                        ),
                        kind=_SPAN_KINDS.get(span.kind, f"UNKNOWN({span.kind})"),
                        start_time_unix_nano=span.start_time_unix_nano,
                        end_time_unix_nano=span.end_time_unix_nano,
                        attributes=_attributes(span.attributes),
                        status_code=_STATUS_CODES.get(
                            span.status.code, f"UNKNOWN({span.status.code})"
                        ),
                        status_message=span.status.message,
                        events=[
                            ReceivedEvent(e.name, e.time_unix_nano, _attributes(e.attributes))
                            for e in span.events
                        ],
                        links=[
                            ReceivedLink(
                                _hex_id(link.trace_id, 16, "link traceId"),
                                _hex_id(link.span_id, 8, "link spanId"),
                                _attributes(link.attributes),
                            )
                            for link in span.links
                        ],
                        resource=copy.deepcopy(resource),
                        scope_name=scope_spans.scope.name,
                        scope_version=scope_spans.scope.version,
                        encoding=encoding,
                        path=path,
                        headers=dict(headers),
                    )
                )
    return spans


def _text(status: int, message: str, headers: Optional[dict[str, str]] = None) -> _Response:
    return _Response(status, (message + "\n").encode(), headers=headers or {})


def _json_response(doc: Any) -> _Response:
    return _Response(200, json.dumps(doc).encode(), "application/json")


# --------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, collector: Collector, port: int) -> None:
        self.collector = collector
        super().__init__((_HOST, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would do a (possibly slow) reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name = _HOST
        self.server_port = self.server_address[1]

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        self.collector._track(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.collector._untrack(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # client went away: not our bug
            self.collector._record_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _SOCKET_TIMEOUT
    # A response is written as head then body: with Nagle's algorithm on, every keep-alive
    # request would wait for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

    @property
    def _collector(self) -> Collector:
        return cast(_Server, self.server).collector

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_field = self.rfile.readline(65537).split(b";", 1)[0].strip()
                size = int(size_field, 16)  # ValueError when empty or not hex
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise ValueError("body too large")
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    raise ValueError("truncated chunk")
                chunks.append(chunk)
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY:
            raise ValueError(f"unacceptable Content-Length {length}")
        body = self.rfile.read(length)
        if len(body) < length:
            raise ValueError("truncated body")
        return body

    def _handle(self) -> None:
        collector = self._collector
        headers = self._headers()
        received_at = time.monotonic()
        try:
            body = self._read_body()
        except (ValueError, OSError) as exc:
            record = collector._record_request(self.command, self.path, headers, b"", received_at)
            self.close_connection = True
            if isinstance(exc, ValueError):
                self._send(record, _text(400, f"bad request framing: {exc}"))
            return
        record = collector._record_request(self.command, self.path, headers, body, received_at)
        fault, release = collector._take_fault(record)
        if fault is not None and self._apply_fault(record, fault, release):
            return
        try:
            response = collector._dispatch(self.command, self.path, headers, body)
        except Exception:
            collector._record_error(traceback.format_exc())
            response = _text(500, "collector error:\n" + traceback.format_exc())
        self._send(record, response)

    def _apply_fault(
        self, record: RecordedRequest, fault: _Fault, release: threading.Event
    ) -> bool:
        """Apply an injected fault. Returns True when the request has been dealt with."""
        collector = self._collector
        params = fault.params
        if fault.mode == "status":
            extra = {}
            if params.get("retry_after") is not None:
                extra["Retry-After"] = str(params["retry_after"])
            self._send(record, _text(int(params["status"]), "injected fault", extra))
            return True
        if fault.mode == "hang":
            release.wait(params.get("seconds"))
            self.close_connection = True
            return True
        if fault.mode == "slow":
            collector._stopping.wait(float(params["seconds"]))
            return False
        if fault.mode == "too_large":
            if len(record.body) > int(params["max_bytes"]):
                self._send(record, _text(413, "request entity too large (injected fault)"))
                return True
            return False
        # "reset", and "down" for a request that slipped in while the listener was closing.
        self._abort()
        return True

    def _abort(self) -> None:
        """Close the connection with a TCP RST and no response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()
        with contextlib.suppress(OSError):
            self.rfile.close()

    def _send(self, record: RecordedRequest, response: _Response) -> None:
        self._collector._set_status(record, response.status)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            self.close_connection = True


# --------------------------------------------------------------------------------------------
# The collector


class Collector:
    """A HoneyHive/OTLP collector on ``http://127.0.0.1:<port>``.

    Use as a context manager (``with Collector() as c: ...``) or call :meth:`start` and
    :meth:`stop`. When ``api_key`` is set every request must carry
    ``Authorization: Bearer <api_key>``. ``on_spans`` is called (from a server thread) with
    each stored batch of spans.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        port: int = 0,
        *,
        on_spans: Optional[Callable[[list[ReceivedSpan]], None]] = None,
    ) -> None:
        self.api_key = api_key
        self._port = port
        self._on_spans = on_spans
        self._cond = threading.Condition(threading.Lock())
        self._lifecycle = threading.Lock()
        self._generation = 0
        self._spans: list[ReceivedSpan] = []
        self._seen: dict[tuple[str, str], int] = {}
        self._sessions: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._event_updates: list[dict[str, Any]] = []
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._connections: set[socket.socket] = set()
        self._fault: Optional[_Fault] = None
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._running = False
        self._down = False

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Collector:
        with self._lifecycle:
            if self._running:
                return self
            self._stopping.clear()
            self._listen()
            self._running = True
        return self

    def stop(self) -> None:
        with self._lifecycle:
            if not self._running:
                return
            self._running = False
            self._stopping.set()
            with self._cond:
                self._fault = None
                self._release_hangs()
            self._unlisten()
            self._down = False

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"<Collector {state} port={self._port} fault={self.active_fault}>"

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("the collector has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    def _listen(self) -> None:
        deadline = time.monotonic() + 2.0
        while True:
            try:
                server = _Server(self, self._port)
                break
            except OSError as exc:
                # Rebinding the same port after "down": retry briefly if it is still busy.
                if self._port == 0 or time.monotonic() > deadline:
                    raise RuntimeError(f"collector cannot listen on port {self._port}") from exc
                time.sleep(0.02)
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"collector-{self._port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()

    def _unlisten(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5.0)
        # Drop live connections (keep-alive, hung or mid-request) so nothing lingers.
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        with self._cond:
            while self._connections and time.monotonic() < deadline:
                self._cond.wait(0.05)

    def _track(self, conn: socket.socket) -> None:
        with self._cond:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._cond:
            self._connections.discard(conn)
            self._cond.notify_all()

    # -- faults ----------------------------------------------------------------------------

    def set_fault(self, mode: FaultMode, *, count: Optional[int] = None, **params: Any) -> None:
        """Inject a fault for all endpoints until :meth:`clear_fault` (or for ``count``
        requests). Modes and their params:

        * ``status``: answer ``status`` (int), with a ``Retry-After: retry_after`` header if
          given (seconds or an HTTP date).
        * ``hang``: read the request, then answer nothing until the fault is cleared or
          replaced, the collector stops, or ``seconds`` elapse; then close the connection.
        * ``slow``: wait ``seconds`` then handle the request normally.
        * ``too_large``: answer 413 when the body exceeds ``max_bytes``, else handle normally.
        * ``reset``: abort the TCP connection (RST) without a response.
        * ``down``: close the listening socket so connections are refused; ``clear_fault``
          listens again on the same port.

        Requests answered by a fault are recorded in ``requests`` but nothing they carry is
        stored.
        """
        if mode not in _FAULT_PARAMS:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {list(_FAULT_PARAMS)}")
        required, optional = _FAULT_PARAMS[mode]
        missing = required - params.keys()
        unknown = params.keys() - required - optional
        if missing or unknown:
            raise TypeError(
                f"fault {mode!r}: missing params {sorted(missing)}, unknown {sorted(unknown)}"
            )
        if count is not None and (count < 1 or mode == "down"):
            raise ValueError("count must be a positive int and cannot be used with 'down'")
        if mode == "status" and not 100 <= int(params["status"]) <= 599:
            raise ValueError(f"invalid status {params['status']!r}")
        with self._lifecycle:
            if mode == "down" and not self._running:
                raise RuntimeError("the collector must be running to go down")
            with self._cond:
                self._release_hangs()
                self._fault = _Fault(mode, dict(params), count)
            if mode == "down":
                if not self._down:
                    self._down = True
                    self._unlisten()
            elif self._down:
                self._down = False
                self._listen()

    def clear_fault(self) -> None:
        """Remove any fault, release hung requests, and listen again after ``down``."""
        with self._lifecycle:
            with self._cond:
                self._fault = None
                self._release_hangs()
            if self._down:
                self._down = False
                if self._running:
                    self._listen()

    @property
    def active_fault(self) -> Optional[str]:
        with self._cond:
            return self._fault.mode if self._fault is not None else None

    def _release_hangs(self) -> None:
        # Caller holds self._cond.
        self._release.set()
        self._release = threading.Event()

    def _take_fault(self, record: RecordedRequest) -> tuple[Optional[_Fault], threading.Event]:
        with self._cond:
            fault = self._fault
            if fault is not None:
                record.fault = fault.mode
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._fault = None
            self._bump()
            return fault, self._release

    # -- recording -------------------------------------------------------------------------

    def _bump(self) -> None:
        # Caller holds self._cond.
        self._generation += 1
        self._cond.notify_all()

    def _record_request(
        self, method: str, path: str, headers: dict[str, str], body: bytes, received_at: float
    ) -> RecordedRequest:
        record = RecordedRequest(method, path, headers, body, received_at)
        with self._cond:
            self._requests.append(record)
            self._bump()
        return record

    def _set_status(self, record: RecordedRequest, status: int) -> None:
        with self._cond:
            record.response_status = status
            self._bump()

    def _record_error(self, text: str) -> None:
        with self._cond:
            self._errors.append(text)
            self._bump()

    def _store(self, kind: str, item: dict[str, Any]) -> None:
        with self._cond:
            {"session": self._sessions, "event": self._events, "update": self._event_updates}[
                kind
            ].append(item)
            self._bump()

    def _store_spans(self, spans: list[ReceivedSpan]) -> None:
        with self._cond:
            for span in spans:
                key = (span.trace_id, span.span_id)
                self._seen[key] = self._seen.get(key, 0) + 1
            self._spans.extend(spans)
            self._bump()
        if self._on_spans is not None and spans:
            self._on_spans(copy.deepcopy(spans))

    # -- protocol --------------------------------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> _Response:
        try:
            return self._route(method, target, headers, body)
        except _HttpError as exc:
            extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            return _text(exc.status, exc.message, extra)

    def _route(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Response:
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            raise _HttpError(401, "missing or invalid Authorization: Bearer <api key>")
        path = urlsplit(target).path
        allowed = _ROUTES.get(path)
        if allowed is None:
            raise _HttpError(404, f"no such endpoint: {path}")
        if method not in allowed:
            raise _HttpError(405, f"{method} not allowed on {path}; use {', '.join(allowed)}")
        data = _decode_content(headers, body)
        if path in TRACE_PATHS:
            return self._traces(path, headers, data)
        doc = _json_object(headers, data)
        if path == SESSION_START_PATH:
            return self._session_start(doc)
        if path == BATCH_PATH:
            return self._batch(doc)
        if method == "POST":
            return self._create_event(doc)
        return self._update_event(doc)

    def _traces(self, path: str, headers: dict[str, str], data: bytes) -> _Response:
        media_type = _media_type(headers)
        if media_type in _PROTOBUF_TYPES:
            request = _parse_otlp_protobuf(data)
            spans = _decode_spans(request, "protobuf", path, headers)
            self._store_spans(spans)
            payload = ExportTraceServiceResponse().SerializeToString()
            return _Response(200, payload, "application/x-protobuf")
        if media_type == "application/json":
            request = _parse_otlp_json(data)
            spans = _decode_spans(request, "json", path, headers)
            self._store_spans(spans)
            payload = json_format.MessageToJson(ExportTraceServiceResponse()).encode()
            return _Response(200, payload, "application/json")
        raise _HttpError(
            415,
            f"unsupported Content-Type {headers.get('content-type')!r}; "
            "use application/x-protobuf or application/json",
        )

    def _session_start(self, doc: dict[str, Any]) -> _Response:
        session = doc.get("session")
        if not isinstance(session, dict):
            raise _HttpError(400, 'body must be {"session": {...}}')
        for key in ("session_name", "source"):
            if not isinstance(session.get(key), str):
                raise _HttpError(400, f"session.{key} is required and must be a string")
        session_id = session.get("session_id") or str(uuid.uuid4())
        self._store("session", session)
        return _json_response({"session_id": session_id})

    def _create_event(self, doc: dict[str, Any]) -> _Response:
        event = doc.get("event")
        if not isinstance(event, dict):
            raise _HttpError(400, 'body must be {"event": {...}}')
        event_id = event.get("event_id") or str(uuid.uuid4())
        self._store("event", event)
        return _json_response({"success": True, "event_id": event_id})

    def _batch(self, doc: dict[str, Any]) -> _Response:
        events = doc.get("events")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise _HttpError(400, 'body must be {"events": [{...}, ...]}')
        single = doc.get("is_single_session")
        if single is not None and not isinstance(single, bool):
            raise _HttpError(400, "is_single_session must be a boolean")
        for event in events:
            if event.get("event_type") == "session" and not (
                isinstance(event.get("session_id"), str) and event["session_id"]
            ):
                raise _HttpError(400, "a session event needs its session_id")
        session_id: Optional[str] = None
        if single:
            session_id = next((e["session_id"] for e in events if e.get("session_id")), None)
            session_id = session_id or str(uuid.uuid4())
            properties = doc.get("session_properties") or {}
            start = {"session_name": properties.get("session_name"), "session_id": session_id}
            self._store("session", {k: v for k, v in start.items() if v is not None})
            events = [{**e, "session_id": session_id} for e in events]
        ids: list[str] = []
        for event in events:
            if event.get("event_type") == "session":
                # Recorded as a session start's ``session`` would be.
                session = {"session_name": event.get("event_name")}
                session.update(
                    (k, v)
                    for k, v in event.items()
                    if k not in ("event_type", "event_name")
                    and not (k == "event_id" and v == event["session_id"])
                )
                self._store("session", session)
                ids.append(event["session_id"])
            else:
                event_id = event.get("event_id") or str(uuid.uuid4())
                self._store("event", event)
                ids.append(event_id)
        answer: dict[str, Any] = {"success": True, "event_ids": ids}
        if session_id is not None:
            answer["session_id"] = session_id
        return _json_response(answer)

    def _update_event(self, doc: dict[str, Any]) -> _Response:
        if not isinstance(doc.get("event_id"), str) or not doc["event_id"]:
            raise _HttpError(400, "event_id is required and must be a string")
        self._store("update", doc)
        return _json_response({"success": True})

    # -- accessors -------------------------------------------------------------------------

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._cond:
            return copy.deepcopy(self._spans)

    @property
    def sessions(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._sessions)

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._events)

    @property
    def event_updates(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._event_updates)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return copy.deepcopy(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions inside the collector (should stay empty)."""
        with self._cond:
            return list(self._errors)

    @property
    def duplicates(self) -> int:
        """How many distinct spans (by trace_id, span_id) were received more than once."""
        with self._cond:
            return sum(1 for n in self._seen.values() if n > 1)

    def spans_of(self, request: RecordedRequest) -> list[ReceivedSpan]:
        """The spans one recorded trace export carried (decoded again from its body)."""
        data = _decode_content(request.headers, request.body)
        if _media_type(request.headers) in _PROTOBUF_TYPES:
            decoded = _parse_otlp_protobuf(data)
            return _decode_spans(decoded, "protobuf", request.path, request.headers)
        return _decode_spans(_parse_otlp_json(data), "json", request.path, request.headers)

    def spans_named(self, name: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.name == name]

    def clear(self) -> None:
        """Forget everything received so far (faults are left as they are)."""
        with self._cond:
            self._spans.clear()
            self._seen.clear()
            self._sessions.clear()
            self._events.clear()
            self._event_updates.clear()
            self._requests.clear()
            self._errors.clear()
            self._bump()

    # -- waiting ---------------------------------------------------------------------------

    def wait_for_spans(self, n: int, timeout: float = 5.0) -> list[ReceivedSpan]:
        """Wait until at least ``n`` spans arrived and return all received spans."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._spans) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if len(self._spans) >= n:
                return copy.deepcopy(self._spans)
        raise AssertionError(f"expected at least {n} span(s) within {timeout}s\n{self.describe()}")

    def wait_for(self, predicate: Callable[[Collector], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(collector)`` is true (re-checked whenever anything arrives)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                generation = self._generation
            if predicate(self):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"condition {name} not met within {timeout}s\n{self.describe()}"
                )
            with self._cond:
                if self._generation == generation:
                    self._cond.wait(min(remaining, 0.1))

    # -- reporting -------------------------------------------------------------------------

    def describe(self) -> str:
        """A summary of everything received, for assertion messages."""
        spans, requests = self.spans, self.requests
        lines = [f"{len(spans)} span(s) received:", self.span_tree(spans)]
        sessions, events, updates = self.sessions, self.events, self.event_updates
        lines.append(
            f"{len(sessions)} session(s), {len(events)} event(s), {len(updates)} event update(s)"
        )
        lines.append(f"{len(requests)} request(s):")
        shown = requests[-20:]
        if len(requests) > len(shown):
            lines.append(f"  ... {len(requests) - len(shown)} earlier request(s)")
        for r in shown:
            fault = f" [fault: {r.fault}]" if r.fault else ""
            lines.append(f"  {r.method} {r.path} -> {r.response_status}{fault} ({len(r.body)} B)")
        errors = self.errors
        if errors:
            lines.append("collector errors:")
            lines.extend(errors)
        return "\n".join(lines)

    def span_tree(self, spans: Optional[Sequence[ReceivedSpan]] = None) -> str:
        """Received spans (or the given ones) as an indented tree per trace."""
        spans = self.spans if spans is None else list(spans)
        if not spans:
            return "  (no spans)"
        traces: dict[str, list[ReceivedSpan]] = {}
        for span in spans:
            traces.setdefault(span.trace_id, []).append(span)
        lines: list[str] = []
        for trace_id, group in traces.items():
            lines.append(f"trace {trace_id}")
            counts: dict[str, int] = {}
            unique: dict[str, ReceivedSpan] = {}
            for span in group:
                counts[span.span_id] = counts.get(span.span_id, 0) + 1
                unique.setdefault(span.span_id, span)
            children: dict[Optional[str], list[ReceivedSpan]] = {}
            for span in unique.values():
                parent = span.parent_span_id if span.parent_span_id in unique else None
                children.setdefault(parent, []).append(span)
            for siblings in children.values():
                siblings.sort(key=lambda s: s.start_time_unix_nano)
            visited: set[str] = set()

            def walk(span: ReceivedSpan, depth: int) -> None:
                visited.add(span.span_id)
                line = f"{'  ' * depth}{span.name} [{span.kind}] {span.span_id}"
                line += f" {span.duration_ms:.1f}ms"
                if span.status_code != "UNSET":
                    line += f" {span.status_code}"
                    if span.status_message:
                        line += f": {span.status_message}"
                if counts[span.span_id] > 1:
                    line += f" (received {counts[span.span_id]}x)"
                if span.parent_span_id is not None and span.parent_span_id not in unique:
                    line += f" (parent {span.parent_span_id} not received)"
                lines.append(line)
                for child in children.get(span.span_id, []):
                    if child.span_id not in visited:
                        walk(child, depth + 1)

            for root in children.get(None, []):
                walk(root, 1)
            for span in unique.values():  # parent cycles
                if span.span_id not in visited:
                    walk(span, 1)
        return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run the HoneyHive test collector.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer KEY")
    args = parser.parse_args(argv)

    def show(batch: list[ReceivedSpan]) -> None:
        print(f"--- received {len(batch)} span(s)\n{collector.span_tree(batch)}", flush=True)

    collector = Collector(api_key=args.api_key, port=args.port, on_spans=show)
    with collector:
        print(f"collector listening on {collector.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

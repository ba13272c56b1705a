"""HTTP delivery with the OTLP specification's retry rules.

* Retry only 429, 502, 503 and 504 and connection/timeout failures; never 400 or any other
  status.
* ``Retry-After`` is honoured in seconds and as an HTTP date; otherwise exponential backoff with
  jitter. One deadline covers every attempt, and a stop event interrupts any wait.
* Waits are shared: after a 429 with ``Retry-After``, or after a request failed (network error,
  429, 502, 503, 504), nothing at all is sent to that backend until the window ends, whichever
  path (OTLP, API calls) got the answer. The window lives in a :class:`BackendGate` shared by
  every transport to the same base URL; after failures it grows exponentially (with jitter) up
  to a cap, and the first success closes it.
* The ``httpx.Client`` is created lazily and re-created (not closed) in a forked child.
"""

from __future__ import annotations

import datetime
import email.utils
import os
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from honeyhive import _forksafe as forksafe
from honeyhive._diagnostics import logger

if TYPE_CHECKING:
    import httpx

__all__ = [
    "BackendGate",
    "HttpTransport",
    "SendResult",
    "describe_error",
    "gate_for",
    "parse_retry_after",
]

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 5.0  # a backend that is down is tried again at least this often


@dataclass(frozen=True)
class SendResult:
    """What became of one request after all its attempts."""

    ok: bool
    status: Optional[int] = None
    reason: Optional[str] = None  # a drop reason when not ok
    too_large: bool = False
    body: bytes = b""
    final: bool = False  # the backend refused it for good: retrying or spooling cannot help
    #: For a person: what went wrong ("connection refused", "HTTP 404: Not Found"), secrets
    #: scrubbed.
    detail: str = ""


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": an HTTP date is always GMT, never local time
        when = when.replace(tzinfo=datetime.timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class BackendGate:
    """A backend's wait window (``Retry-After``, back-off after failures), shared by everything
    that talks to it."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._closed_until = 0.0
        self._failures = 0  # consecutive failed requests
        #: Why the window is closed: the drop reason of a request that cannot wait it out, and
        #: what went wrong, for a person.
        self.cause = "rate_limited"
        self.detail = ""

    def block_for(self, seconds: float, detail: str = "") -> None:
        """The backend asked for a pause (``Retry-After``)."""
        with self._lock:
            self._closed_until = max(self._closed_until, time.monotonic() + seconds)
            self.cause = "rate_limited"
            self.detail = detail or f"asked to wait {seconds:.3g} s (Retry-After)"

    def failed(self, detail: str = "") -> None:
        """A request failed in a way a retry may cure: everyone backs off.

        Requests that were already in flight when the window opened do not lengthen it.
        """
        now = time.monotonic()
        with self._lock:
            self.detail = detail or self.detail
            if now < self._closed_until:
                return
            self._closed_until = now + _backoff(self._failures)
            self._failures += 1
            self.cause = "network_error"

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0

    def wait_time(self) -> float:
        return max(0.0, self._closed_until - time.monotonic())

    @property
    def opened_at(self) -> float:
        """When the latest window ends or ended (``time.monotonic``; 0 if there was none)."""
        return self._closed_until


_gates: dict[str, BackendGate] = {}
_gates_lock = forksafe.Lock()


def gate_for(base_url: str) -> BackendGate:
    """The process-wide gate for one backend."""
    with _gates_lock:
        gate = _gates.get(base_url)
        if gate is None:
            gate = _gates[base_url] = BackendGate()
        return gate


_tls_warned = False
_ssl_contexts: dict[str, ssl.SSLContext] = {}


def _ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    """One verifying SSL context per CA bundle for the whole process (each costs ~20 ms)."""
    if verify is False:
        return False
    cafile = verify if isinstance(verify, str) else None
    key = cafile or ""
    context = _ssl_contexts.get(key)
    if context is None:
        if cafile is None:
            import certifi

            cafile = certifi.where()
        context = _ssl_contexts[key] = ssl.create_default_context(cafile=cafile)
    return context


def _warn_tls_off_once() -> None:
    global _tls_warned
    if not _tls_warned:
        _tls_warned = True
        logger.warning(
            "TLS certificate verification is OFF (verify_tls=False): traces can be read or "
            "altered in transit"
        )


class HttpTransport:
    """Sends requests to one backend with retries; never raises."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        verify: bool | str = True,
        gate: Optional[BackendGate] = None,
        connections: int = 4,
    ) -> None:
        import encodings.idna  # noqa: F401 - socket.getaddrinfo imports it lazily: not in a worker

        import httpx  # imported here, on the caller's thread, never lazily in the worker

        self._httpx = httpx
        if verify is False:
            _warn_tls_off_once()
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        # What must never appear in a description of a failure: credentials in the headers
        # (the API key; any secret-looking header an OTLP endpoint was configured with).
        from honeyhive._http import is_secret_header

        self._secrets = [
            part
            for name, value in headers.items()
            if is_secret_header(name)
            for part in (value, value.split(" ", 1)[-1])
            if len(part) >= 4
        ]
        self._verify = verify
        self._gate = gate if gate is not None else gate_for(self.base_url)
        self._connections = max(1, connections)
        self._client: Optional[httpx.Client] = None
        self._pid = os.getpid()
        self._lock = forksafe.Lock()
        self._in_flight = 0
        self._closing = False
        # Made now, on the caller's thread: building the first client imports httpcore, h11 and
        # certifi, and a sending thread must never be in the middle of an import when the
        # process forks (the child would inherit a held import lock).
        self._get_client()

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r})"  # headers hold the API key: never shown

    @property
    def gate(self) -> BackendGate:
        return self._gate

    def _get_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                # After a fork the inherited client's sockets belong to the parent: drop it
                # without closing (closing would shut the parent's connections).
                self._pid = os.getpid()
                self._client = self._httpx.Client(
                    verify=_ssl_context(self._verify),
                    follow_redirects=False,
                    trust_env=False,
                    limits=self._httpx.Limits(
                        max_connections=self._connections,
                        max_keepalive_connections=self._connections,
                    ),
                )
            return self._client

    def close(self) -> None:
        """Close the client now, or, if a request is in flight, as soon as it ends."""
        with self._lock:
            self._closing = True
            if self._in_flight:
                return  # the sending thread closes it (closing under it would leak its socket)
            client, self._client = self._client, None
        self._close_client(client)

    def _close_client(self, client: Optional[httpx.Client]) -> None:
        if client is not None and self._pid == os.getpid():
            try:
                client.close()
            except Exception as exc:
                logger.debug("closing the HTTP client failed: %r", exc)

    def _request(
        self, method: str, url: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes, Optional[str]]:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's requests are not ours
                self._in_flight = 0
            if self._closing:
                raise self._httpx.ConnectError("transport closed")
            self._in_flight += 1
        try:
            client = self._get_client()
            with client.stream(method, url, content=body, headers=headers, timeout=timeout) as r:
                return r.status_code, _read_limited(r), r.headers.get("retry-after")
        finally:
            self._request_done()

    def _request_done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            leftover = None
            if self._closing and not self._in_flight:  # close() was called meanwhile
                leftover, self._client = self._client, None
        self._close_client(leftover)

    def send(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        *,
        deadline: float,
        stop: threading.Event,
    ) -> SendResult:
        """Send with retries until success, a final answer, the deadline or ``stop``."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        all_headers = {**self._headers, **headers}
        reason = "network_error"
        detail = ""
        attempted = False
        httpx = self._httpx
        gate = self._gate
        while True:
            closed = gate.wait_time()
            if closed > 0:
                if time.monotonic() + closed > deadline:
                    if not attempted:
                        reason, detail = gate.cause, gate.detail
                    return SendResult(False, reason=reason, detail=detail)
                if stop.wait(closed):
                    return SendResult(False, reason="shutdown", detail="the process was stopping")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return SendResult(False, reason=reason, detail=detail or "deadline reached")
            attempted = True
            try:
                status, data, retry_header = self._request(
                    method, url, body, all_headers, remaining
                )
            except httpx.TransportError as exc:
                reason = "network_error"
                detail = self._scrub(describe_error(exc, remaining))
                logger.debug("request to %s failed: %s", self.base_url, detail)
                gate.failed(detail)
                continue
            if 200 <= status < 300:
                gate.succeeded()
                return SendResult(True, status=status, body=data)
            detail = self._scrub(f"HTTP {status}: {_first_line(data)}".rstrip(": "))
            if status == 413:
                return SendResult(
                    False, status=status, reason="payload_too_large", too_large=True, detail=detail
                )
            if status not in RETRYABLE_STATUS:
                # A refusal (4xx): the request is wrong for this backend; retrying cannot help.
                refused = 400 <= status < 500
                return SendResult(
                    False,
                    status=status,
                    reason="refused" if refused else "network_error",
                    final=True,
                    detail=detail,
                )
            reason = "rate_limited" if status == 429 else "network_error"
            retry_after = parse_retry_after(retry_header)
            if retry_after is not None:
                gate.block_for(retry_after, f"{detail} (Retry-After: {retry_after:.3g} s)")
            else:
                gate.failed(detail)

    def _scrub(self, text: str) -> str:
        """The API key (and any other header value that is a credential) never shows."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[REDACTED]")
        return text


def describe_error(exc: BaseException, timeout: float) -> str:
    """An HTTP client error in a few words: connection refused, timed out, TLS, DNS."""
    chain: list[BaseException] = []
    current: Optional[BaseException] = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in chain:
        if isinstance(error, ssl.SSLError):
            return f"TLS: {getattr(error, 'reason', None) or error}"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, socket.gaierror):
            return "DNS: the host name cannot be resolved"
    name = type(exc).__name__
    if "Timeout" in name:
        return f"no answer within {timeout:.3g} s ({name})"
    if name == "RemoteProtocolError":
        return "the connection was closed without an answer"
    text = str(exc).strip()
    return f"{name}: {text}" if text else name


def _first_line(body: bytes) -> str:
    text = body[:2000].decode("utf-8", "replace").strip()
    line = text.splitlines()[0] if text else ""
    return line[:200]


def _backoff(attempt: int) -> float:
    """Exponential, with jitter so that processes that failed together do not retry together."""
    base: float = min(_BACKOFF_CAP, _BACKOFF_BASE * (2.0**attempt))
    return base * random.uniform(0.5, 1.0)


def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]

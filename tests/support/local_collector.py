"""Helpers for testing the product collector (``honeyhive serve``), not the test collector.

:class:`ServeProcess` runs ``python -m honeyhive serve`` as a subprocess (the real command, on a
free port) and stops it with SIGTERM; :func:`otlp_json` builds OTLP/JSON export bodies by hand,
for the requests the SDK would never send.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import httpx

__all__ = ["ServeProcess", "clean_env", "otlp_json", "otlp_span"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without HH_/OTEL_ variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "HONEYHIVE_", "OTEL_"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


class ServeProcess:
    """``honeyhive serve --port 0 --db DB [args]`` in a subprocess."""

    def __init__(self, db: Path, *args: str, env: Optional[dict[str, str]] = None) -> None:
        self.db = db
        self.process = subprocess.Popen(
            [sys.executable, "-m", "honeyhive", "serve", "--port", "0", "--db", str(db), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or clean_env(),
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if "listening on " not in first:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"honeyhive serve did not start: {first!r}\n{err}")
        self.url = first.split("listening on ", 1)[1].strip()
        self.banner = [first]
        while not self.banner[-1].startswith("Press Ctrl-C"):
            line = self.process.stdout.readline()
            if not line:
                break
            self.banner.append(line)
        deadline = time.monotonic() + 20
        while True:  # the socket listens already; wait until uvicorn answers
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("honeyhive serve does not answer")
            time.sleep(0.05)

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM, wait; returns (exit status, stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=20)
        return self.process.returncode, "".join(self.banner) + out, err

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=20)


def otlp_span(
    trace_id: str,
    span_id: str,
    name: str = "op",
    *,
    parent: str = "",
    session_id: Optional[str] = None,
    error: Optional[str] = None,
    start_ns: int = 1_700_000_000_000_000_000,
    duration_ns: int = 5_000_000,
    attributes: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """One OTLP/JSON span (ids in hex, as the JSON mapping wants)."""
    attrs = dict(attributes or {})
    if session_id is not None:
        attrs.setdefault("honeyhive.session_id", session_id)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + duration_ns),
        "attributes": [{"key": k, "value": _any_value(v)} for k, v in attrs.items()],
    }
    if parent:
        span["parentSpanId"] = parent
    if error is not None:
        span["status"] = {"code": 2, "message": error}
    return span


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def otlp_json(*spans: dict[str, Any], service: str = "test-service") -> bytes:
    """An OTLP/JSON ExportTraceServiceRequest holding ``spans``."""
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [{"scope": {"name": "tests", "version": "1"}, "spans": list(spans)}],
            }
        ]
    }
    return json.dumps(body).encode()

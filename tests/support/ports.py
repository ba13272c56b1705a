"""A free TCP port on 127.0.0.1, and a real server started on one, for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

__all__ = ["free_port", "start_server"]


def free_port() -> int:
    """A port nothing listens on right now (the OS picked it; reuse races are unlikely)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    command: list[str], env: dict[str, str], cwd: Path, timeout: float = 30.0
) -> tuple[subprocess.Popen[str], str]:
    """Start ``command`` (``{port}`` in it is a free port) in a process group of its own and
    wait until ``GET /healthz`` answers; returns the process (stderr piped, as text) and its
    base URL. A server that exits or does not answer in time fails the test with its stderr."""
    port = free_port()
    argv = [part.format(port=port) for part in command]
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(base + "/healthz", timeout=1)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None:
                raise AssertionError(f"{argv} exited: {process.communicate()[1]}") from None
            if time.monotonic() >= deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(f"{argv} did not start: {process.communicate()[1]}") from None
            time.sleep(0.1)

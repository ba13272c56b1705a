"""Headless Chromium for the viewer's tests and benchmark (Debian's ``chromium`` package).

Two ways in:

* :func:`dump_dom` and :func:`screenshot` run ``chromium --headless`` once per page, with a
  virtual time budget so that the page's scripts (fetching and rendering) finish before the DOM
  is dumped or the picture taken. Virtual time stands still while JavaScript runs, so
  ``performance.now()`` is useless for timing there.
* :class:`DevTools` drives one browser over the DevTools protocol on a pipe (``--remote-debugging
  -pipe``: file descriptors 3 and 4, JSON messages ending in NUL), in real time: it navigates
  and polls the page, which is how render times are measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

__all__ = ["BrowserError", "DevTools", "chromium_path", "dump_dom", "screenshot"]

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class BrowserError(Exception):
    pass


def chromium_path() -> Optional[str]:
    """The Chromium executable, or None when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    binary = chromium_path()
    if binary is None:
        raise BrowserError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="hh-chromium-") as profile:
        command = [binary, *_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(command, capture_output=True, timeout=timeout, check=False)


def dump_dom(url: str, *, budget_ms: int = 5000, timeout: float = 60.0) -> str:
    """The page's DOM after its scripts ran (virtual time budget ``budget_ms``)."""
    done = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", url], timeout)
    if done.returncode != 0:
        raise BrowserError(f"chromium --dump-dom failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode("utf-8", errors="replace")


def screenshot(
    url: str,
    path: Path,
    *,
    size: tuple[int, int] = (1400, 900),
    budget_ms: int = 5000,
    timeout: float = 60.0,
) -> None:
    """A PNG of the page after its scripts ran."""
    args = [
        f"--virtual-time-budget={budget_ms}",
        f"--screenshot={path}",
        f"--window-size={size[0]},{size[1]}",
        "--hide-scrollbars",
        url,
    ]
    done = _run(args, timeout)
    if done.returncode != 0 or not path.is_file():
        raise BrowserError(f"chromium --screenshot failed: {done.stderr.decode(errors='replace')}")


class DevTools:
    """One headless Chromium driven over the DevTools protocol on a pipe, in real time."""

    def __init__(self, timeout: float = 30.0) -> None:
        binary = chromium_path()
        if binary is None:
            raise BrowserError("chromium is not installed")
        self._timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="hh-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_fds() -> None:  # Chromium reads commands on fd 3 and writes on fd 4
            commands, answers = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self._process = subprocess.Popen(
            [
                binary,
                *_FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-pipe",
                "--window-size=1400,900",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,
            pass_fds=(3, 4),  # kept open in the child: wire_fds put the pipes there
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self._from_browser], [], [], max(0.0, remaining))
            if not readable:
                raise BrowserError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(
        self, method: str, params: Optional[dict[str, Any]] = None, *, session: bool = False
    ) -> dict[str, Any]:
        """Send one command and wait for its result (events in between are dropped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self._timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url}, session=True)

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, interval: float = 0.02) -> Any:
        """Poll ``expression`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except BrowserError as error:
                # A click or redirect can swap the page between two polls; the
                # next poll runs in the new page.
                if "navigated or closed" not in str(error) and "context" not in str(error):
                    raise
                value = None
            if value:
                return value
            time.sleep(interval)
        raise BrowserError(f"timed out waiting for {expression!r}")

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def __enter__(self) -> DevTools:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

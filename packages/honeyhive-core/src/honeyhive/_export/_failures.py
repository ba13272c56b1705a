"""Failures to deliver, told where a user sees them: no debug flag needed, no secret shown.

One :class:`BackendReport` per backend URL in the process (every path to it shares it). The
first request the backend could not take logs one WARNING: the URL (credentials redacted), what
went wrong (connection refused, timed out, TLS, DNS, or the HTTP status with the first line of
the answer), what it likely means, and what became of the request (dropped, or spooled). While
failures go on, at most one summary a minute; when requests get through again, one line says so.
The tracer's final count at close (``_tracer``) completes the story.
"""

from __future__ import annotations

import time
from typing import Optional

from honeyhive import _forksafe as forksafe
from honeyhive._diagnostics import logger

__all__ = ["BACKEND_REASONS", "BackendReport", "last_failure", "report_for"]

_SUMMARY_INTERVAL = 60.0
#: Drop reasons that say something about the backend (the others: the process, the data).
BACKEND_REASONS = frozenset({"network_error", "refused", "rate_limited", "payload_too_large"})
_KINDS = {"spans": "span", "calls": "API call"}


def _hint(detail: str, setting: str) -> str:
    """What a failure most likely means, in one sentence."""
    if detail.startswith("HTTP "):
        status = detail[5:8]
        if status in ("404", "405"):
            return f"404: is {setting} the API's base URL (scheme, host and port, no path)?"
        if status in ("401", "403"):
            return "the backend refuses the credentials: is HH_API_KEY right for it?"
        if status == "429":
            return "the backend asks to slow down: the SDK waits as long as it says."
        if status.startswith("4"):
            return f"the backend refuses what the SDK sends: is {setting} a HoneyHive API?"
        return "the backend is failing: the SDK retries with back-off."
    if detail == "connection refused":
        return f"nothing listens there: is the backend running, and is {setting} right?"
    if detail.startswith("DNS"):
        return f"check the host name in {setting}."
    if detail.startswith("TLS"):
        return "check the backend's certificate (or HH_VERIFY_TLS for a test backend)."
    if detail.startswith("no answer"):
        return "the backend does not answer in time (HH_EXPORT_TIMEOUT)."
    return f"check that {setting} points at a reachable backend."


def _plural(count: int, kind: str) -> str:
    noun = _KINDS.get(kind, kind)
    return f"{count} {noun}{'' if count == 1 else 's'}"


class BackendReport:
    """What one backend failed to take, and whether it is said already."""

    def __init__(self, url: str, setting: str) -> None:
        from honeyhive._http import redact_url

        self.url = redact_url(url)
        self.setting = setting
        self._lock = forksafe.Lock()
        self._warned = False
        self._failing = False
        self._last_summary = 0.0
        self._pending: dict[str, int] = {}  # lost since the last message, by kind
        self.last_detail = ""

    def failed(self, kind: str, count: int, reason: str, detail: str, spooled: bool) -> None:
        """A request was given up (``spooled``: written to disk for later, not lost)."""
        if reason not in BACKEND_REASONS:
            return
        now = time.monotonic()
        with self._lock:
            first = not self._failing  # a new episode: said in full
            self._failing = True
            if detail or not self.last_detail:
                self.last_detail = detail or reason
            if not spooled:
                self._pending[kind] = self._pending.get(kind, 0) + count
            due = not self._warned or now - self._last_summary >= _SUMMARY_INTERVAL
            if not due:
                return
            self._warned = True
            self._last_summary = now
            pending, self._pending = self._pending, {}
        what = self.last_detail
        if first:
            fate = (
                f"{_plural(count, kind)} spooled to disk for later"
                if spooled
                else f"{_plural(count, kind)} dropped"
            )
            logger.warning(
                "honeyhive: cannot deliver to %s: %s. %s (%s; further failures are summarised "
                "at most once a minute)",
                self.url,
                what,
                _hint(what, self.setting),
                fate,
            )
            return
        lost = ", ".join(_plural(n, k) for k, n in sorted(pending.items())) or "nothing"
        logger.warning(
            "honeyhive: %s still failing (%s): %s dropped in the last minute. %s",
            self.url,
            what,
            lost,
            _hint(what, self.setting),
        )

    def recovered(self) -> None:
        if not self._failing:  # the usual case: one attribute read per delivered request
            return
        with self._lock:
            was_failing, self._failing = self._failing, False
        if was_failing:
            logger.info("honeyhive: %s accepts requests again", self.url)


_reports: dict[str, BackendReport] = {}
_reports_lock = forksafe.Lock()


def report_for(url: str, setting: str = "HH_API_URL") -> BackendReport:
    """The process-wide report for one backend (``setting``: where its URL is configured)."""
    with _reports_lock:
        report = _reports.get(url)
        if report is None:
            report = _reports[url] = BackendReport(url, setting)
        return report


def last_failure(url: str) -> Optional[str]:
    """What went wrong last with this backend (None: nothing yet)."""
    report = _reports.get(url)
    return report.last_detail or None if report is not None else None

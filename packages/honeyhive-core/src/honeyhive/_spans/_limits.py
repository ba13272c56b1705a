"""The capture limits: how much of a captured value a span keeps, and how a cut is reported.

A tracer's :class:`CaptureRules` bound every value the SDK captures (arguments, results,
keyword attributes, enrichments, event and session bodies) while it is flattened, before
OpenTelemetry sees it, so a huge value costs what the limit costs:

* ``max_length``: characters of one string (``capture_max_length``);
* ``max_items``: elements of one list, tuple, set or mapping (``capture_max_items``);
* ``max_attributes``: captured attributes on one span (``capture_max_attributes``); the span
  keeps :data:`RESERVED_ATTRIBUTES` more for the SDK's own (session, error, HTTP status);
* nesting deeper than :data:`MAX_DEPTH` and keys longer than :data:`MAX_KEY_LENGTH` are cut too.

What is cut is marked in the value (``...[truncated 120 chars]``, a last list element
``...[truncated 1472 items]``, a ``_truncated`` entry in a mapping) and counted on the span as
``honeyhive.truncated``. :func:`report_truncation` says so in the log, at most once a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from honeyhive import _forksafe as forksafe
from honeyhive._diagnostics import logger
from honeyhive._spans._redaction import is_secret_name

__all__ = [
    "MAX_DEPTH",
    "MAX_KEY_LENGTH",
    "RESERVED_ATTRIBUTES",
    "TRUNCATED",
    "CaptureRules",
    "cut_text",
    "cut_texts",
    "report_truncation",
]

#: The span attribute counting the values cut or left out by the limits.
TRUNCATED = "honeyhive.truncated"
#: Attributes a span keeps beyond ``capture_max_attributes`` for the SDK's own bookkeeping.
RESERVED_ATTRIBUTES = 32
MAX_DEPTH = 8
MAX_KEY_LENGTH = 256
_REPORT_INTERVAL = 60.0


@dataclass(frozen=True)
class CaptureRules:
    """One tracer's limits and secret-key rule, as flattening reads them."""

    __slots__ = ("is_secret", "max_attributes", "max_items", "max_length")

    max_length: int
    max_items: int
    max_attributes: int
    is_secret: Callable[[str], bool]

    @classmethod
    def of(
        cls,
        max_length: int = 16384,
        max_items: int = 32,
        max_attributes: int = 128,
        secret_keys: Callable[[str], bool] = is_secret_name,
    ) -> CaptureRules:
        # A SecretKeys list is asked through its plain function: flattening asks it a lot.
        lookup = getattr(secret_keys, "lookup", secret_keys)
        return cls(max_length, max_items, max_attributes, lookup)


def cut_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with how much is missing."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[truncated {len(text) - limit} chars]"


def cut_texts(attributes: dict[str, Any], limit: int) -> int:
    """Cut the text values of ``attributes`` (strings, tuples of strings) in place at ``limit``
    characters, each cut marked; returns how many were cut."""
    cut = 0
    for key, value in attributes.items():
        kind = type(value)
        if kind is str:
            if len(value) > limit:
                attributes[key] = cut_text(value, limit)
                cut += 1
        elif kind is tuple and any(type(v) is str and len(v) > limit for v in value):
            attributes[key] = tuple(cut_text(v, limit) if type(v) is str else v for v in value)
            cut += 1
    return cut


class _Reporter:
    """One log line a minute at most, whatever the number of spans with cut values."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._last = -_REPORT_INTERVAL
        self._spans_since = 0

    def report(self, span_name: str, count: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._spans_since += 1
            if now - self._last < _REPORT_INTERVAL:
                return
            self._last = now
            others, self._spans_since = self._spans_since - 1, 0
        logger.warning(
            "honeyhive: %d captured value(s) on span %r were cut or left out by the capture "
            "limits (the span's %s attribute counts them; %d other span(s) since the last "
            "message). Raise capture_max_length, capture_max_items or capture_max_attributes "
            "to keep more.",
            count,
            span_name[:200],
            TRUNCATED,
            others,
        )


_reporter = _Reporter()


def report_truncation(span_name: object, count: int) -> None:
    """Say that ``count`` values on a span were cut (rate-limited: once a minute at most)."""
    if count > 0:
        _reporter.report(span_name if isinstance(span_name, str) else "<span>", count)

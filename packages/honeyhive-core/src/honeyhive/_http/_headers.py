"""Which request and response headers become span attributes, and how secrets stay out.

Capture is off by default. An allowlist turns it on (names or full-match patterns, matched
case-insensitively); a denylist of secret-bearing headers stays redacted even when allowlisted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Optional

from honeyhive._spans import REDACTED

__all__ = ["HeaderCapture", "is_secret_header"]

_ALWAYS_SECRET = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
_SECRET_PARTS = ("token", "secret", "password", "session", "csrf", "auth", "key", "signature")
_MAX_VALUE = 4096


@functools.lru_cache(maxsize=1024)
def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _ALWAYS_SECRET or any(part in lowered for part in _SECRET_PARTS)


class HeaderCapture:
    """Turns headers into ``http.{request,response}.header.<name>`` attributes."""

    def __init__(self, patterns: Iterable[str], prefix: str) -> None:
        cleaned = [p.strip() for p in patterns if p and p.strip()]
        self.enabled = bool(cleaned)
        self._prefix = prefix
        self._pattern: Optional[re.Pattern[str]] = None
        if cleaned:
            self._pattern = re.compile("|".join(f"(?:{p})" for p in cleaned), re.IGNORECASE)
        self._decisions: dict[str, Optional[str]] = {}

    def _attribute_for(self, name: str) -> Optional[str]:
        decided = self._decisions.get(name, "?")
        if decided != "?":
            return decided
        assert self._pattern is not None
        key = None
        if self._pattern.fullmatch(name):
            key = f"{self._prefix}{name.lower()}"
        if len(self._decisions) < 1024:
            self._decisions[name] = key
        return key

    def attributes(self, headers: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
        """The captured headers; repeated headers become several values."""
        if not self.enabled:
            return {}
        found: dict[str, list[str]] = {}
        for name, value in headers:
            key = self._attribute_for(name)
            if key is None:
                continue
            shown = REDACTED if is_secret_header(name) else value[:_MAX_VALUE]
            found.setdefault(key, []).append(shown)
        return {key: tuple(values) for key, values in found.items()}

"""Which request and response headers become span attributes, and how secrets stay out.

Capture is off by default. An allowlist turns it on (names or full-match patterns, matched
case-insensitively); a denylist of secret-bearing headers stays redacted even when allowlisted.
The denylist is a list of name parts: a header is redacted when its name contains one of them
(``auth`` covers ``Authorization``, ``Proxy-Authorization`` and ``X-Auth-Token``). Users edit it
with the ``redact_headers`` setting (``"x-tenant"`` adds, ``"-key"`` takes a default out).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Callable, Optional

from honeyhive._spans import REDACTED

__all__ = ["DEFAULT_REDACT_HEADERS", "HeaderCapture", "SecretHeaders", "is_secret_header"]

#: Parts of header names whose values are redacted by default.
DEFAULT_REDACT_HEADERS: tuple[str, ...] = (
    "authorization",
    "auth",
    "cookie",
    "token",
    "secret",
    "password",
    "credential",
    "key",
    "signature",
    "session",
    "csrf",
    "xsrf",
    "jwt",  # X-JWT-Assertion, Cf-Access-Jwt-Assertion, X-Goog-IAP-JWT-Assertion
    "assertion",
    "oidc",  # X-Amzn-Oidc-Data: a signed token with the user's claims
    "dpop",  # DPoP proofs (RFC 9449)
    "principal",  # X-MS-Client-Principal: the signed-in user, base64
    "saml",
    "baggage",  # W3C baggage carries whatever the caller put in it: user ids, session ids
)
_MAX_VALUE = 4096


class SecretHeaders:
    """``headers(name)``: whether a header's value is redacted (name contains a listed part)."""

    __slots__ = ("_check", "names")

    def __init__(self, names: Sequence[str] = DEFAULT_REDACT_HEADERS) -> None:
        self.names = tuple(name.lower() for name in names)
        parts = self.names

        @functools.lru_cache(maxsize=1024)
        def check(name: str) -> bool:
            lowered = name.lower()
            return any(part in lowered for part in parts)

        self._check = check

    def __call__(self, name: str) -> bool:
        return self._check(name)


_DEFAULT = SecretHeaders()


def is_secret_header(name: str) -> bool:
    """Whether a header's value is redacted by the default list."""
    return _DEFAULT(name)


class HeaderCapture:
    """Turns headers into ``http.{request,response}.header.<name>`` attributes."""

    def __init__(
        self,
        patterns: Iterable[str],
        prefix: str,
        secret: Callable[[str], bool] = is_secret_header,
    ) -> None:
        cleaned = [p.strip() for p in patterns if p and p.strip()]
        self.enabled = bool(cleaned)
        self._prefix = prefix
        self._secret = secret
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
        secret = self._secret
        for name, value in headers:
            key = self._attribute_for(name)
            if key is None:
                continue
            shown = REDACTED if secret(name) else value[:_MAX_VALUE]
            found.setdefault(key, []).append(shown)
        return {key: tuple(values) for key, values in found.items()}

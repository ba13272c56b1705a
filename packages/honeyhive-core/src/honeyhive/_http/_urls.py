"""URL redaction: no userinfo and no signed, secret or session-bearing query values leave the
process.

A query parameter's value is redacted when its name (percent-decoded, case-insensitive) matches
an entry of the list (``*`` matches any characters: ``x-amz-*``) or looks like a secret by the
attribute-key rule (``access_token``, ``password``, ``api_key``). Users edit the list with the
``redact_query_params`` setting (``"tenant"`` adds, ``"-state"`` takes a default out).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Sequence
from typing import Callable
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from honeyhive._spans import REDACTED, is_secret_name

__all__ = ["DEFAULT_REDACT_QUERY_PARAMS", "QueryRedaction", "redact_query", "redact_url"]

#: Query parameters whose values are redacted by default (besides secret-looking names).
DEFAULT_REDACT_QUERY_PARAMS: tuple[str, ...] = (
    # signed URLs: AWS, Google Cloud, Azure SAS
    "sig",
    "signature",
    "x-amz-*",
    "x-goog-*",
    "awsaccesskeyid",
    "x-ms-signature",
    "se",
    "sp",
    "sv",
    "skoid",
    "sktid",
    # OAuth 2, OpenID Connect, SAML, CAS
    "key",
    "code",
    "code_verifier",
    "jwt",
    "id_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "state",
    "oauth_verifier",
    "samlresponse",
    "samlrequest",
    "ticket",
    # sessions: sessionid, session_id, JSESSIONID, ASPSESSIONID..., PHPSESSID, sid, connect.sid
    "*session*",
    "*sessid*",
    "sid",
    "*.sid",
    # one-time codes
    "otp",
    "passcode",
)


class QueryRedaction:
    """Redacts query values by parameter name: one tracer's list, compiled once."""

    __slots__ = ("_is_secret", "_secret", "names")

    def __init__(
        self,
        names: Sequence[str] = DEFAULT_REDACT_QUERY_PARAMS,
        secret_keys: Callable[[str], bool] = is_secret_name,
    ) -> None:
        self.names = tuple(name.lower() for name in names)
        pattern = (
            re.compile("|".join(fnmatch.translate(n) for n in self.names), re.IGNORECASE)
            if self.names
            else None
        )

        @functools.lru_cache(maxsize=1024)
        def is_secret(raw: str) -> bool:
            name = unquote_plus(raw)  # "si%67" is read as "sig" by the server
            return (pattern is not None and pattern.match(name) is not None) or secret_keys(name)

        self._is_secret = is_secret

    def query(self, query: str) -> str:
        """``a=1&token=abc`` -> ``a=1&token=[REDACTED]``; keeps order, names and empty values."""
        if not query:
            return query
        parts = []
        is_secret = self._is_secret
        for item in query.split("&"):
            name, sep, value = item.partition("=")
            parts.append(f"{name}={REDACTED}" if sep and value and is_secret(name) else item)
        return "&".join(parts)

    def url(self, url: str) -> str:
        """The URL without userinfo, with secret query values redacted and no fragment."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return REDACTED
        netloc = parts.netloc.rpartition("@")[2]
        cleaned = SplitResult(parts.scheme, netloc, parts.path, self.query(parts.query), "")
        return urlunsplit(cleaned)


_DEFAULT = QueryRedaction()


def redact_query(query: str) -> str:
    """``a=1&token=abc`` -> ``a=1&token=[REDACTED]``, by the default lists."""
    return _DEFAULT.query(query)


def redact_url(url: str) -> str:
    """The URL without userinfo, with secret query values redacted and no fragment (by the
    default lists)."""
    return _DEFAULT.url(url)

"""URL redaction: no userinfo and no signed or secret query values leave the process."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from honeyhive._spans import REDACTED, is_secret_name

__all__ = ["redact_query", "redact_url"]

_SIGNED_PARAM = re.compile(
    r"^(?:sig|signature|x-amz-[a-z-]+|x-goog-[a-z-]+|awsaccesskeyid|"
    r"x-ms-signature|se|sp|sv|skoid|sktid)$",
    re.IGNORECASE,
)


_ALSO_SECRET = frozenset({"key", "code", "jwt", "id_token", "client_secret", "state"})


def _secret_param(name: str) -> bool:
    name = unquote_plus(name)  # "si%67" is read as "sig" by the server
    return bool(_SIGNED_PARAM.match(name)) or is_secret_name(name) or name.lower() in _ALSO_SECRET


def redact_query(query: str) -> str:
    """``a=1&token=abc`` -> ``a=1&token=[REDACTED]``; keeps order, names and empty values."""
    if not query:
        return query
    parts = []
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and value and _secret_param(name) else item)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """The URL without userinfo, with secret query values redacted and no fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc.rpartition("@")[2]
    cleaned = SplitResult(parts.scheme, netloc, parts.path, redact_query(parts.query), "")
    return urlunsplit(cleaned)

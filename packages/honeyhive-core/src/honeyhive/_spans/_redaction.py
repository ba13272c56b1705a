"""Which names hold secrets: attribute keys, and the editable name lists behind every redaction.

Three lists decide what is redacted: attribute keys (here), request header names
(``honeyhive._http._headers``) and query parameter names (``honeyhive._http._urls``). Each has
documented defaults that a user edits with :func:`edit_names`: a name adds to the defaults, a
name written ``-name`` takes a default out.

An attribute-key entry matches a key that contains it as whole words, whatever the separators
or case: ``api_key`` matches ``x_api_key``, ``apiKey``, ``OPENAI-API-KEY`` and ``apikey``; an
entry ending in ``$`` matches only as the key's last words, so ``token$`` catches
``refresh_token`` and ``auth.token`` but not ``llm.token_count.prompt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Callable

__all__ = ["DEFAULT_REDACT_KEYS", "REDACTED", "SecretKeys", "edit_names", "is_secret_name"]

REDACTED = "[REDACTED]"

#: Attribute keys redacted by default (see the module docstring for how entries match).
DEFAULT_REDACT_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "secret",
    "api_key",
    "authorization",
    "cookie",
    "set_cookie",
    "credential",
    "credentials",
    "private_key",
    "access_key",
    "token$",
    "auth$",
    "signature$",
    "session_key$",
)

_WORD_SPLIT = re.compile(r"[._\-\s]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CACHE_SIZE = 4096


def edit_names(defaults: Sequence[str], edits: Iterable[str], setting: str) -> tuple[str, ...]:
    """The defaults with ``edits`` applied: ``"name"`` adds, ``"-name"`` removes a default.

    Names compare case-insensitively. Raises ValueError, naming ``setting``, for an entry that is
    not a non-empty string or that removes a name the defaults do not have (a typo would
    otherwise silently keep redacting, or silently stop).
    """
    names = [name.lower() for name in defaults]
    for raw in edits:
        if not isinstance(raw, str) or not raw.strip() or raw.strip() == "-":
            raise ValueError(f"{setting}: every entry must be a non-empty name, got {raw!r}")
        entry = raw.strip().lower()
        if entry.startswith("-"):
            removed = entry[1:].strip()
            if removed not in names:
                raise ValueError(
                    f"{setting}: {raw!r} removes {removed!r}, which is not a default "
                    f"(the defaults are: {', '.join(defaults)})"
                )
            names = [name for name in names if name != removed]
        elif entry not in names:
            names.append(entry)
    return tuple(names)


def _entry_pattern(entry: str) -> str:
    last_only = entry.endswith("$")
    words = [w for w in _WORD_SPLIT.split(_CAMEL_BOUNDARY.sub("_", entry.rstrip("$"))) if w]
    body = r"[._\-\s]?".join(re.escape(word) for word in words)
    end = r"$" if last_only else r"(?:$|[._\-\s])"
    return rf"(?:^|[._\-\s]){body}{end}"


class SecretKeys:
    """``keys(name)``: whether an attribute or argument name holds a secret (cached per name).

    ``keys.lookup`` is the same check as a plain function, for the hot path (``@trace`` asks it
    for every argument): calling it costs about half of calling the object.
    """

    __slots__ = ("lookup", "names")

    def __init__(self, names: Sequence[str] = DEFAULT_REDACT_KEYS) -> None:
        self.names = tuple(names)
        words = [w for w in (_entry_pattern(n) for n in self.names) if w]
        pattern = re.compile("|".join(words), re.IGNORECASE) if words else None
        cache: dict[str, bool] = {}

        def lookup(name: str) -> bool:
            hit = cache.get(name)
            if hit is None:
                # "userPassword" -> "user_Password": camelCase words count as words
                hit = (
                    pattern is not None
                    and pattern.search(_CAMEL_BOUNDARY.sub("_", name)) is not None
                )
                if len(cache) < _CACHE_SIZE:
                    cache[name] = hit
            return hit

        self.lookup: Callable[[str], bool] = lookup

    def __call__(self, name: str) -> bool:
        return self.lookup(name)


_DEFAULT_KEYS = SecretKeys()


#: Whether a key looks like it holds a secret, by the default list.
is_secret_name: Callable[[str], bool] = _DEFAULT_KEYS.lookup

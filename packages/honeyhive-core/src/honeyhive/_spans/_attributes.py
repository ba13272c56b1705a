"""Turning Python values into span attributes: the protocol's flattening, redaction and bounds.

Flattening follows the HoneyHive protocol: a mapping becomes ``prefix.key`` (recursively), a
list or tuple becomes ``prefix.0``, ``prefix.1``...; ``None`` is skipped; ``bool``, ``int``,
``float`` and ``str`` keep their types; anything else is JSON-encoded (``repr`` if that fails).
Values under a secret-looking name are replaced by :data:`REDACTED`, and strings longer than the
tracer's ``capture_max_length`` are cut. Redaction fails closed: a value that cannot be checked
is dropped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, Optional, Union

from honeyhive._diagnostics import internal_error

__all__ = [
    "EVENT_TYPES",
    "REDACTED",
    "AttributeValue",
    "event_type_for",
    "flatten_into",
    "is_secret_name",
    "namespaced",
]

AttributeValue = Union[str, bool, int, float]
REDACTED = "[REDACTED]"
EVENT_TYPES = frozenset({"model", "tool", "chain"})

# Whole-word matches on names such as "password", "api_key", "X-Api-Key", "client_secret",
# "refresh_token", "Authorization", "set-cookie"; "max_tokens" and "input_tokens" are not secrets.
_SECRET_NAME = re.compile(
    r"(?:^|[._\-])(?:"
    # secret anywhere in the name ("password_hint", "api_key_v2", "x-api-key")
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|api[_\-]?key|apikey|authorization|cookie|"
    r"set[_\-]cookie|credentials?|private[_\-]?key|access[_\-]?key)(?:$|[._\-])"
    # only as the last word ("refresh_token", "x-auth-token"; not "llm.token_count.prompt")
    r"|(?:token|auth|signature|session[_\-]?key)$"
    r")",
    re.IGNORECASE,
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MAX_DEPTH = 8
_MAX_ITEMS = 128
_secret_cache: dict[str, bool] = {}


def is_secret_name(name: str) -> bool:
    """Whether a key looks like it holds a secret (cached: names repeat)."""
    hit = _secret_cache.get(name)
    if hit is None:
        words = _CAMEL_BOUNDARY.sub("_", name)  # "userPassword" -> "user_Password"
        hit = _SECRET_NAME.search(words) is not None
        if len(_secret_cache) < 4096:
            _secret_cache[name] = hit
    return hit


def event_type_for(value: object) -> str:
    """The protocol's event type for a user-given one: model, tool or chain (else tool)."""
    return value if isinstance(value, str) and value in EVENT_TYPES else "tool"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[truncated {len(text) - limit} chars]"


def _encode_other(value: Any, limit: int) -> str:
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except Exception:
        try:
            text = repr(value)
        except Exception:
            text = f"<unrepresentable {type(value).__name__}>"
    return _cut(text, limit)


def flatten_into(
    out: dict[str, AttributeValue], prefix: str, value: Any, limit: int, depth: int = 0
) -> None:
    """Add ``value`` to ``out`` under ``prefix`` following the protocol's flattening rules."""
    if value is None:
        return
    cls = type(value)
    if cls is str:
        out[prefix] = value if len(value) <= limit else _cut(value, limit)
        return
    if cls is bool or cls is int or cls is float:
        out[prefix] = value
        return
    if depth >= _MAX_DEPTH or len(out) >= _MAX_ITEMS:
        out[prefix] = _encode_other(value, limit)
        return
    if isinstance(value, Mapping):
        try:
            items = list(value.items())
        except Exception:  # a mapping that cannot be read is shown as such, never raised
            out[prefix] = f"<unreadable {type(value).__name__}>"
            return
        for key, item in items:
            name = str(key)
            if is_secret_name(name):
                out[f"{prefix}.{name}"] = REDACTED
            else:
                flatten_into(out, f"{prefix}.{name}", item, limit, depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            flatten_into(out, f"{prefix}.{index}", item, limit, depth + 1)
        return
    if isinstance(value, str):  # subclasses such as str-valued enums
        out[prefix] = _cut(str(value), limit)
        return
    if isinstance(value, (bool, int, float)):
        out[prefix] = value
        return
    fields = _as_mapping(value)
    if fields is not None:
        flatten_into(out, prefix, fields, limit, depth)
        return
    out[prefix] = _encode_other(value, limit)


def _as_mapping(value: Any) -> Optional[Mapping[str, Any]]:
    """The fields of a dataclass or a pydantic model (so that a ``password`` field is redacted
    like a ``password`` key), else None."""
    if isinstance(value, type) or callable(value):
        return None
    try:
        if dataclasses.is_dataclass(value):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        dump = getattr(value, "model_dump", None)
        if callable(dump):
            dumped = dump()
            return dumped if isinstance(dumped, Mapping) else None
    except Exception:
        return {}  # fail closed: what cannot be read safely is not exported
    return None


def namespaced(namespace: str, values: Mapping[str, Any], limit: int) -> dict[str, AttributeValue]:
    """Flatten a mapping under ``namespace`` (e.g. ``honeyhive_metadata``), redacting secrets."""
    out: dict[str, AttributeValue] = {}
    try:
        flatten_into(out, namespace, values, limit)
    except Exception as exc:  # fail closed: an unreadable value is not exported, but counted
        internal_error(f"flattening {namespace}", exc)
        return {}
    return out

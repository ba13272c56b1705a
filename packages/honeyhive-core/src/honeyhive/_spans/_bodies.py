"""The bodies of API calls (session starts, events, session enrichment) as safe JSON values.

:func:`plain_body` makes a copy of what the user gave that can be encoded later on another
thread and sent as it is: within the capture limits (strings cut, collections cut at
``max_items``, nesting at ``MAX_DEPTH``, each cut marked as flattening marks it), secret-named
keys redacted, every leaf through the mask hook, and anything that is not JSON (a dataclass, a
pydantic model, an arbitrary object) already turned into fields or text. A float that JSON
cannot hold (NaN, infinities) becomes the text proto3's JSON mapping uses (``"NaN"``,
``"Infinity"``, ``"-Infinity"``): Python would write a bare ``NaN``, which is not JSON, and a
backend refuses the whole body for it. It never raises: a mapping that cannot be read becomes a
marked placeholder, and a value whose key cannot be read is left out. It says how many values
it cut or left out, counted as flattening counts them (a cut string, a cut collection, an
unreadable value or key: one each), for ``tracer.dropped_values["truncated"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from itertools import islice
from typing import Any, Optional

from honeyhive._spans._attributes import bounded_json, fields_of, key_text, text_of
from honeyhive._spans._limits import MAX_DEPTH, CaptureRules, cut_text
from honeyhive._spans._mask import DROP, FAILED, Mask
from honeyhive._spans._redaction import REDACTED

__all__ = ["plain_body"]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _json_float(value: float) -> Any:
    """``value``, or its name when JSON cannot hold it."""
    if value - value == 0.0:  # false only for NaN and the infinities
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


class _Cuts:
    """How many values one copy cut or left out."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def text(self, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.count += 1
        return cut_text(text, limit)


def plain_body(value: Any, rules: CaptureRules, mask: Optional[Mask], path: str) -> tuple[Any, int]:
    """A bounded, redacted, masked copy of ``value`` (found at ``path``) for a JSON body
    (:data:`DROP` when the mask left it out), and how many values the limits cut or left out."""
    cuts = _Cuts()
    try:
        if isinstance(value, Mapping):  # named fields, bounded like a span's attributes
            top = max(rules.max_items, rules.max_attributes)
            return _copy_mapping(value, rules, mask, path, 0, cuts, top), cuts.count
        return _copy(value, rules, mask, path, 0, cuts), cuts.count
    except Exception as exc:  # never raised: the value is replaced by a marked placeholder
        return f"<unreadable {type(value).__name__}: {type(exc).__name__}>", cuts.count + 1


def _copy(
    value: Any, rules: CaptureRules, mask: Optional[Mask], path: str, depth: int, cuts: _Cuts
) -> Any:
    if value is None:
        return None
    kind = type(value)
    leaf: Any
    if kind is str:
        leaf = value if len(value) <= rules.max_length else cuts.text(value, rules.max_length)
    elif kind is bool or (kind is int and _INT64_MIN <= value <= _INT64_MAX):
        leaf = value
    elif kind is float:
        leaf = _json_float(value)
    elif isinstance(value, str):  # a str subclass (an enum, say): its text
        leaf = cuts.text(text_of(value), rules.max_length)
    elif isinstance(value, float):
        leaf = _json_float(float(value))
    elif isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        leaf = int(value)
    elif depth >= MAX_DEPTH:
        leaf = cuts.text(bounded_json(value, rules), rules.max_length)
    elif isinstance(value, Mapping):
        return _copy_mapping(value, rules, mask, path, depth, cuts)
    elif isinstance(value, (list, tuple, Set)):
        return _copy_items(value, rules, mask, path, depth, cuts)
    else:
        try:
            fields = fields_of(value)
        except Exception as exc:  # fail closed: what cannot be read safely is not sent
            cuts.count += 1
            leaf = f"<unreadable {type(value).__name__}: {type(exc).__name__}>"
        else:
            if fields is not None:
                return _copy_mapping(fields, rules, mask, path, depth, cuts)
            leaf = cuts.text(bounded_json(value, rules), rules.max_length)
    if mask is None:
        return leaf
    masked = mask.value(path, leaf)
    if type(masked) is float:
        return _json_float(masked)
    return DROP if masked is FAILED else masked


def _copy_mapping(
    value: Mapping[Any, Any],
    rules: CaptureRules,
    mask: Optional[Mask],
    path: str,
    depth: int,
    cuts: _Cuts,
    limit: Optional[int] = None,
) -> Any:
    limit = rules.max_items if limit is None else limit
    try:
        size = len(value)
        items = list(islice(value.items(), limit))
    except Exception as exc:
        cuts.count += 1
        return f"<unreadable {type(value).__name__}: {type(exc).__name__}>"
    out: dict[str, Any] = {}
    for key, item in items:
        name = key_text(key)
        if name is None:  # cannot tell whether it is a secret: left out, counted
            cuts.count += 1
            continue
        if rules.is_secret(name):
            out[name] = REDACTED
            continue
        copied = _copy(item, rules, mask, f"{path}.{name}" if path else name, depth + 1, cuts)
        if copied is not DROP:
            out[name] = copied
    if size > limit:
        cuts.count += 1
        out["_truncated"] = f"...[truncated {size - limit} keys]"
    return out


def _copy_items(
    value: Any, rules: CaptureRules, mask: Optional[Mask], path: str, depth: int, cuts: _Cuts
) -> list[Any]:
    limit = rules.max_items
    size = len(value)
    out = []
    for index, item in enumerate(islice(value, limit)):
        copied = _copy(item, rules, mask, f"{path}.{index}", depth + 1, cuts)
        if copied is not DROP:
            out.append(copied)
    if size > limit:
        cuts.count += 1
        out.append(f"...[truncated {size - limit} items]")
    return out

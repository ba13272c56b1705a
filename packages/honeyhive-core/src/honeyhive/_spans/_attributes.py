"""Turning Python values into span attributes: the protocol's flattening, within the limits.

Flattening follows the HoneyHive protocol: a mapping becomes ``prefix.key`` (recursively), a
list or tuple becomes ``prefix.0``, ``prefix.1``...; ``None`` is skipped; ``bool``, ``int``,
``float`` and ``str`` keep their types; anything else is JSON-encoded (``repr`` if that fails).
Values under a secret-looking name are replaced by :data:`REDACTED`.

The tracer's :class:`CaptureRules` bound the work while flattening, before OpenTelemetry sees
anything: only the first ``max_items`` elements of a collection are read (a list of a million
costs what one of ``max_items`` does), strings are cut at ``max_length``, nesting at
:data:`MAX_DEPTH`, and no more attributes are made than the caller's ``cap``. Every function
returns how many values it cut or left out, for the span's ``honeyhive.truncated``.

Nothing here raises for any value: a mapping that cannot be read, a key whose ``str()`` raises,
an object whose ``repr()`` raises become marked placeholders, and a value whose key cannot be
read is left out (it might be a secret: redaction fails closed).
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Mapping, Sequence, Set, ValuesView
from itertools import islice
from typing import Any, Optional, Union

from honeyhive._spans._limits import MAX_DEPTH, MAX_KEY_LENGTH, CaptureRules, cut_text
from honeyhive._spans._redaction import REDACTED

__all__ = [
    "EVENT_TYPES",
    "AttributeValue",
    "bounded_json",
    "event_type_for",
    "fields_of",
    "flatten_each",
    "flatten_into",
    "key_text",
    "namespaced",
    "safe_text",
    "text_of",
]

AttributeValue = Union[str, bool, int, float]
EVENT_TYPES = frozenset({"model", "tool", "chain"})
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
# Read element by element, up to max_items, in JSON text: any sequence or set (a deque, an
# array.array, a UserList, a dict's keys or values). Their repr would cost their whole size.
_COLLECTIONS = (Sequence, Set, ValuesView)


def event_type_for(value: object) -> str:
    """The protocol's event type for a user-given one: model, tool or chain (else tool)."""
    return value if isinstance(value, str) and value in EVENT_TYPES else "tool"


def safe_text(value: object, limit: int) -> str:
    """``str(value)`` cut to ``limit``; never raises (a failing ``__str__`` is named instead)."""
    return cut_text(value if type(value) is str else text_of(value), limit)


def text_of(value: object) -> str:
    """``str(value)``; never raises (a failing ``__str__`` is named instead)."""
    try:
        text = str(value)
        if not isinstance(text, str):
            raise TypeError("__str__ returned a non-string")
    except Exception as exc:
        return f"<unprintable {_type_name(value)}: str() raised {type(exc).__name__}>"
    return text


def key_text(key: object) -> Optional[str]:
    """A mapping key as attribute-name text, cut at MAX_KEY_LENGTH; None if it cannot be read."""
    if type(key) is str:
        return key if len(key) <= MAX_KEY_LENGTH else key[:MAX_KEY_LENGTH] + "..."
    try:
        text: object = str(key)
    except Exception:
        return None
    if not isinstance(text, str):
        return None
    return text if len(text) <= MAX_KEY_LENGTH else text[:MAX_KEY_LENGTH] + "..."


def _type_name(value: object) -> str:
    try:
        return type(value).__qualname__
    except Exception:  # pragma: no cover - a metaclass that refuses even this
        return "object"


def flatten_into(
    out: dict[str, AttributeValue],
    prefix: str,
    value: Any,
    rules: CaptureRules,
    cap: Optional[int] = None,
    depth: int = 0,
) -> int:
    """Add ``value`` to ``out`` under ``prefix`` by the protocol's flattening rules.

    Stops adding attributes once ``out`` holds ``cap`` (default ``rules.max_attributes``).
    Returns how many values were cut or left out on the way.
    """
    if cap is None:
        cap = rules.max_attributes
    if value is None:
        return 0
    cls = type(value)
    if cls is str:
        if len(out) >= cap:
            return 1
        if len(value) <= rules.max_length:
            out[prefix] = value
            return 0
        out[prefix] = cut_text(value, rules.max_length)
        return 1
    if (cls is int and _INT64_MIN <= value <= _INT64_MAX) or cls is float or cls is bool:
        if len(out) >= cap:
            return 1
        out[prefix] = value
        return 0
    try:
        return _flatten_other(out, prefix, value, rules, cap, depth)
    except Exception as exc:  # a __len__, __getitem__, __str__... that raises: marked, counted
        if len(out) < cap:
            out[prefix] = _unreadable(value, exc)
        return 1


def _unreadable(value: object, exc: BaseException) -> str:
    return f"<unreadable {_type_name(value)}: {type(exc).__name__}>"


def _flatten_other(
    out: dict[str, AttributeValue],
    prefix: str,
    value: Any,
    rules: CaptureRules,
    cap: int,
    depth: int,
) -> int:
    if len(out) >= cap:
        return 1
    if depth >= MAX_DEPTH:
        return _store_text(out, prefix, bounded_json(value, rules), rules)
    if isinstance(value, Mapping):
        return _flatten_mapping(out, prefix, value, rules, cap, depth)
    if isinstance(value, (list, tuple)):
        return _flatten_sequence(out, prefix, value, rules, cap, depth)
    if isinstance(value, str):  # subclasses such as str-valued enums
        return _store_text(out, prefix, text_of(value), rules)
    if isinstance(value, float):  # bool cannot be subclassed: a float subclass (numpy's)
        out[prefix] = float(value)
        return 0
    number = _as_int(value)
    fields = None if number is not None else fields_of(value)  # fail closed if it raises
    if number is not None and _INT64_MIN <= number <= _INT64_MAX:
        out[prefix] = number
        return 0
    if fields is not None:
        return _flatten_mapping(out, prefix, fields, rules, cap, depth)
    return _store_text(out, prefix, bounded_json(value, rules), rules)


def _as_int(value: Any) -> Optional[int]:
    """An ``int`` for ints and int-like scalars (``numpy.int64``: ``__index__``), else None."""
    if isinstance(value, int):
        return int(value)
    if hasattr(type(value), "__index__"):
        try:
            return operator.index(value)
        except TypeError:  # numpy arrays have __index__ too, for their one-element case
            return None
    return None


def _store_text(out: dict[str, AttributeValue], prefix: str, text: str, rules: CaptureRules) -> int:
    if len(text) <= rules.max_length:
        out[prefix] = text
        return 0
    out[prefix] = cut_text(text, rules.max_length)
    return 1


def _flatten_mapping(
    out: dict[str, AttributeValue],
    prefix: str,
    value: Mapping[Any, Any],
    rules: CaptureRules,
    cap: int,
    depth: int,
) -> int:
    limit = rules.max_items
    try:
        size = len(value)
        items = list(islice(value.items(), limit))
    except Exception as exc:  # a mapping that cannot be read is shown as such, never raised
        out[prefix] = _unreadable(value, exc)
        return 1
    cut = 0
    is_secret = rules.is_secret
    for index, (key, item) in enumerate(items):
        if len(out) >= cap:
            return cut + len(items) - index  # the span is full: the rest is left out
        name = key_text(key)
        if name is None:  # cannot tell whether it is a secret: left out, counted
            cut += 1
            continue
        if is_secret(name):
            out[f"{prefix}.{name}"] = REDACTED
        else:
            cut += flatten_into(out, f"{prefix}.{name}", item, rules, cap, depth + 1)
    if size > limit:
        cut += 1
        if len(out) < cap:
            out[f"{prefix}._truncated"] = f"...[truncated {size - limit} keys]"
    return cut


def _flatten_sequence(
    out: dict[str, AttributeValue],
    prefix: str,
    value: Union[list[Any], tuple[Any, ...]],
    rules: CaptureRules,
    cap: int,
    depth: int,
) -> int:
    limit = rules.max_items
    size = len(value)
    cut = 0
    for index, item in enumerate(value[:limit] if size > limit else value):
        if len(out) >= cap:
            return cut + min(size, limit) - index
        cut += flatten_into(out, f"{prefix}.{index}", item, rules, cap, depth + 1)
    if size > limit:
        cut += 1
        if len(out) < cap:
            out[f"{prefix}.{limit}"] = f"...[truncated {size - limit} items]"
    return cut


def fields_of(value: Any) -> Optional[Mapping[str, Any]]:
    """The fields of a dataclass or a pydantic model (so that a ``password`` field is redacted
    like a ``password`` key), else None. Raises what reading them raises."""
    if isinstance(value, type) or callable(value):
        return None
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, Mapping) and callable(getattr(value, "model_dump", None)):
        # pydantic v2: the fields themselves (model_dump would first copy every element of
        # a huge list field, before the limits could apply)
        return {name: getattr(value, name) for name in fields}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        dumped = dump()
        return dumped if isinstance(dumped, Mapping) else None
    return None


def bounded_json(value: Any, rules: CaptureRules) -> str:
    """JSON text of ``value`` within the limits (``repr`` for what JSON cannot say).

    Reads at most ``max_items`` elements per collection (mappings, sequences, sets, a dict's
    values) and stops once the text passes ``max_length`` characters, so the cost is bounded
    whatever the value's size; other objects are their ``repr``.
    """
    parts: list[str] = []
    budget = [rules.max_length + 1]
    try:
        _json_into(parts, budget, value, rules, 0)
    except Exception as exc:  # a failure deep inside: what was written so far, marked
        parts.append(_unreadable(value, exc))
    return "".join(parts)


def _emit(parts: list[str], budget: list[int], text: str) -> None:
    parts.append(text)
    budget[0] -= len(text)


def _json_into(
    parts: list[str], budget: list[int], value: Any, rules: CaptureRules, depth: int
) -> None:
    if budget[0] <= 0:
        return
    if value is None or isinstance(value, (bool, float)):
        _emit(parts, budget, json.dumps(value))
        return
    if isinstance(value, str):
        _emit(parts, budget, json.dumps(str.__str__(value)[: budget[0]], ensure_ascii=False))
        return
    number = _as_int(value)
    if number is not None:
        digits = number.bit_length() * 0.302  # decimal digits, about
        _emit(parts, budget, str(number) if digits < 4000 else f'"{hex(number)[: budget[0]]}"')
        return
    if isinstance(value, (bytes, bytearray)):
        _emit(parts, budget, json.dumps(repr(bytes(value[: budget[0]]))))
        return
    if depth >= MAX_DEPTH:
        _emit(parts, budget, json.dumps(f"<{_type_name(value)} nested too deep>"))
        return
    if isinstance(value, Mapping):
        _json_pairs(parts, budget, value, rules, depth)
        return
    if isinstance(value, _COLLECTIONS):
        _json_items(parts, budget, value, rules, depth)
        return
    fields = fields_of(value)
    if fields is not None:
        _json_pairs(parts, budget, fields, rules, depth)
        return
    try:
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError("__repr__ returned a non-string")
    except Exception:
        text = f"<unrepresentable {_type_name(value)}>"
    _emit(parts, budget, json.dumps(text[: budget[0]], ensure_ascii=False))


def _json_pairs(
    parts: list[str], budget: list[int], value: Mapping[Any, Any], rules: CaptureRules, depth: int
) -> None:
    limit = rules.max_items
    size = len(value)
    _emit(parts, budget, "{")
    for index, (key, item) in enumerate(islice(value.items(), limit)):
        if budget[0] <= 0:
            break
        name = key_text(key)
        if name is None:
            continue
        _emit(parts, budget, (", " if index else "") + json.dumps(name, ensure_ascii=False) + ": ")
        if rules.is_secret(name):
            _emit(parts, budget, json.dumps(REDACTED))
        else:
            _json_into(parts, budget, item, rules, depth + 1)
    if size > limit:
        _emit(parts, budget, f', "_truncated": "...[truncated {size - limit} keys]"')
    _emit(parts, budget, "}")


def _json_items(
    parts: list[str], budget: list[int], value: Any, rules: CaptureRules, depth: int
) -> None:
    limit = rules.max_items
    size = len(value)
    _emit(parts, budget, "[")
    for index, item in enumerate(islice(value, limit)):
        if budget[0] <= 0:
            break
        if index:
            _emit(parts, budget, ", ")
        _json_into(parts, budget, item, rules, depth + 1)
    if size > limit:
        _emit(parts, budget, f', "...[truncated {size - limit} items]"')
    _emit(parts, budget, "]")


def flatten_each(
    out: dict[str, AttributeValue],
    values: Mapping[Any, Any],
    rules: CaptureRules,
    prefix: str = "",
    cap: Optional[int] = None,
) -> int:
    """Each entry of ``values`` flattened under its own key (``prefix.key``, or ``key``).

    For a mapping of attributes the user named one by one (keyword attributes, enrichments):
    its entries are bounded by the span's room (``cap``), not by ``max_items``; their values
    are flattened as usual. Returns how many values were cut or left out.
    """
    if cap is None:
        cap = rules.max_attributes
    try:
        size = len(values)
        items = list(islice(values.items(), max(0, cap - len(out)) + 1))
    except Exception as exc:  # a mapping that cannot be read is shown as such, never raised
        out[prefix or "honeyhive.unreadable"] = _unreadable(values, exc)
        return 1
    cut = max(0, size - len(items))
    is_secret = rules.is_secret
    for index, (key, value) in enumerate(items):
        if len(out) >= cap:
            return cut + len(items) - index
        name = key_text(key)
        if name is None:  # cannot tell whether it is a secret: left out, counted
            cut += 1
            continue
        if prefix:
            name = f"{prefix}.{name}"
        if is_secret(name):
            out[name] = REDACTED
        else:
            cut += flatten_into(out, name, value, rules, cap)
    return cut


def namespaced(
    namespace: str, values: Mapping[str, Any], rules: CaptureRules, cap: Optional[int] = None
) -> tuple[dict[str, AttributeValue], int]:
    """A mapping flattened under ``namespace`` (e.g. ``honeyhive_metadata``), secrets
    redacted; with how many values were cut or left out."""
    out: dict[str, AttributeValue] = {}
    cut = flatten_each(out, values, rules, namespace, cap)
    return out, cut

"""Adding attributes the SDK built itself, without OpenTelemetry validating each one again.

OpenTelemetry re-validates every attribute value (type checks, recursion, truncation) on every
``set_attribute``; for the values this SDK makes itself (flattened arguments, request
attributes, session ids: plain ``str``/``bool``/``int``/``float`` or tuples of ``str``, within
the length limit) that is about a fifth of a request's cost. :func:`set_clean` writes them into
the span's attribute store directly, as the SDK's own ``BoundedAttributes.__deepcopy__`` does "to
avoid re-cleaning already clean values", and falls back to ``set_attributes`` whenever the span
is not in the state that makes this safe.

:func:`add_captured` is the door for captured values (arguments, results, enrichments): they
fill the span up to its capture room (``capture_max_attributes``), never pushing out what is
already there, and what was cut or left out is counted on ``honeyhive.truncated``.
:func:`set_bounded` is the door for values the SDK reads from outside (a request's URL, user
agent and headers): their text is cut at ``capture_max_length`` before OpenTelemetry sees it,
marked and counted the same way, so a client sending huge URLs costs one rate-limited line, not
OpenTelemetry's warning for every value of every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.trace import Span

from honeyhive._spans._limits import TRUNCATED, CaptureRules, cut_texts, report_truncation
from honeyhive._spans._span import HoneyHiveSpan

__all__ = ["add_captured", "set_bounded", "set_clean"]

_PRIMITIVE = (str, bool, int, float)


def _fits(attributes: Mapping[str, Any], max_value_len: Any) -> bool:
    for value in attributes.values():
        kind = type(value)
        if kind is str:
            if max_value_len is not None and len(value) > max_value_len:
                return False
        elif kind is tuple:
            if not all(type(v) is str for v in value):
                return False
            if max_value_len is not None and any(len(v) > max_value_len for v in value):
                return False
        elif kind not in _PRIMITIVE:
            return False
    return True


def set_clean(span: Span, attributes: Mapping[str, Any]) -> None:
    """``span.set_attributes(attributes)`` for values known to be valid attribute values."""
    if not attributes:
        return
    if type(span) is HoneyHiveSpan:
        if _fits(attributes, span._attributes.max_value_len):
            span.set_clean(attributes)
        else:
            span.set_attributes(attributes)
        return
    store = getattr(span, "_attributes", None)
    if (
        type(store) is not BoundedAttributes
        or store._immutable
        or not span.is_recording()
        or (store.maxlen is not None and len(store) + len(attributes) > store.maxlen)
        or not _fits(attributes, store.max_value_len)
    ):
        span.set_attributes(attributes)
        return
    with store._lock:
        store._dict.update(attributes)


def set_bounded(span: Span, attributes: dict[str, Any], rules: CaptureRules) -> None:
    """:func:`set_clean` for values read from outside: text cut at the capture length (in
    place), each cut marked and counted on ``honeyhive.truncated``."""
    cut = cut_texts(attributes, rules.max_length)
    set_clean(span, attributes)
    if cut:
        add_captured(span, {}, cut, rules.max_attributes)


def add_captured(
    span: Span, attributes: Mapping[str, Any], truncated: int, max_attributes: int
) -> None:
    """Add flattened captured values to ``span`` while it holds fewer than ``max_attributes``
    (the tracer's ``capture_max_attributes``); count what was cut or left out.

    ``truncated``: values already cut or left out while flattening. Never raises past the
    span's own API (callers guard it as they guard flattening).
    """
    if type(span) is HoneyHiveSpan:
        truncated = span.add_captured(attributes, truncated, max_attributes)
    elif span.is_recording():
        truncated = _add_to_other_span(span, attributes, truncated, max_attributes)
    else:
        return
    if truncated:
        report_truncation(getattr(span, "name", ""), truncated)


def _add_to_other_span(
    span: Span, attributes: Mapping[str, Any], truncated: int, max_attributes: int
) -> int:
    """An instrumentor's span (the SDK's own class): the same room, through its public API."""
    store = getattr(span, "_attributes", None)
    held = len(store) if isinstance(store, BoundedAttributes) else 0
    room = max_attributes - held
    if len(attributes) > room:
        kept = dict(islice(attributes.items(), max(0, room)))
        truncated += len(attributes) - len(kept)
        attributes = kept
    span.set_attributes(attributes)
    if truncated:
        current = getattr(span, "attributes", None) or {}
        previous = current.get(TRUNCATED, 0)
        span.set_attribute(TRUNCATED, (previous if isinstance(previous, int) else 0) + truncated)
    return truncated

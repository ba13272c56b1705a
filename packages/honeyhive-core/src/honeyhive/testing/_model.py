"""Captured spans as plain, comparable data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["CapturedCall", "CapturedEvent", "CapturedSpan", "unflatten"]

_NAMESPACES = {
    "inputs": "honeyhive_inputs.",
    "outputs": "honeyhive_outputs.",
    "metadata": "honeyhive_metadata.",
    "metrics": "honeyhive_metrics.",
    "feedback": "honeyhive_feedback.",
    "config": "honeyhive_config.",
    "user_properties": "honeyhive_user_properties.",
}


@dataclass(frozen=True)
class CapturedEvent:
    """An event recorded on a span (``span.add_event``, an exception, ...)."""

    name: str
    attributes: Mapping[str, Any]
    time: int


@dataclass(frozen=True)
class CapturedSpan:
    """One span exactly as the backend would receive it, as plain data.

    ``inputs``, ``outputs``, ``metadata``, ... are the ``honeyhive_*`` namespaces turned back
    into nested dicts (and lists), so ``span.inputs == {"query": "hi"}`` reads as you wrote it.
    """

    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: Optional[str]
    status: str
    status_message: Optional[str]
    session_id: Optional[str]
    event_type: Optional[str]
    event_name: Optional[str]
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    metadata: Mapping[str, Any]
    metrics: Mapping[str, Any]
    feedback: Mapping[str, Any]
    config: Mapping[str, Any]
    user_properties: Mapping[str, Any]
    error: Optional[str]
    attributes: Mapping[str, Any] = field(repr=False)
    events: tuple[CapturedEvent, ...] = field(repr=False)
    start_time: int = field(repr=False)
    end_time: int = field(repr=False)

    @property
    def duration_ns(self) -> int:
        return self.end_time - self.start_time

    @property
    def result(self) -> Any:
        """What a ``@trace``-decorated function returned (``outputs["result"]``)."""
        return self.outputs.get("result")

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any], **fields: Any) -> CapturedSpan:
        namespaces: dict[str, Any] = {
            name: unflatten(attributes, prefix) for name, prefix in _NAMESPACES.items()
        }
        error = attributes.get("honeyhive_error")
        return cls(
            session_id=_str_or_none(attributes.get("honeyhive.session_id")),
            event_type=_str_or_none(attributes.get("honeyhive_event_type")),
            event_name=_str_or_none(attributes.get("honeyhive_event_name")),
            error=None if error is None else str(error),
            attributes=dict(attributes),
            **namespaces,
            **fields,
        )


@dataclass(frozen=True)
class CapturedCall:
    """A call the SDK would have made to the HoneyHive API (a session start, an event, ...)."""

    method: str
    path: str
    body: Mapping[str, Any]


def _str_or_none(value: object) -> Optional[str]:
    return None if value is None else str(value)


def unflatten(attributes: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``{"p.a.b": 1, "p.l.0": "x"}`` with prefix ``"p."`` -> ``{"a": {"b": 1}, "l": ["x"]}``."""
    tree: dict[str, Any] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix) :].split(".")
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _lists(tree)  # type: ignore[no-any-return]


def _lists(node: Any) -> Any:
    """Dicts whose keys are exactly 0..n-1 become lists, recursively."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        indexes = sorted(int(key) for key in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(index)] for index in indexes]
    return converted

"""``enrich_span``'s fields as the attributes of a span: each namespace (``metadata``,
``metrics``, ...) flattened under ``honeyhive_<namespace>``, loose ``attributes`` and extra
keywords under ``honeyhive_metadata`` (the published SDK's meaning), ``error`` and the event id
as text. Arguments of the wrong kind are left out and reported, never raised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from honeyhive._spans._attributes import AttributeValue, flatten_each, safe_text
from honeyhive._spans._guards import ArgumentCheck
from honeyhive._spans._limits import CaptureRules

__all__ = ["enrichment_attributes"]


def enrichment_attributes(
    check: ArgumentCheck,
    rules: CaptureRules,
    namespaces: Mapping[str, Any],
    attributes: Any,
    extra: Optional[Mapping[str, Any]],
    error: Any,
    event_id: Any,
) -> tuple[dict[str, AttributeValue], int]:
    """The attributes, and how many values the capture limits cut."""
    flat: dict[str, AttributeValue] = {}
    cut = 0
    for namespace, value in namespaces.items():
        value = check.mapping("enrich_span", namespace, value)
        if value is not None:
            cut += flatten_each(flat, value, rules, f"honeyhive_{namespace}")
    # Never the truth value of what the user gave: a mapping's __len__ may raise.
    loose = check.mapping("enrich_span", "attributes", attributes)
    for values in (loose, extra):
        if values is not None:
            cut += flatten_each(flat, values, rules, "honeyhive_metadata")
    if error is not None:
        flat["honeyhive_error"] = safe_text(error, rules.max_length)
    if event_id is not None:
        flat["honeyhive_event_id"] = safe_text(event_id, rules.max_length)
    return flat, cut

"""Export-time enrichment: what every span carries on the wire.

The application thread records only what depends on the context a span started in (its session,
evaluation ids from baggage, its event type). The tracer-wide attributes the protocol asks for
(project, source, session name, SDK version, the ``traceloop.association.properties.*`` aliases)
are stamped here, on the export thread, together with the secret scrubbing. Every exporter, the
test-capture one included, receives the spans this module returns, so what a test sees is what the
backend receives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from opentelemetry.sdk.trace import Event, ReadableSpan

from honeyhive._attributes import REDACTED, is_secret_name
from honeyhive._settings import Settings
from honeyhive._version import __version__

__all__ = ["EVENT_TYPES", "SpanPreparer", "event_type_for"]

EVENT_TYPES = frozenset({"model", "tool", "chain"})
_ASSOCIATION = "traceloop.association.properties."


def event_type_for(value: object) -> str:
    """The protocol's event type for a user-given one: model, tool or chain (else tool)."""
    return value if isinstance(value, str) and value in EVENT_TYPES else "tool"


class _PreparedSpan(ReadableSpan):
    """A finished span with its export-time attributes; keeps the original drop counts."""

    def __init__(self, original: ReadableSpan, attributes: dict[str, Any], events: Any) -> None:
        super().__init__(
            name=original.name,
            context=original.context,
            parent=original.parent,
            resource=original.resource,
            attributes=attributes,
            events=events,
            links=original.links,
            kind=original.kind,
            status=original.status,
            start_time=original.start_time,
            end_time=original.end_time,
            instrumentation_scope=original.instrumentation_scope,
        )
        self._dropped = (original.dropped_attributes, original.dropped_events)
        self._dropped_links = original.dropped_links

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped_links


class SpanPreparer:
    """Adds the tracer-wide protocol attributes to finished spans and scrubs secrets."""

    def __init__(self, settings: Settings, session_id: str) -> None:
        static: dict[str, Any] = {
            "honeyhive.source": settings.source,
            _ASSOCIATION + "source": settings.source,
            "honeyhive.session_name": settings.session_name,
            "honeyhive.tracer_version": __version__,
        }
        if settings.project:
            static["honeyhive.project"] = settings.project
            static[_ASSOCIATION + "project"] = settings.project
        for key, value in settings.evaluation.items():
            static[f"honeyhive_metadata.{key}"] = value
        self._static = static
        self._session_id = session_id
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._secret: Optional[str] = key if len(key) >= 8 else None

    def prepare(self, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
        return [self._prepare_one(span) for span in spans]

    def _prepare_one(self, span: ReadableSpan) -> ReadableSpan:
        own = span.attributes or {}
        attributes = dict(self._static)
        session = own.get("honeyhive.session_id") or self._session_id
        attributes["honeyhive.session_id"] = session
        attributes[_ASSOCIATION + "session_id"] = session
        attributes.update(self._scrubbed(own))
        event_type = own.get("honeyhive.event_type")
        if event_type is not None and "honeyhive_event_type" not in own:
            attributes["honeyhive_event_type"] = event_type_for(event_type)
        events: Any = span.events
        if self._secret is not None and events:
            events = [
                Event(e.name, self._scrubbed(e.attributes or {}), e.timestamp) for e in events
            ]
        return _PreparedSpan(span, attributes, events)

    def _scrubbed(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(attributes)
        secret = self._secret
        for key, value in attributes.items():
            if is_secret_name(key) and value != REDACTED:
                out[key] = REDACTED
            elif secret is not None and isinstance(value, str) and secret in value:
                out[key] = value.replace(secret, REDACTED)
        return out

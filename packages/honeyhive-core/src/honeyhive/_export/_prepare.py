"""Export-time enrichment: what every span carries on the wire.

The application thread records only what depends on the context a span started in (its session,
evaluation ids from baggage, its event type). The tracer-wide attributes the protocol asks for
(project, source, session name, SDK version, the ``traceloop.association.properties.*`` aliases)
are added here, on the delivery thread, together with the secret scrubbing. Every exporter, the
test-capture one included, receives the spans this module returns, so what a test sees is what
the backend receives.

A prepared span is a cheap shallow copy whose ``attributes`` are merged on first access; the
built-in protobuf encoder skips even that and writes the tracer-wide attributes from bytes it
encoded once per tracer (see :meth:`Stamp.span_attributes`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Optional

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status

from honeyhive._settings import Settings
from honeyhive._spans import REDACTED, event_type_for, is_secret_name
from honeyhive._version import __version__

__all__ = ["PreparedSpan", "SpanPreparer", "Stamp"]

_ASSOCIATION = "traceloop.association.properties."
_SESSION_ALIAS = _ASSOCIATION + "session_id"


def _redacted(value: Any) -> Any:
    """The redaction marker in the value's own shape (a header's list stays a list)."""
    if isinstance(value, (tuple, list)):
        return tuple(REDACTED for _ in value)
    return REDACTED


class Stamp:
    """The tracer-wide part of every span, and the rules for the span's own part."""

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
        self.static: Mapping[str, Any] = MappingProxyType(static)
        #: The tracer-wide part plus the tracer's own session, for spans without one of theirs.
        self.static_with_session: Mapping[str, Any] = MappingProxyType(
            {**static, "honeyhive.session_id": session_id, _SESSION_ALIAS: session_id}
        )
        self.static_keys = frozenset(static)
        self.session_id = session_id
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self.secret: Optional[str] = key if len(key) >= 8 else None
        self.encoded: dict[str, bytes] = {}  # encoder-owned cache (e.g. "protobuf" -> bytes)

    def span_attributes(
        self, own: Mapping[str, Any], default_session: bool = True
    ) -> dict[str, Any]:
        """The span-specific attributes to send: its session, its own (scrubbed), its type.

        With ``default_session=False`` the tracer's own session is left out for a span that has
        no session of its own (the encoder writes it from bytes it encoded once).
        """
        session = own.get("honeyhive.session_id")
        out: dict[str, Any] = {}
        if session or default_session:
            session = session or self.session_id
            out["honeyhive.session_id"] = session
            out[_SESSION_ALIAS] = session
        secret = self.secret
        for key, value in own.items():
            if is_secret_name(key) and value != REDACTED:
                value = _redacted(value)
            elif secret is not None and type(value) is str and secret in value:
                value = value.replace(secret, REDACTED)
            out[key] = value
        event_type = own.get("honeyhive.event_type")
        if event_type is not None and "honeyhive_event_type" not in own:
            out["honeyhive_event_type"] = event_type_for(event_type)
        return out

    def scrub_text(self, text: str) -> str:
        secret = self.secret
        return text.replace(secret, REDACTED) if secret is not None and secret in text else text

    def scrub_events(self, events: Sequence[Event]) -> Sequence[Event]:
        secret = self.secret
        if secret is None or not events:
            return events
        scrubbed = []
        for event in events:
            attributes = dict(event.attributes or {})
            for key, value in attributes.items():
                if isinstance(value, str) and secret in value:
                    attributes[key] = value.replace(secret, REDACTED)
            scrubbed.append(Event(event.name, attributes, event.timestamp))
        return scrubbed


class PreparedSpan(ReadableSpan):
    """A finished span as it will be exported: the original's state plus the tracer's stamp.

    Made without running ``ReadableSpan.__init__`` (a copy of the original's fields), so that
    preparing a span costs next to nothing until an exporter reads its attributes.
    """

    _hh_stamp: Stamp
    _hh_attributes: Optional[Mapping[str, Any]]

    @classmethod
    def of(cls, original: ReadableSpan, stamp: Stamp) -> PreparedSpan:
        span = cls.__new__(cls)
        span.__dict__.update(original.__dict__)
        span._hh_stamp = stamp
        span._hh_attributes = None
        return span

    def own_attributes(self) -> Mapping[str, Any]:
        """The attributes the span was given (before the stamp)."""
        return self._attributes or {}

    @property
    def attributes(self) -> Mapping[str, Any]:
        merged = self._hh_attributes
        if merged is None:
            stamp = self._hh_stamp
            merged = MappingProxyType(
                {**stamp.static, **stamp.span_attributes(self.own_attributes())}
            )
            self._hh_attributes = merged
        return merged

    @property
    def events(self) -> Sequence[Event]:
        return self._hh_stamp.scrub_events(tuple(self._events))

    @property
    def name(self) -> str:
        return self._hh_stamp.scrub_text(self._name)

    @property
    def status(self) -> Status:
        status: Status = self._status
        description = status.description
        if description and self._hh_stamp.secret and self._hh_stamp.secret in description:
            return Status(status.status_code, self._hh_stamp.scrub_text(description))
        return status

    def plain(self) -> ReadableSpan:
        """A plain ``ReadableSpan`` of what is exported (the stamp and the scrubbing applied)."""
        return ReadableSpan(
            name=self.name,
            context=self.context,
            parent=self.parent,
            resource=self.resource,
            attributes=dict(self.attributes),
            events=self.events,
            links=self.links,
            kind=self.kind,
            status=self.status,
            start_time=self.start_time,
            end_time=self.end_time,
            instrumentation_scope=self.instrumentation_scope,
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadableSpan:
        # An exporter may deep-copy what it is given: the data copies, the original span's lock
        # and processor chain (in the copied state) do not.
        return copy.deepcopy(self.plain(), memo)

    def to_json(self, indent: Optional[int] = 4) -> str:
        """As ``ReadableSpan.to_json``, with the exported attributes and events."""
        text: str = self.plain().to_json(indent)
        return text


class SpanPreparer:
    """Turns finished spans into :class:`PreparedSpan` for one tracer."""

    def __init__(self, settings: Settings, session_id: str) -> None:
        self.stamp = Stamp(settings, session_id)

    def prepare(self, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
        stamp = self.stamp
        of = PreparedSpan.of
        return [of(span, stamp) for span in spans]

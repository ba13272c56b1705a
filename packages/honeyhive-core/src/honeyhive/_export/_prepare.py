"""Export-time enrichment: what every span carries on the wire.

The application thread records only what depends on the context a span started in (its session,
evaluation ids from baggage, its event type). The tracer-wide attributes the protocol asks for
(project, source, SDK version, the ``traceloop.association.properties.*`` aliases) and the name
of the span's session (the tracer's own, or the one a per-request session was started under;
none when the session was started elsewhere: a span never claims another session's name) are
added here, on the delivery thread, together with the secret scrubbing (secret-named keys,
the API key in any text, in attribute values, lists, event names and attributes, link attributes
and status messages) and the user's ``mask`` hook. Every exporter, the test-capture one
included, receives the spans this module returns, so what a test sees is what the backend
receives.

A prepared span is a cheap shallow copy whose ``attributes`` are merged on first access; the
built-in protobuf encoder skips even that and writes the tracer-wide attributes from bytes it
encoded once per tracer (see :meth:`Stamp.span_attributes`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Callable, Optional, TypeVar

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status

from honeyhive._diagnostics import internal_error
from honeyhive._settings import Settings
from honeyhive._spans import (
    DROP,
    FAILED,
    MASK_ERRORS,
    REDACTED,
    TRUNCATED,
    Mask,
    event_type_for,
    is_secret_name,
    safe_text,
)
from honeyhive._version import __version__

__all__ = ["PreparedSpan", "SpanPreparer", "Stamp"]

_ASSOCIATION = "traceloop.association.properties."
_SESSION_ALIAS = _ASSOCIATION + "session_id"
_SESSION_NAME = "honeyhive.session_name"
_NAME_LIMIT = 1024
_T = TypeVar("_T")
#: The SDK's own linkage and bookkeeping: never given to the mask hook (the evaluation ids
#: are copied from baggage onto each span; a mask that hides metadata must not cut a span off
#: its experiment run).
_NOT_MASKED = frozenset(
    {
        "honeyhive.session_id",
        _SESSION_ALIAS,
        "honeyhive_metadata.run_id",
        "honeyhive_metadata.dataset_id",
        "honeyhive_metadata.datapoint_id",
        "honeyhive.event_type",
        "honeyhive_event_type",
        TRUNCATED,
        MASK_ERRORS,
    }
)


def _redacted(value: Any) -> Any:
    """The redaction marker in the value's own shape (a header's list stays a list)."""
    if isinstance(value, (tuple, list)):
        return tuple(REDACTED for _ in value)
    return REDACTED


def _text(value: object) -> str:
    return value if type(value) is str else safe_text(value, _NAME_LIMIT)


class Stamp:
    """The tracer-wide part of every span, and the rules for the span's own part: secret
    names redacted, the API key scrubbed from every text, the mask hook applied.

    Nothing here raises for any span: a span whose own attributes cannot be prepared is sent
    with only its session linkage (fail closed) and counted as an internal error, never taking
    the rest of its batch with it.
    """

    def __init__(
        self,
        settings: Settings,
        session_id: str,
        secret_keys: Callable[[str], bool] = is_secret_name,
        mask: Optional[Mask] = None,
    ) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self.secret: Optional[str] = key if len(key) >= 8 else None
        static: dict[str, Any] = {
            "honeyhive.source": settings.source,
            _ASSOCIATION + "source": settings.source,
            "honeyhive.tracer_version": __version__,
        }
        if settings.project:
            static["honeyhive.project"] = settings.project
            static[_ASSOCIATION + "project"] = settings.project
        for name, value in settings.evaluation.items():
            static[f"honeyhive_metadata.{name}"] = value
        # Settings are text the user gave too (a session named from a command line that
        # carried the key): scrubbed once, here, like every other exported text.
        static = {name: self.scrub_text(v) if type(v) is str else v for name, v in static.items()}
        #: The tracer-wide part: the same on every span of this tracer, whatever its session.
        self.static: Mapping[str, Any] = MappingProxyType(static)
        self.session_id = session_id
        #: The name of the tracer's own session (a span in another session names that one).
        self.session_name = self.scrub_text(settings.session_name)
        #: The tracer-wide part plus the tracer's own session, for spans without one of theirs.
        self.static_with_session: Mapping[str, Any] = MappingProxyType(
            {**static, **self._linkage(session_id, True)}
        )
        #: Keys a span's own attributes must not repeat for the encoder's cached bytes to be
        #: used as they are (see ``_encoding``).
        self.static_keys = frozenset(self.static_with_session) - {
            "honeyhive.session_id",
            _SESSION_ALIAS,
        }
        self.secret_keys = secret_keys
        self.mask = mask
        self.encoded: dict[str, bytes] = {}  # encoder-owned cache (e.g. "protobuf" -> bytes)

    def span_attributes(
        self,
        own: Mapping[str, Any],
        default_session: bool = True,
        session_name: Optional[str] = None,
    ) -> dict[str, Any]:
        """The span-specific attributes to send: its session (and that session's name:
        ``session_name`` for a session other than the tracer's own, left out when unknown), its
        own attributes (scrubbed), its type.

        With ``default_session=False`` the tracer's own session is left out for a span that has
        no session of its own (the encoder writes it from bytes it encoded once).
        """
        session = None
        try:
            session = own.get("honeyhive.session_id")
            out = self._linkage(session, default_session, session_name)
            failed = self._clean_into(out, own)
            if failed:
                out[MASK_ERRORS] = failed
            event_type = own.get("honeyhive.event_type")
            if event_type is not None and "honeyhive_event_type" not in own:
                out["honeyhive_event_type"] = event_type_for(event_type)
            return out
        except Exception as exc:  # fail closed: the linkage only, never unscrubbed values
            internal_error("preparing a span's attributes", exc)
            session = session if type(session) is str else None
            return self._linkage(session, default_session, session_name)

    def _linkage(
        self, session: Any, default_session: bool, session_name: Optional[str] = None
    ) -> dict[str, Any]:
        """The session a span is in, and its name when known: a span never claims the name
        of a session it is not in (a per-request session is not the tracer's own)."""
        out: dict[str, Any] = {}
        if not session and not default_session:
            return out
        session = session or self.session_id
        out["honeyhive.session_id"] = session
        out[_SESSION_ALIAS] = session
        if session == self.session_id:
            out[_SESSION_NAME] = self.session_name
        elif session_name is not None:
            out[_SESSION_NAME] = self.scrub_text(session_name)
        return out

    def clean(self, attributes: Optional[Mapping[str, Any]]) -> dict[str, Any]:
        """Any attribute mapping (an event's, a link's) as it may leave the process."""
        out: dict[str, Any] = {}
        if attributes:
            self._clean_into(out, attributes)
        return out

    def _clean_into(self, out: dict[str, Any], attributes: Mapping[str, Any]) -> int:
        """Add ``attributes`` to ``out`` scrubbed and masked; returns how many values were left
        out because the mask hook raised."""
        secret = self.secret
        is_secret = self.secret_keys
        mask = self.mask
        failed = 0
        for key, value in attributes.items():
            if type(key) is not str:
                key = _text(key)
            if is_secret(key):
                out[key] = value if value == REDACTED else _redacted(value)
                continue
            if mask is not None and key not in _NOT_MASKED:
                if type(value) is tuple or type(value) is list:
                    value, errors = mask.values(key, value)
                    failed += errors
                else:
                    value = mask.value(key, value)
                    if value is FAILED:
                        failed += 1
                if value is DROP or value is FAILED:
                    continue
            if secret is not None:
                kind = type(value)
                if kind is str:
                    if secret in value:
                        value = value.replace(secret, REDACTED)
                elif kind is tuple or kind is list:
                    value = tuple(
                        v.replace(secret, REDACTED) if type(v) is str and secret in v else v
                        for v in value
                    )
            out[key] = value
        return failed

    def scrub_text(self, text: object) -> str:
        """A span's name or a status message: text, without the API key."""
        text = _text(text)
        secret = self.secret
        return text.replace(secret, REDACTED) if secret is not None and secret in text else text

    def scrub_status(self, status: Status) -> Status:
        """The status, its description scrubbed and masked."""
        description = status.description
        if not description:
            return status
        text = self.scrub_text(description)
        if self.mask is not None:
            masked = self.mask.value("status.description", text)
            text = self.scrub_text(masked) if type(masked) is str else ""
        if text == description:
            return status
        return Status(status.status_code, text or None)

    def scrub_events(self, events: Sequence[Event]) -> Sequence[Event]:
        if not events:
            return events
        return [
            Event(self.scrub_text(event.name), self.clean(event.attributes), event.timestamp)
            for event in events
        ]

    def scrub_links(self, links: Sequence[Link]) -> Sequence[Link]:
        if not links:
            return links
        return [Link(link.context, self.clean(link.attributes)) for link in links]


class PreparedSpan(ReadableSpan):
    """A finished span as it will be exported: the original's state plus the tracer's stamp.

    Made without running ``ReadableSpan.__init__`` (a copy of the original's fields), so that
    preparing a span costs next to nothing until an exporter reads its attributes.
    """

    _hh_stamp: Stamp
    _hh_attributes: Optional[Mapping[str, Any]]
    _hh_session_name: Optional[str]  # the name of the span's session, if not the tracer's

    @classmethod
    def of(
        cls, original: ReadableSpan, stamp: Stamp, session_name: Optional[str] = None
    ) -> PreparedSpan:
        span = cls.__new__(cls)
        span.__dict__.update(original.__dict__)
        span._hh_stamp = stamp
        span._hh_attributes = None
        span._hh_session_name = session_name
        return span

    def session_attributes(self, default_session: bool = True) -> dict[str, Any]:
        """What :meth:`Stamp.span_attributes` adds to the tracer-wide part for this span."""
        return self._hh_stamp.span_attributes(
            self.own_attributes(), default_session, self._hh_session_name
        )

    def own_attributes(self) -> Mapping[str, Any]:
        """The attributes the span was given (before the stamp)."""
        return self._attributes or {}

    @property
    def attributes(self) -> Mapping[str, Any]:
        merged = self._hh_attributes
        if merged is None:
            merged = MappingProxyType({**self._hh_stamp.static, **self.session_attributes()})
            self._hh_attributes = merged
        return merged

    @property
    def events(self) -> Sequence[Event]:
        return self._guarded("events", lambda: self._hh_stamp.scrub_events(tuple(self._events)), ())

    @property
    def links(self) -> Sequence[Link]:
        return self._guarded("links", lambda: self._hh_stamp.scrub_links(tuple(self._links)), ())

    @property
    def name(self) -> str:
        return self._guarded("name", lambda: self._hh_stamp.scrub_text(self._name), "<span>")

    @property
    def status(self) -> Status:
        status: Status = self._status
        return self._guarded(
            "status", lambda: self._hh_stamp.scrub_status(status), Status(status.status_code)
        )

    def _guarded(self, what: str, prepare: Callable[[], _T], fallback: _T) -> _T:
        """``prepare()``; if it raises, ``fallback`` (fail closed) and an internal error."""
        try:
            return prepare()
        except Exception as exc:
            internal_error(f"preparing a span's {what}", exc)
            return fallback

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

    def __init__(
        self,
        settings: Settings,
        session_id: str,
        secret_keys: Callable[[str], bool] = is_secret_name,
        mask: Optional[Mask] = None,
    ) -> None:
        self.stamp = Stamp(settings, session_id, secret_keys, mask)

    def prepare(
        self,
        spans: Sequence[ReadableSpan],
        session_names: Optional[Callable[[str], Optional[str]]] = None,
    ) -> list[ReadableSpan]:
        """``session_names``: the name of a session the tracer started, by id (None: unknown)."""
        stamp = self.stamp
        of = PreparedSpan.of
        if session_names is None:
            return [of(span, stamp) for span in spans]
        own = stamp.session_id
        prepared: list[ReadableSpan] = []
        for span in spans:
            session = (span._attributes or {}).get("honeyhive.session_id")
            name = None
            if type(session) is str and session != own:
                name = session_names(session)
            prepared.append(of(span, stamp, name))
        return prepared

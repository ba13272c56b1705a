"""The spans this SDK starts itself: ``trace()``, ``@trace``, ``start_span()``, request spans.

:class:`HoneyHiveSpan` is an OpenTelemetry span (the API's ``Span``, and the SDK's
``ReadableSpan`` that processors and exporters read) that costs less to start and end than the
SDK's own: its event and link lists are made on first use, and ``end()`` hands the span itself
to the span processors, where the SDK copies it into a fresh ``ReadableSpan`` (safe here
because an ended span refuses every change, under its lock). Validation of attribute values and
the span limits are the SDK's own (``BoundedAttributes``, ``SpanLimits``).

:class:`SpanFactory` starts them the way the SDK's ``Tracer.start_span`` does, for a tracer of
the same provider: its sampler (``OTEL_TRACES_SAMPLER`` included), its id generator, its
resource, its span processors (plug-ins and processors added later with
``provider.add_span_processor`` included) and ``OTEL_SDK_DISABLED``. Spans that instrumentors
start through ``tracer.provider`` stay the SDK's own; both kinds go through the same processors
and exporters.

What is not carried over: the SDK's optional self-observability metrics (``otel.sdk.span.*``)
do not count these spans.
"""

from __future__ import annotations

import copy
import logging
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from itertools import islice
from time import time_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import Attributes

from honeyhive._diagnostics import logger
from honeyhive._spans._attributes import safe_text
from honeyhive._spans._guards import ArgumentCheck
from honeyhive._spans._limits import TRUNCATED, cut_text, report_truncation

if TYPE_CHECKING:
    from opentelemetry.util.types import AnyValue  # opentelemetry-api >= 1.28

__all__ = ["HoneyHiveSpan", "SpanFactory", "span_name", "span_options"]

_UNSET = Status(StatusCode.UNSET)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
# W3C trace context level 2 "random" flag (OpenTelemetry >= 1.39); absent before.
_RANDOM: Optional[int] = getattr(TraceFlags, "RANDOM_TRACE_ID", None)
# The same with the random flag, made once: a TraceFlags is an object the garbage collector
# tracks, and one per span, queued until exported, makes every collection longer.
_SAMPLED_RANDOM = TraceFlags(_SAMPLED | _RANDOM) if _RANDOM else _SAMPLED
_NOT_SAMPLED_RANDOM = TraceFlags(_NOT_SAMPLED | _RANDOM) if _RANDOM else _NOT_SAMPLED


_NAME_LIMIT = 1024
_NS_LIMIT = 1 << 64  # OTLP carries times as fixed64: 1970 to 2554
_TIME_PROBLEM = "must be an int of nanoseconds since the epoch, from 0 to 2**64"
_warned: set[str] = set()


def _is_time(value: object) -> bool:
    """Whether ``value`` is a time the protocol can carry (an exporter fails on any other)."""
    return type(value) is int and 0 <= value < _NS_LIMIT


def _ended(span: HoneyHiveSpan, what: str) -> None:
    """A change to an ended span is ignored; said once per kind at WARNING, as the SDK says it
    (every time), then at DEBUG: misuse in a hot loop must not flood the log."""
    level = logging.DEBUG if what in _warned else logging.WARNING
    _warned.add(what)
    logger.log(level, "%s called on an ended span (%r): ignored", what, span.name)


class HoneyHiveSpan(trace_api.Span, ReadableSpan):
    """A recording span made by this SDK (see the module docstring for what differs)."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: Optional[SpanContext],
        kind: SpanKind,
        attributes: Attributes,
        resource: Resource,
        factory: SpanFactory,
    ) -> None:
        ReadableSpan.__init__(
            self,
            name=name,
            context=context,
            parent=parent,
            resource=resource,
            kind=kind,
            status=_UNSET,
            instrumentation_info=factory.info,
            instrumentation_scope=factory.scope,
        )
        limits = factory.limits
        self._limits = limits
        self._attributes: BoundedAttributes = BoundedAttributes(
            limits.max_span_attributes,
            attributes,
            immutable=False,
            max_value_len=limits.max_span_attribute_length,
        )
        # The processors this span reports to; also the key that names its owning tracer
        # (shared with the SDK's spans, see honeyhive._context.owner_of).
        self._span_processor = factory.processor
        self._check = factory.check
        self._text_limit = factory.capture_length
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r}, context={self._context})"

    def _readable_span(self) -> ReadableSpan:
        """A plain snapshot, as the SDK's span gives its processors."""
        return ReadableSpan(
            name=self._name,
            context=self._context,
            parent=self._parent,
            resource=self._resource,
            attributes=self._attributes,
            events=self._events,
            links=self._links,
            kind=self._kind,
            status=self._status,
            start_time=self._start_time,
            end_time=self._end_time,
            instrumentation_info=self._instrumentation_info,
            instrumentation_scope=self._instrumentation_scope,
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadableSpan:
        # The lock and the processor chain do not copy; the span's data does, as the SDK's
        # ReadableSpan (what its processors receive) would.
        return copy.deepcopy(self._readable_span(), memo)

    # -- the API's Span ----------------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: AnyValue) -> None:
        if type(key) is not str or not key:
            self._misuse("set_attribute", "key", "must be a non-empty string")
            return
        with self._lock:
            if self._end_time is None:
                try:
                    self._attributes[key] = value
                except Exception:  # a value whose checks raise (a bad __len__, __str__...)
                    self._misuse("set_attribute", "value", "cannot be read")
                return
        _ended(self, "set_attribute")

    def set_attributes(self, attributes: Mapping[str, AnyValue]) -> None:
        if not _is(attributes, Mapping):
            self._misuse("set_attributes", "attributes", "must be a mapping")
            return
        with self._lock:
            if self._end_time is None:
                store = self._attributes
                set_items = getattr(store, "_set_items", None)  # the SDK's own path (>= 1.39)
                try:
                    if set_items is not None:
                        set_items(attributes)
                    else:
                        for key, value in attributes.items():
                            store[key] = value
                except Exception:
                    self._misuse("set_attributes", "attributes", "cannot be read")
                return
        _ended(self, "set_attributes")

    def _misuse(self, method: str, argument: str, problem: str) -> None:
        """An argument of the wrong kind: ignored, counted and said once (never raised)."""
        _report_misuse(self._check, f"span.{method}", argument, problem)

    def set_clean(self, attributes: Mapping[str, Any]) -> None:
        """Store values already known valid (see honeyhive._spans._fastattrs). What does not fit
        the attribute limit is dropped and counted as the SDK counts it; nothing already on the
        span is evicted. An ended span refuses them, as it refuses any change."""
        with self._lock:
            if self._end_time is not None:
                return
            store = self._attributes
            maxlen = store.maxlen
            if maxlen is not None and len(store) + len(attributes) > maxlen:
                room = max(0, maxlen - len(store))
                store.dropped += len(attributes) - room
                attributes = dict(islice(attributes.items(), room))
            store._dict.update(attributes)

    def add_captured(
        self, attributes: Mapping[str, Any], truncated: int, max_attributes: int
    ) -> int:
        """Store captured values (flattened by the SDK) while the span holds fewer than
        ``max_attributes``, and add how many were cut or left out to ``honeyhive.truncated``;
        returns that number. What is already on the span is never pushed out."""
        with self._lock:
            if self._end_time is not None:
                return 0
            store = self._attributes
            maxlen = store.maxlen
            limit = max_attributes if maxlen is None else min(max_attributes, maxlen)
            room = limit - len(store)
            if len(attributes) > room:
                kept = dict(islice(attributes.items(), max(0, room)))
                truncated += len(attributes) - len(kept)
                attributes = kept
            values = store._dict
            values.update(attributes)
            if truncated:
                previous = values.get(TRUNCATED)
                values[TRUNCATED] = (previous if type(previous) is int else 0) + truncated
        return truncated

    def add_event(
        self,
        name: str,
        attributes: Attributes = None,
        timestamp: Optional[int] = None,
    ) -> None:
        if type(name) is not str:
            name = span_name(name)
        if timestamp is not None and not _is_time(timestamp):
            self._misuse("add_event", "timestamp", _TIME_PROBLEM)
            timestamp = None
        limits = self._limits
        event = Event(
            name,
            self._bounded(
                "add_event", attributes, limits.max_event_attributes, limits.max_attribute_length
            ),
            timestamp,
        )
        with self._lock:
            if self._end_time is None:
                events = self._events
                if not isinstance(events, BoundedList):
                    events = self._events = BoundedList(limits.max_events)
                events.append(event)
                return
        _ended(self, "add_event")

    def _bounded(
        self, method: str, attributes: Any, maxlen: Optional[int], max_value_len: Optional[int]
    ) -> BoundedAttributes:
        """An event's or a link's attributes as the SDK keeps them; unreadable ones left out."""
        if attributes is not None and not isinstance(attributes, Mapping):
            self._misuse(method, "attributes", "must be a mapping")
            attributes = None
        try:
            return BoundedAttributes(
                maxlen, attributes, immutable=True, max_value_len=max_value_len
            )
        except Exception:
            self._misuse(method, "attributes", "cannot be read")
            return BoundedAttributes(maxlen, None, immutable=True, max_value_len=max_value_len)

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if not _is(context, SpanContext):
            self._misuse("add_link", "context", "must be a SpanContext")
            return
        limits = self._limits
        bounded = self._bounded(
            "add_link", attributes, limits.max_link_attributes, limits.max_attribute_length
        )
        if not (context.is_valid or bounded or context.trace_state):
            return  # as the SDK: a link to nothing is dropped
        link = Link(context, bounded)
        with self._lock:
            if self._end_time is None:
                links = self._links
                if not isinstance(links, BoundedList):
                    links = self._links = BoundedList(self._limits.max_links)
                links.append(link)
                return
        _ended(self, "add_link")

    def update_name(self, name: str) -> None:
        if type(name) is not str:
            name = span_name(name)
        with self._lock:
            if self._end_time is None:
                self._name = name
                return
        _ended(self, "update_name")

    def set_status(
        self, status: Union[Status, StatusCode], description: Optional[str] = None
    ) -> None:
        # As the SDK: OK is final, UNSET is never set, a Status carries its own description,
        # anything else is ignored.
        ignored_description = False
        with self._lock:
            if self._end_time is not None:
                ended = True
            else:
                ended = False
                if self._status.status_code is StatusCode.OK:
                    return
                if isinstance(status, Status):
                    if status.status_code is StatusCode.UNSET:
                        return
                    ignored_description = description is not None
                    self._status = status
                elif isinstance(status, StatusCode):
                    if status is StatusCode.UNSET:
                        return
                    self._status = Status(status, description)
        if ended:
            _ended(self, "set_status")
        elif ignored_description:
            logger.warning("set_status: the description is ignored with a Status object")

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: Optional[int] = None,
        escaped: bool = False,
    ) -> None:
        if not _is(exception, BaseException):
            self._misuse("record_exception", "exception", "must be an exception")
            return
        if attributes is not None and not _is(attributes, Mapping):
            self._misuse("record_exception", "attributes", "must be a mapping")
            attributes = None
        cls = type(exception)
        module = cls.__module__
        recorded: dict[str, AnyValue] = {
            "exception.type": (
                f"{module}.{cls.__qualname__}"
                if module and module != "builtins"
                else cls.__qualname__
            ),
            "exception.message": safe_text(exception, sys.maxsize),
            "exception.stacktrace": _stacktrace(exception),
            "exception.escaped": str(escaped is True),
        }
        self._bound_texts(recorded, ("exception.message", "exception.stacktrace"))
        if attributes is not None:
            try:
                recorded.update(attributes)
            except Exception:
                self._misuse("record_exception", "attributes", "cannot be read")
        self.add_event("exception", recorded, timestamp)

    def _bound_texts(self, values: dict[str, Any], keys: tuple[str, ...]) -> None:
        """Cut the texts the span captured itself (an exception's message and stack trace) at
        the capture length, marked and counted on ``honeyhive.truncated`` like any captured
        value: an error quoting a whole payload must not cost megabytes a span."""
        limit = self._text_limit
        if limit is None:
            return
        cut = 0
        for key in keys:
            text = values.get(key)
            if type(text) is str and len(text) > limit:
                values[key] = cut_text(text, limit)
                cut += 1
        if cut:
            with self._lock:
                if self._end_time is None:
                    store = self._attributes._dict
                    previous = store.get(TRUNCATED)
                    store[TRUNCATED] = (previous if type(previous) is int else 0) + cut
            report_truncation(self._name, cut)

    def end(self, end_time: Optional[int] = None) -> None:
        if end_time is not None and not _is_time(end_time):
            self._misuse("end", "end_time", _TIME_PROBLEM)
            end_time = None
        with self._lock:
            if self._end_time is not None:
                ended_twice = True
            else:
                ended_twice = False
                self._end_time = end_time if end_time is not None else time_ns()
                self._attributes._immutable = True  # as the SDK: frozen for the exporters
        if ended_twice:
            _ended(self, "end")
            return
        processor = self._span_processor
        on_ending = getattr(processor, "_on_ending", None)
        if on_ending is not None:
            on_ending(self)
        processor.on_end(self)

    #: What ``__exit__`` does with an escaping exception: record it, mark the span ERROR
    #: (``tracer.start_span(record_exception=..., set_status_on_exception=...)``).
    _on_exception = (True, True)
    _token: Optional[object] = None

    def __enter__(self) -> HoneyHiveSpan:
        """``with tracer.start_span(...) as span:``: the span is current inside the block (the
        published SDK's meaning; spans started there are its children)."""
        self._token = context_api.attach(trace_api.set_span_in_context(self))
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None:
        """As the SDK's span: an exception escaping ``with span:`` is recorded, status ERROR."""
        token, self._token = self._token, None
        if token is not None:
            try:
                context_api.detach(token)  # type: ignore[arg-type]
            except Exception as exc:  # exited in another context (a generator moved on)
                logger.debug("with span: detach failed: %r", exc)
        record, mark = self._on_exception
        if exc_val is not None and self.is_recording():
            if record:
                self.record_exception(exc_val, escaped=True)
            if mark:
                message = safe_text(exc_val, self._text_limit or sys.maxsize)
                self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {message}"))
        self.end()


def span_options(span: object, record_exception: bool, set_status_on_exception: bool) -> None:
    """What ``with span:`` does with an escaping exception (our spans only)."""
    if isinstance(span, HoneyHiveSpan):
        span._on_exception = (record_exception, set_status_on_exception)


def span_name(name: object) -> str:
    """A span name from whatever was given (``None``, a number, an object): its text."""
    return safe_text(name, _NAME_LIMIT)


def _stacktrace(exception: BaseException) -> str:
    try:
        return "".join(
            traceback.format_exception(type(exception), exception, exception.__traceback__)
        )
    except Exception as exc:  # not an exception at all, or a traceback that cannot be read
        return f"<no stack trace: {type(exc).__name__}>"


def _is(value: object, kind: Any) -> bool:
    """``isinstance`` for arguments whose annotation user code need not honour (so the type
    checker does not take the check for dead code)."""
    return isinstance(value, kind)


def _report_misuse(check: Optional[ArgumentCheck], call: str, argument: str, problem: str) -> None:
    if check is not None:
        check.report(call, argument, problem)
    elif call not in _warned:  # a span from a factory without a tracer: said once
        _warned.add(call)
        logger.warning("honeyhive: %s(%s=...) %s; ignored", call, argument, problem)


class SpanFactory:
    """Starts :class:`HoneyHiveSpan` spans for one SDK tracer (see the module docstring).

    ``sdk_tracer`` is what ``provider.get_tracer(...)`` returned: its sampler, id generator,
    resource (which the SDK renews in a forked child) and processor chain are used, and so are
    its switches: with ``OTEL_SDK_DISABLED`` the provider gives a no-op tracer and nothing is
    recorded; a tracer its configurator disabled gives non-recording spans.
    """

    def __init__(
        self, sdk_tracer: trace_api.Tracer, scope: InstrumentationScope, limits: SpanLimits
    ) -> None:
        self.scope = scope
        self.limits = limits
        self._sdk_tracer: Any = sdk_tracer
        self._enabled = isinstance(sdk_tracer, SdkTracer)
        self._is_enabled: Optional[Callable[[], bool]] = getattr(sdk_tracer, "_is_enabled", None)
        self.info = getattr(sdk_tracer, "instrumentation_info", None)  # deprecated, still set
        #: Where trace and span ids come from (``honeyhive.testing`` swaps it for sequential ids).
        self.id_generator: IdGenerator = getattr(sdk_tracer, "id_generator", RandomIdGenerator())
        # The provider's processor chain itself, so processors added to it later see these
        # spans too (it keeps its processors in a tuple it replaces on every addition).
        self.processor: Any = getattr(sdk_tracer, "span_processor", None)
        #: Where our spans report arguments of the wrong kind (the tracer's, once it has one).
        self.check: Optional[ArgumentCheck] = None
        #: The tracer's ``capture_max_length``, for the texts a span captures itself.
        self.capture_length: Optional[int] = None

    def use_resource(self, resource: Resource) -> None:
        """Spans started from now on carry ``resource`` (a service named after the fact)."""
        if self._enabled:
            self._sdk_tracer.resource = resource

    def start(
        self,
        name: str,
        context: Optional[Context] = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Optional[Sequence[Link]] = None,
        start_time: Optional[int] = None,
    ) -> trace_api.Span:
        """A started span, or a non-recording one where the SDK would give one."""
        if not self._enabled:
            return trace_api.INVALID_SPAN  # OTEL_SDK_DISABLED: the SDK's no-op tracer's answer
        if type(name) is not str:
            name = span_name(name)
        links = links or ()
        parent: Optional[SpanContext] = trace_api.get_current_span(context).get_span_context()
        if self._is_enabled is not None and not self._is_enabled():
            return trace_api.NonRecordingSpan(parent)  # type: ignore[arg-type]
        if parent is None or not parent.is_valid:
            parent = None
            ids = self.id_generator
            trace_id = ids.generate_trace_id()
            random_id = _RANDOM is not None and ids.is_trace_id_random()
        else:
            trace_id = parent.trace_id
            random_id = _RANDOM is not None and bool(parent.trace_flags & _RANDOM)
        sdk_tracer = self._sdk_tracer
        sampled = sdk_tracer.sampler.should_sample(context, trace_id, name, kind, attributes, links)
        decision = sampled.decision
        if decision is Decision.RECORD_AND_SAMPLE:
            flags = _SAMPLED_RANDOM if random_id else _SAMPLED
        else:
            flags = _NOT_SAMPLED_RANDOM if random_id else _NOT_SAMPLED
        span_context = SpanContext(
            trace_id,
            self.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=flags,
            trace_state=sampled.trace_state,
        )
        if decision is Decision.DROP:
            return trace_api.NonRecordingSpan(span_context)
        span = HoneyHiveSpan(
            name, span_context, parent, kind, sampled.attributes, sdk_tracer.resource, self
        )
        for link in links:
            if link:
                span.add_link(link.context, link.attributes)
        if start_time is not None and not _is_time(start_time):
            _report_misuse(self.check, "start_span", "start_time", _TIME_PROBLEM)
            start_time = None
        span._start_time = start_time if start_time is not None else time_ns()
        # Typed for the SDK's Span; processors use the API's Span and ReadableSpan, as ours is.
        self.processor.on_start(span, parent_context=context)
        return span

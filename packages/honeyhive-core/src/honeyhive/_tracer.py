"""``HoneyHiveTracer``: the public facade, composed from small parts.

* settings: :mod:`honeyhive._settings` (precedence, validation, environment)
* plug-ins: :mod:`honeyhive._plugins` (exporters, processors, propagators by entry point)
* spans: :mod:`honeyhive._spans` (our span, the current-span scope, ``@trace``, attributes)
* export: :mod:`honeyhive._export` (processors, the delivery thread, encoders, outboxes)
* HTTP: :mod:`honeyhive._http` (outgoing client spans; the server side serves the integrations)

See ``docs/architecture.md`` for the path of a span through them.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from types import TracebackType
from typing import Any, Callable, Optional

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter, TextMapPropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import Attributes

from honeyhive import _compat, _context, _plugins, _propagation, _sessions
from honeyhive import _forksafe as forksafe
from honeyhive._context import TRACER_KEY
from honeyhive._diagnostics import DropCounter, enable_verbose_logging, internal_error, logger
from honeyhive._export import (
    API_SENDERS,
    ApiChannel,
    Delivery,
    HttpTransport,
    IsolatedProcessor,
    Outbox,
    SessionProcessor,
    SpanPreparer,
    client_headers,
    gate_for,
    report_for,
    split_batch,
    spool_for,
)
from honeyhive._http import (
    DEFAULT_REDACT_QUERY_PARAMS,
    QueryRedaction,
    disable_client_tracing,
    enable_client_tracing,
    redact_url,
)
from honeyhive._settings import default_service_name, resolve
from honeyhive._signals import install_sigterm_flush, raise_deferred_signal
from honeyhive._spans import (
    DEFAULT_REDACT_KEYS,
    REDACTED,
    RESERVED_ATTRIBUTES,
    UNNAMED,
    VALUE_DROP_REASONS,
    ArgumentCheck,
    AttributeValue,
    CaptureRules,
    Mask,
    SecretKeys,
    SpanFactory,
    TraceScope,
    add_captured,
    edit_names,
    enrichment_attributes,
    entry_point,
    event_type_for,
    flatten_each,
    plain_body,
    safe_text,
    span_options,
)
from honeyhive._version import __version__
from honeyhive.config.models import EvaluationConfig, SessionConfig, TracerConfig

__all__ = ["HoneyHiveTracer", "flush_for_exit"]


class _Unset:
    """Marks a keyword argument the caller did not pass (so None can be passed explicitly)."""

    _instance: Optional[_Unset] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


class HoneyHiveTracer:
    """Traces into HoneyHive through its own OpenTelemetry ``TracerProvider``.

    Settings resolve as: explicit keyword argument > ``config`` / ``session_config`` /
    ``evaluation_config`` > ``HH_*`` environment variables > defaults. Construction validates
    everything and never waits on the network: the session id is made here and the session
    start is sent in the background. Several tracers in one process are independent, and no
    OpenTelemetry global is touched unless ``set_global_provider=True``.
    """

    def __init__(
        self,
        config: Optional[TracerConfig] = None,
        session_config: Optional[SessionConfig] = None,
        evaluation_config: Optional[EvaluationConfig] = None,
        *,
        api_key: Optional[str] = _UNSET,
        project: Optional[str] = _UNSET,
        session_name: Optional[str] = _UNSET,
        source: str = _UNSET,
        server_url: Optional[str] = _UNSET,
        session_id: Optional[str] = _UNSET,
        disable_http_tracing: Optional[bool] = _UNSET,
        disable_batch: bool = _UNSET,
        verbose: bool = _UNSET,
        inputs: Optional[dict[str, Any]] = _UNSET,
        is_evaluation: bool = _UNSET,
        run_id: Optional[str] = _UNSET,
        dataset_id: Optional[str] = _UNSET,
        datapoint_id: Optional[str] = _UNSET,
        link_carrier: Optional[dict[str, Any]] = _UNSET,
        test_mode: bool = _UNSET,
        **kwargs: Any,
    ) -> None:
        given = {
            "api_key": api_key,
            "project": project,
            "session_name": session_name,
            "source": source,
            "server_url": server_url,
            "session_id": session_id,
            "disable_http_tracing": disable_http_tracing,
            "disable_batch": disable_batch,
            "verbose": verbose,
            "inputs": inputs,
            "is_evaluation": is_evaluation,
            "run_id": run_id,
            "dataset_id": dataset_id,
            "datapoint_id": datapoint_id,
            "link_carrier": link_carrier,
            "test_mode": test_mode,
            **kwargs,
        }
        # None for a boolean means "not given" (older code passes disable_http_tracing=None).
        explicit = {
            k: v
            for k, v in given.items()
            if v is not _UNSET and not (v is None and k in _BOOLEAN_SETTINGS)
        }
        # The published SDK's own settings (as keywords, or fields of its config classes that
        # ours keep apart): honoured under our names, or said to do nothing.
        carried = _compat.carried_settings(config, evaluation_config, session_config)
        explicit, published = _compat.translate({**carried, **explicit}, os.environ)
        instrumentors = published.instrumentors
        skip_start = published.skip_backend_session_creation
        settings = resolve(config, session_config, evaluation_config, explicit)
        if settings.verbose:
            enable_verbose_logging()
        self._settings = settings
        self._closed = False
        self._close_lock = forksafe.Lock()
        self._session_id = settings.session_id or str(uuid.uuid4())
        # What is captured, and what never leaves the process (honeyhive._spans: _limits,
        # _redaction, _mask; honeyhive._http._urls for query strings).
        self._value_drops = DropCounter("values", VALUE_DROP_REASONS)
        self._arguments = ArgumentCheck(self._value_drops)
        secret_keys = SecretKeys(
            edit_names(DEFAULT_REDACT_KEYS, settings.redact_keys, "redact_keys")
        )
        self._rules = CaptureRules.of(
            settings.capture_max_length,
            settings.capture_max_items,
            settings.capture_max_attributes,
            secret_keys,
        )
        self._mask = (
            Mask(settings.mask, self._value_drops, settings.capture_max_length)
            if settings.mask is not None
            else None
        )
        self._query_redaction = QueryRedaction(
            edit_names(
                DEFAULT_REDACT_QUERY_PARAMS, settings.redact_query_params, "redact_query_params"
            ),
            secret_keys,
        )
        self._call_drops = DropCounter("API calls")

        plugin_config = settings.as_config()
        exporters = [
            _plugins.build("exporter", name, plugin_config, SpanExporter)
            for name in settings.exporters
        ]
        self._propagator: TextMapPropagator = _propagation.composite(
            [
                _plugins.build("propagator", name, plugin_config, TextMapPropagator)  # type: ignore[type-abstract]
                for name in settings.propagators
            ]
        )
        processors = [
            IsolatedProcessor(name, _plugins.build("processor", name, plugin_config, SpanProcessor))
            for name in settings.processors
        ]
        self._processors = tuple(processors)
        self._api_enabled = "honeyhive" in settings.exporters and not settings.test_mode
        api_outbox = None
        if self._api_enabled:
            api_outbox = Outbox(
                HttpTransport(
                    settings.server_url,
                    client_headers(plugin_config),
                    verify=settings.verify_tls,
                    gate=gate_for(settings.server_url),
                    connections=API_SENDERS,
                ),
                drops={"calls": self._call_drops, "spans": self._call_drops},
                max_bytes=settings.max_queue_bytes,
                timeout=settings.export_timeout,
                spool=spool_for(plugin_config, settings.server_url),
                split=split_batch,
                name="honeyhive-api",
                senders=API_SENDERS,
                report=report_for(settings.server_url, "HH_API_URL"),
            )
        preparer = SpanPreparer(settings, self._session_id, secret_keys, self._mask)
        #: The one path of every API call (session starts, events, enrichments).
        self._api = ApiChannel(
            base_url=settings.server_url,
            outbox=api_outbox,
            drops=self._call_drops,
            scrub=preparer.stamp.scrub_text,
            max_queued=settings.max_queue_size,
        )
        self._delivery = Delivery(
            exporters=exporters,
            names=settings.exporters,
            preparer=preparer,
            api=self._api,
            max_queue_size=settings.max_queue_size,
            max_batch=settings.max_export_batch_size,
            schedule_delay=settings.schedule_delay,
            export_each_span=settings.disable_batch,
        )
        # service.name as OpenTelemetry has it: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES,
        # else a default that tells services apart (an integration may name its app later).
        resource = Resource.create({})
        service = str(resource.attributes.get("service.name") or "")
        self._service_defaulted = not service or service.startswith("unknown_service")
        if self._service_defaulted:
            resource = resource.merge(Resource({"service.name": default_service_name()}))
        # Room for the captured attributes and the SDK's own, and never less than what
        # OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT (or its default) gives instrumentors' spans.
        otel_default = SpanLimits().max_span_attributes or 0
        limits = SpanLimits(
            max_span_attributes=max(
                otel_default, settings.capture_max_attributes + RESERVED_ATTRIBUTES
            ),
            max_span_attribute_length=settings.capture_max_length + 64,
        )
        self._provider = TracerProvider(
            resource=resource,
            shutdown_on_exit=False,  # the tracer's own exit hook closes it, within its budget
            span_limits=limits,
        )
        for processor in processors:
            self._provider.add_span_processor(processor)
        self._session_processor = SessionProcessor(
            self._delivery, self._session_id, self._start_own_session
        )
        self._provider.add_span_processor(self._session_processor)
        self._spans = SpanFactory(
            self._provider.get_tracer("honeyhive", __version__),
            InstrumentationScope("honeyhive", __version__),
            limits,
        )
        self._spans.check = self._arguments
        self._spans.capture_length = settings.capture_max_length
        _context.own_spans_of(self, self._provider._active_span_processor)
        self._link_context: Optional[Context] = None
        if settings.link_carrier:
            self._link_context = _propagation.extract(self._propagator, settings.link_carrier)

        # The tracer's own session starts when it is first used (a span of it starts,
        # enrich_session, create_event, inject): a tracer that only serves per-request
        # sessions (a web server's) or is never used (``manage.py check``) starts none.
        self._own_lock = forksafe.Lock()
        # skip_backend_session_creation (published): the session exists, or is started elsewhere.
        self._own_pending = not (settings.session_id_given or skip_start)
        self._own_announced = not self._own_pending  # inject() sent its start at once
        self._own_forced = False  # session_start() started a session given by id
        self._session_processor.own_pending = self._own_pending
        if settings.session_id_given and (settings.inputs or settings.evaluation):
            # Joining an existing session: what would have gone on its start updates it.
            self.enrich_session(inputs=settings.inputs, metadata=settings.evaluation or None)
        if settings.set_global_provider:
            trace_api.set_tracer_provider(self._provider)
        if not settings.disable_http_tracing:
            enable_client_tracing(self)
        if settings.propagate_thread_context:
            _context.enable_thread_propagation()
        #: init(instrumentors=[...]): instrumented with this provider, undone at close.
        self._instrumented = _compat.instrument(instrumentors, self._provider)
        _context.register(self)
        _at_exit(self)
        logger.debug(
            "tracer ready: project=%s source=%s session=%s server=%s test_mode=%s",
            settings.project,
            settings.source,
            self._session_id,
            redact_url(settings.server_url),
            settings.test_mode,
        )

    @classmethod
    def init(
        cls,
        api_key: Optional[str] = None,
        project: Optional[str] = None,
        session_name: Optional[str] = None,
        source: str = _UNSET,
        server_url: Optional[str] = None,
        session_id: Optional[str] = None,
        disable_http_tracing: bool = _UNSET,
        disable_batch: bool = _UNSET,
        verbose: bool = _UNSET,
        inputs: Optional[dict[str, Any]] = None,
        is_evaluation: bool = _UNSET,
        run_id: Optional[str] = None,
        dataset_id: Optional[str] = None,
        datapoint_id: Optional[str] = None,
        link_carrier: Optional[dict[str, Any]] = None,
        test_mode: bool = _UNSET,
        **kwargs: Any,
    ) -> HoneyHiveTracer:
        """Build a tracer from keyword arguments (``None`` means: from the environment).

        Defaults: ``source="dev"``, ``disable_http_tracing=True``, ``disable_batch=False``,
        ``verbose=False``, ``test_mode=False``.
        """
        # Every named parameter that was given (None and unset mean: environment, default).
        given = {k: v for k, v in locals().items() if k not in ("cls", "kwargs")}
        # The published init(config=None, session_config=None, evaluation_config=None, ...)
        # takes its config objects first, positionally.
        for slot, name, kind in _PUBLISHED_INIT_SLOTS:
            if isinstance(given[slot], kind) and name not in kwargs:
                kwargs[name], given[slot] = given[slot], None
        explicit = {k: v for k, v in given.items() if v is not None and v is not _UNSET}
        return cls(**explicit, **kwargs)

    # -- properties ---------------------------------------------------------------------------

    @property
    def project(self) -> Optional[str]:
        """The project spans are attributed to (None when the API key implies it)."""
        return self._settings.project

    @property
    def source(self) -> str:
        """The environment label, e.g. ``"production"``."""
        return self._settings.source

    @property
    def session_id(self) -> str:
        """This tracer's session (a UUID string); it starts when it is first used."""
        return self._session_id

    @property
    def session_name(self) -> str:
        return self._settings.session_name

    @property
    def server_url(self) -> str:
        return self._settings.server_url

    @property
    def test_mode(self) -> bool:
        """True when nothing is sent over the network."""
        return self._settings.test_mode

    @property
    def provider(self) -> TracerProvider:
        """This tracer's OpenTelemetry ``TracerProvider``, for instrumentors."""
        return self._provider

    @property
    def _exporters(self) -> tuple[SpanExporter, ...]:
        return self._delivery._exporters

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped(self) -> Mapping[str, int]:
        """Spans lost so far, by reason (queue_full, rate_limited, network_error, ...)."""
        return self._delivery.dropped()

    @property
    def processor_errors(self) -> Mapping[str, int]:
        """How often each plug-in processor raised (isolated: the spans were still delivered)."""
        return {p.name: p.failures for p in self._processors}

    @property
    def dropped_api_calls(self) -> Mapping[str, int]:
        """Session starts, events and enrichments lost so far, by reason."""
        return dict(self._call_drops.snapshot())

    @property
    def dropped_by_exporter(self) -> Mapping[str, Mapping[str, int]]:
        """What was lost where, by reason: ``queue`` (spans lost before any exporter), each
        exporter by its plug-in name (``honeyhive``, ``otlp``, ...: spans), ``api`` (API
        calls). ``refused`` counts what a backend answered with a 4xx (never retried),
        apart from ``network_error`` (unreachable, timed out, 5xx)."""
        return self._delivery.dropped_by_exporter()

    def __repr__(self) -> str:
        return (
            f"HoneyHiveTracer(project={self.project!r}, source={self.source!r}, "
            f"session_id={self.session_id!r}, server_url={redact_url(self.server_url)!r}, "
            f"test_mode={self.test_mode!r}{', closed' if self._closed else ''})"
        )

    # -- spans --------------------------------------------------------------------------------

    def trace(
        self, name: Optional[str] = UNNAMED, event_type: Optional[str] = None, **attributes: Any
    ) -> TraceScope:
        """A context manager: a span named ``name``, current inside the block.

        ``event_type`` lands on ``honeyhive.event_type`` (and on ``honeyhive_event_type`` as
        model, tool or chain). Keyword arguments become attributes, within the capture limits.
        An exception escaping the block marks the span ERROR, is recorded once and propagates.

        Also a decorator (the published README's ``@tracer.trace(event_type="tool")``): each
        call of the function gets a span, named ``name`` or after the function.
        """
        initial: dict[str, AttributeValue] = {}
        cut = 0
        try:
            if event_type is not None and self._arguments.accepts(
                "trace", "event_type", event_type, str, "a string"
            ):
                initial["honeyhive.event_type"] = event_type
                initial["honeyhive_event_type"] = event_type_for(event_type)
            else:
                event_type = None
            if attributes:
                cut = flatten_each(initial, attributes, self._rules)
        except Exception as exc:  # the backstop: the block still runs, in a span
            internal_error("trace", exc)
            initial, cut = {}, 0
        return TraceScope(self, name, event_type, initial or None, cut)

    @entry_point(lambda: trace_api.INVALID_SPAN)
    def start_span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Optional[Sequence[Link]] = None,
        start_time: Optional[int] = None,
        context: Optional[Context] = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        """Start a span (as OpenTelemetry's ``start_span``).

        ``with tracer.start_span(...) as span:`` makes it current inside the block and ends it
        when the block ends; an escaping exception is recorded (``record_exception``) and marks
        it ERROR (``set_status_on_exception``).
        """
        if self._closed:
            return trace_api.INVALID_SPAN
        check = self._arguments
        attributes = check.mapping("start_span", "attributes", attributes)
        if attributes is not None:
            try:  # read once, here, where it may fail; attribute keys are strings
                given = list(attributes.items())
                attributes = {k: v for k, v in given if type(k) is str}
                if len(attributes) < len(given):
                    check.report("start_span", "attributes", "has keys that are not strings")
            except Exception:
                check.report("start_span", "attributes", "cannot be read")
                attributes = None
        if not check.accepts("start_span", "kind", kind, SpanKind, "a SpanKind"):
            kind = SpanKind.INTERNAL
        if links is not None and not (
            isinstance(links, (list, tuple)) and all(isinstance(x, Link) for x in links)
        ):
            check.report("start_span", "links", "must be a list of opentelemetry.trace.Link")
            links = None
        if start_time is not None and type(start_time) is not int:
            check.report("start_span", "start_time", "must be an int (ns since the epoch)")
            start_time = None
        if not check.accepts("start_span", "context", context, Context, "a Context"):
            context = None
        if context is None and self._link_context is not None:
            current = context_api.get_current()
            if not trace_api.get_current_span(current).get_span_context().is_valid:
                context = self._link_context  # link_carrier: root spans join the parent trace
        span = self._spans.start(name, context, kind, attributes, links, start_time)
        record = check.accepts("start_span", "record_exception", record_exception, bool, "a bool")
        mark = check.accepts(
            "start_span", "set_status_on_exception", set_status_on_exception, bool, "a bool"
        )
        if (record and record_exception is False) or (mark and set_status_on_exception is False):
            span_options(span, record_exception is not False, set_status_on_exception is not False)
        return span

    @entry_point(lambda: False)
    def enrich_current_span(self, attributes: Mapping[str, Any]) -> bool:
        """Add attributes to the current span; returns False when no span is recording."""
        span = trace_api.get_current_span()
        if not span.is_recording():
            return False
        return self._enrich(span, attributes, "enrich_current_span")

    def _enrich(self, span: Span, attributes: Any, call: str) -> bool:
        """Flatten ``attributes`` onto ``span`` within the limits; False if it was not a
        mapping (reported) or held nothing."""
        values = self._arguments.mapping(call, "attributes", attributes)
        if values is None:
            return False
        flat: dict[str, AttributeValue] = {}
        cut = flatten_each(flat, values, self._rules)
        add_captured(span, flat, cut, self._rules.max_attributes)
        return True

    @entry_point(lambda: False)
    def enrich_span(
        self,
        attributes: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        metrics: Optional[Mapping[str, Any]] = None,
        feedback: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        outputs: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
        error: Optional[str] = None,
        event_id: Optional[str] = None,
        update_event_id: Optional[str] = None,
        **kwargs: Any,
    ) -> bool:
        """Add HoneyHive fields to the current span: ``metadata`` to ``honeyhive_metadata.*``,
        ``metrics`` to ``honeyhive_metrics.*`` and so on; ``attributes`` (also given first,
        positionally) and any other keyword to ``honeyhive_metadata.*``; ``error`` to
        ``honeyhive_error``; ``update_event_id`` to ``honeyhive_event_id``.

        With ``event_id``, event ``event_id`` is updated instead (``PUT /events``, in the
        background; ``inputs`` and ``error`` go in its ``metadata``). Returns whether the
        values landed: False when no span is recording.
        """
        namespaces = {
            "metadata": metadata,
            "metrics": metrics,
            "feedback": feedback,
            "inputs": inputs,
            "outputs": outputs,
            "config": config,
            "user_properties": user_properties,
        }
        check = self._arguments
        extra = {k: v for k, v in kwargs.items() if k not in _NOT_METADATA and v is not None}
        if event_id is not None:
            if not check.accepts("enrich_span", "event_id", event_id, str, "a string"):
                return False
            return self._update(
                "enrich_span", event_id, namespaces, inputs, attributes, extra, error
            )
        span = trace_api.get_current_span()
        if not span.is_recording():
            return False
        rules = self._rules
        flat, cut = enrichment_attributes(
            check, rules, namespaces, attributes, extra, error, update_event_id
        )
        if not flat and not cut:
            return False
        add_captured(span, flat, cut, rules.max_attributes)
        return True

    def _update(
        self,
        call: str,
        target: str,
        fields: Mapping[str, Any],
        inputs: Any,
        attributes: Any,
        extra: Mapping[str, Any],
        error: Any,
    ) -> bool:
        loose = self._arguments.mapping(call, "attributes", attributes)
        folded = {**(loose if loose is not None else {}), **extra}
        if error is not None:
            folded["error"] = safe_text(error, self._rules.max_length)
        if self._closed:
            return False
        body = _sessions.update_body(self, call, target, fields, inputs, folded)
        self._api.update_event(body)
        return True

    @entry_point(lambda: None)
    def enrich_session(
        self,
        metadata: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        outputs: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
        feedback: Optional[Mapping[str, Any]] = None,
        metrics: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
        session_id: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        """Update a session (default: the current context's, else this tracer's).

        ``inputs`` and any other keyword go in its ``metadata`` (the update has no field for
        them), except ``duration`` (milliseconds). A session id given first, as a string, is
        ``session_id``. Sent in the background (``PUT /events``); ``flush()`` waits for it.
        """
        first: object = metadata
        if isinstance(first, str) and session_id is None:  # a session id given first
            session_id, metadata = first, None
        if self._closed:
            return
        if not self._arguments.accepts("enrich_session", "session_id", session_id, str, "a string"):
            session_id = None
        target = session_id or self._current_session_id()
        fields = {
            "metadata": metadata,
            "metrics": metrics,
            "feedback": feedback,
            "outputs": outputs,
            "config": config,
            "user_properties": user_properties,
        }
        duration = kwargs.pop("duration", None)
        extra = {k: v for k, v in kwargs.items() if k not in _NOT_METADATA}
        body = _sessions.update_body(
            self, "enrich_session", target, fields, inputs, extra, duration
        )
        if len(body) == 1:  # nothing to update (as published: no request)
            return
        if target == self._session_id:
            self._start_own_session()
        self._api.update_event(body)

    @entry_point(lambda: str(uuid.uuid4()))
    def create_event(
        self,
        event_name: Any,
        event_type: str = "tool",
        *,
        inputs: Optional[Mapping[str, Any]] = None,
        outputs: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        metrics: Optional[Mapping[str, Any]] = None,
        feedback: Optional[Mapping[str, Any]] = None,
        error: Optional[str] = None,
        duration: Optional[float] = None,
        session_id: Optional[str] = None,
        **extra: Any,
    ) -> str:
        """Record a standalone event and return its id at once (delivery is in the background).

        ``event_type`` is model, tool or chain; ``duration`` is in milliseconds. The event
        belongs to ``session_id``, else to the current context's session, else this tracer's.
        As published, ``event_name`` may be a dict holding every field.
        """
        if isinstance(event_name, Mapping):  # create_event({"event_name": ..., ...})
            fields = _sessions.event_fields(self, event_name)
            return self.create_event(
                fields.pop("event_name", "event"),
                fields.pop("event_type", event_type),
                **{**fields, **extra},
            )
        if self._closed:
            return str(uuid.uuid4())
        captured = {
            "config": config,
            "inputs": inputs,
            "outputs": outputs,
            "metadata": metadata,
            "metrics": metrics,
            "feedback": feedback,
            "error": error,
            **extra,
        }
        event = _sessions.event_body(self, event_name, event_type, session_id, duration, captured)
        self._api.create_event(event)
        return str(event["event_id"])

    def _body(self, value: Any, path: str, masked: bool = True) -> Any:
        """A captured value for an API call's body: bounded, redacted and masked (all of it
        when the name it is sent under looks secret: ``create_event(..., api_key=...)``)."""
        if self._rules.is_secret(path.rpartition(".")[2]):
            return REDACTED
        copied, cut = plain_body(value, self._rules, self._mask if masked else None, path)
        if cut:
            self._value_drops.add("truncated", cut)
        return copied

    @property
    def dropped_values(self) -> Mapping[str, int]:
        """Captured values not sent whole, by reason: ``mask_error`` (the mask hook raised),
        ``invalid_argument`` (an argument of the wrong kind, e.g. ``metadata=5``),
        ``truncated`` (a value in an event, session or enrichment body cut or left out by the
        capture limits; on spans, the span's ``honeyhive.truncated`` counts them)."""
        return dict(self._value_drops.snapshot())

    # -- sessions -----------------------------------------------------------------------------

    @entry_point(lambda: str(uuid.uuid4()))
    def create_session(
        self,
        session_name: Optional[str] = None,
        session_id: Optional[str] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
        source: Optional[str] = None,
        skip_api_call: bool = False,
    ) -> str:
        """Start a session and make it the current context's (a request's, a task's); returns
        its id at once (the start goes out in the background, before anything of it).

        Spans, ``enrich_session`` and ``create_event`` in this context then belong to it: for
        the rest of the asyncio task, the thread's current scope (an integration's request, a
        span) or thread-pool task; never for another request. ``session_id`` (a UUID) chooses
        its id; with ``skip_api_call=True`` that session exists already and is only joined.
        """
        sid, _token = _sessions.new_session(
            self,
            "create_session",
            session_name=session_name,
            session_id=session_id,
            inputs=inputs,
            metadata=metadata,
            user_properties=user_properties,
            source=source,
            start=not (skip_api_call is True and session_id is not None),
        )
        return sid

    async def acreate_session(
        self,
        session_name: Optional[str] = None,
        session_id: Optional[str] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
        source: Optional[str] = None,
        skip_api_call: bool = False,
    ) -> str:
        """:meth:`create_session` for ``async`` code (``await tracer.acreate_session(...)``):
        the session becomes the calling task's."""
        return self.create_session(
            session_name, session_id, inputs, metadata, user_properties, source, skip_api_call
        )

    @contextlib.contextmanager
    def with_session(
        self,
        session_name: Optional[str] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
        source: Optional[str] = None,
    ) -> Iterator[str]:
        """A new session, current inside the block (``with tracer.with_session("req") as sid:``);
        the context before it is restored after it."""
        try:
            sid, token = _sessions.new_session(
                self,
                "with_session",
                session_name=session_name,
                inputs=inputs,
                metadata=metadata,
                user_properties=user_properties,
                source=source,
            )
        except Exception as exc:  # the block runs all the same, in the session it was in
            internal_error("with_session", exc)
            sid, token = self._current_session_id(), None
        try:
            yield sid
        finally:
            if token is not None:
                try:
                    context_api.detach(token)  # type: ignore[arg-type]
                except Exception as exc:  # detached in another context (a generator moved on)
                    logger.debug("with_session: detach failed: %r", exc)

    @entry_point(lambda: None)
    def session_start(self) -> str:
        """Start this tracer's own session now (it starts by itself when first used) and
        return its id; a session joined by ``session_id=`` is started too."""
        if self._closed:
            return self._session_id
        with self._own_lock:
            if self._settings.session_id_given and not self._own_forced:
                self._own_forced = True
                self._own_pending = True
                self._session_processor.own_pending = True
        self._start_own_session()
        self._delivery.wake()
        return self._session_id

    # -- propagation --------------------------------------------------------------------------

    def _current_session_id(self) -> str:
        return _sessions.current_session_id(self)

    def _baggage_defaults(self) -> dict[str, str]:
        defaults = {"session_id": self._session_id, "source": self.source}
        if self.project:
            defaults["project"] = self.project
        defaults.update(self._settings.evaluation)
        return defaults

    @entry_point(dict)
    def inject(
        self,
        carrier: Optional[MutableMapping[str, Any]] = None,
        setter: Optional[Setter[Any]] = None,
    ) -> MutableMapping[str, Any]:
        """Write the current trace and the session's baggage into ``carrier`` (and return it)."""
        target = _propagation.as_mutable(carrier)
        check = self._arguments
        if setter is not None and not callable(getattr(setter, "set", None)):
            check.report("inject", "setter", "must be an OpenTelemetry Setter (with .set)")
            setter = None
        if setter is None and not check.accepts(
            "inject", "carrier", target, MutableMapping, "a mutable mapping (or give a setter)"
        ):
            return target
        if not self._own_announced and self._current_session_id() == self._session_id:
            # Its id leaves the process: another service's spans may name it soon, so its
            # start goes now rather than at the next scheduled export.
            self._own_announced = True
            self._start_own_session()
            self._delivery.wake()
        try:
            _propagation.inject(self._propagator, target, self._baggage_defaults(), setter)
        except Exception as exc:
            internal_error("inject", exc)
        return target

    @entry_point(lambda: context_api.attach(context_api.get_current()))
    def link(
        self, carrier: Optional[Mapping[str, Any]] = None, getter: Optional[Getter[Any]] = None
    ) -> object:
        """Join the trace and baggage (session included) in ``carrier``; returns a token.

        Spans started after this are children of the carrier's span and belong to its session,
        until :meth:`unlink` restores the previous context.
        """
        if getter is not None and not callable(getattr(getter, "get", None)):
            self._arguments.report("link", "getter", "must be an OpenTelemetry Getter (.get)")
            getter = None
        ctx = _propagation.extract(self._propagator, {} if carrier is None else carrier, getter)
        ctx = context_api.set_value(TRACER_KEY, self, ctx)
        return context_api.attach(ctx)

    @entry_point(lambda: None)
    def unlink(self, token: object) -> None:
        """Restore the context that was current before :meth:`link`."""
        try:
            context_api.detach(token)  # type: ignore[arg-type]
        except Exception as exc:
            internal_error("unlink", exc)

    # -- lifecycle ----------------------------------------------------------------------------

    def _adopt_service_name(self, name: str) -> None:
        """An integration knows the app this tracer serves (Flask's ``app.name``, FastAPI's
        title, Django's project): it names the service, unless the environment did, or
        another app did first. Spans started from now on carry it."""
        if not name or not self._service_defaulted:
            return
        self._service_defaulted = False
        provider = self._provider
        named = Resource({"service.name": name})
        update = getattr(provider, "_update_resource", None)
        if update is not None:  # the SDK's own way, which also renews its tracers
            update(named)
        else:  # an older SDK
            provider._resource = provider.resource.merge(named)
        self._spans.use_resource(provider.resource)

    def _start_own_session(self) -> None:
        """The tracer's own session is used for the first time: start it (once).

        The start is queued before the flag drops, under the lock: whoever then finds the
        session started (and queues a span, an event) queues it after the start.
        """
        if not self._own_pending:
            return
        with self._own_lock:
            if self._session_processor.own_pending:  # still, now that we hold the lock
                self._start_session(self._session_id, self._settings.inputs)
                self._own_pending = False
                self._session_processor.own_pending = False

    def _start_own_session_later(self) -> None:
        """A session id chosen ahead (``honeyhive.testing``) that is still a new session."""
        with self._own_lock:
            self._own_pending = True
            self._session_processor.own_pending = True

    def _open_session(self, session_id: str, start: Callable[[], dict[str, Any]]) -> None:
        """A per-request session: it starts when :meth:`_start_open_session` is called (the
        request ended), or early when a flush needs it; ``start()`` builds its start then
        (with :meth:`_session_event`), named as far as is known."""
        self._api.open_session(session_id, start)

    def _start_open_session(self, session_id: str) -> None:
        self._api.start_open_session(session_id)

    def _start_session(
        self,
        session_id: str,
        inputs: Optional[Mapping[str, Any]] = None,
        session_name: Optional[str] = None,
    ) -> None:
        """Queue a session start (encoded and sent in the background)."""
        self._api.start_session(self._session_event(session_id, session_name, inputs))

    def _session_event(
        self,
        session_id: str,
        session_name: Optional[str] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        start_time: Optional[int] = None,
    ) -> dict[str, Any]:
        """A session's start as the batch event that starts it (see ``_sessions``)."""
        return _sessions.session_event(self, session_id, session_name, inputs, start_time)

    @entry_point(lambda: False)
    def flush(
        self, timeout: Optional[float] = None, *, timeout_millis: Optional[float] = None
    ) -> bool:
        """Deliver everything queued so far; True only if all of it was acknowledged.

        Returns within ``timeout`` seconds (default: the ``export_timeout`` setting), whatever
        the backend does. Covers spans, events, session starts and enrichments.
        ``timeout_millis`` is the published SDK's spelling, in milliseconds.
        """
        if timeout is None and timeout_millis is not None:
            if _finite(timeout_millis):
                timeout = timeout_millis / 1000.0
            else:
                self._arguments.report("flush", "timeout_millis", "must be a finite number")
        if self._closed:
            return self._delivery.flush(0.0)  # nothing pending; False if close() lost anything
        if timeout is not None and not _finite(timeout):
            self._arguments.report("flush", "timeout", "must be a finite number of seconds")
            timeout = None
        budget = self._settings.export_timeout if timeout is None else max(0.0, timeout)
        budget = min(budget, 86400.0)  # a day: beyond that the platform's waits overflow
        try:
            # Plug-in processors first, then (last on the provider) the SessionProcessor,
            # which flushes the delivery pipeline with what is left of the budget.
            return bool(self._provider.force_flush(int(budget * 1000)))
        except Exception as exc:
            internal_error("flushing processors", exc)
            return False

    @entry_point(lambda: None)
    def close(self) -> None:
        """Flush (within the ``exit_timeout`` budget) and release everything; idempotent.

        A closed tracer stays usable and inert: its spans are non-recording and nothing raises.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._shutdown(self._settings.exit_timeout)

    def _shutdown(self, budget: float) -> None:
        deadline = time.monotonic() + budget
        _compat.uninstrument(self._instrumented)
        _context.unregister(self)
        if not self._settings.disable_http_tracing:
            disable_client_tracing(self)
        if self._settings.propagate_thread_context:
            _context.disable_thread_propagation()
        try:
            self._delivery.shutdown(max(0.0, deadline - time.monotonic()))
            self._provider.shutdown()
        except Exception as exc:
            internal_error("closing the tracer", exc)
        self._tell_losses()

    def _tell_losses(self) -> None:
        """One WARNING with everything this tracer could not deliver, and why (if anything)."""
        try:
            parts: list[str] = []
            reasons: set[str] = set()
            for where, counts in self._delivery.dropped_by_exporter().items():
                total = sum(counts.values())
                if not total:
                    continue
                reasons.update(r for r, n in counts.items() if n)
                listed = ", ".join(f"{r} {n}" for r, n in counts.items() if n)
                noun = ("API call" if where == "api" else "span") + ("" if total == 1 else "s")
                label = {"api": "API", "queue": "before export"}.get(where, f"{where} exporter")
                parts.append(f"{label}: {total} {noun} ({listed})")
            if not parts:
                return
            logger.warning(
                "honeyhive: not delivered by this tracer%s: %s. %s",
                f" (project {self.project})" if self.project else "",
                "; ".join(parts),
                " ".join(self._why(sorted(reasons))),
            )
        except Exception as exc:  # telling must never break closing
            internal_error("telling what was lost", exc)

    def _why(self, reasons: Sequence[str]) -> list[str]:
        settings = self._settings
        why = []
        if set(reasons) & {"network_error", "refused", "rate_limited", "payload_too_large"}:
            reports = [report_for(settings.server_url)]
            reports += [r for e in self._exporters if (r := getattr(e, "report", None))]
            seen = set()
            for report in reports:
                if report.last_detail and report.url not in seen:
                    seen.add(report.url)
                    why.append(f"{report.url}: {report.last_detail}.")
        if "shutdown" in reasons:
            why.append(
                f"shutdown: still queued or unanswered when the exit budget "
                f"({settings.exit_timeout:g} s, HH_EXIT_TIMEOUT) ran out."
            )
        if "queue_full" in reasons:
            why.append("queue_full: more than the queue holds (HH_MAX_QUEUE_SIZE/_BYTES).")
        return why

    # -- the published SDK's spellings (see docs/migration.md) --------------------------------

    def force_flush(self, timeout_millis: float = 30000) -> bool:
        """:meth:`flush` within ``timeout_millis`` milliseconds."""
        return self.flush(timeout_millis=timeout_millis)

    def shutdown(self) -> None:
        """:meth:`close`."""
        self.close()

    @classmethod
    def flush_all(cls, timeout_millis: float = 30000) -> bool:
        """Flush every open tracer, all within ``timeout_millis``; True only if each did."""
        return _compat.flush(None, timeout_millis)

    @classmethod
    def reset(cls) -> None:
        """Forget process-wide state between tests: the default tracer set with
        ``set_default_tracer`` and which warnings were said. Open tracers stay open."""
        _context.set_default_tracer(None)
        _compat.forget_warnings()

    @property
    def is_initialized(self) -> bool:
        """True until the tracer is closed."""
        return not self._closed

    @property
    def project_name(self) -> Optional[str]:
        """:attr:`project`."""
        return self.project

    @property
    def source_environment(self) -> str:
        """:attr:`source`."""
        return self.source

    @property
    def is_test_mode(self) -> bool:
        """:attr:`test_mode`."""
        return self.test_mode

    @property
    def verbose(self) -> bool:
        return self._settings.verbose

    @property
    def is_evaluation(self) -> bool:
        return self._settings.is_evaluation

    @property
    def run_id(self) -> Optional[str]:
        return self._settings.run_id

    @property
    def dataset_id(self) -> Optional[str]:
        return self._settings.dataset_id

    @property
    def datapoint_id(self) -> Optional[str]:
        return self._settings.datapoint_id

    @property
    def tracer(self) -> trace_api.Tracer:
        """An OpenTelemetry ``Tracer`` of this tracer's provider."""
        return self._provider.get_tracer("honeyhive", __version__)

    @property
    def propagator(self) -> TextMapPropagator:
        """The propagator ``inject`` and the integrations use (W3C trace context and baggage
        by default)."""
        return self._propagator

    @property
    def config(self) -> _compat.DotDict:
        """The resolved settings, as a ``DotDict`` (a copy; the API key is left out)."""
        return _compat.settings_view(self._settings)

    def get_baggage(self, key: str) -> Optional[str]:
        """The current context's baggage entry ``key`` (as given, normalised, lower, upper)."""
        return _compat.get_baggage(key)

    @entry_point(lambda: None)
    def set_baggage(self, key: str, value: Any) -> None:
        """Add ``key`` = ``value`` to the current context's baggage (as create_session does
        with a session: for this request or task, never tracer-wide)."""
        if value is not None:
            value = safe_text(value, self._rules.max_length)
        _compat.set_baggage(key, value)

    def inject_context(self, carrier: MutableMapping[str, Any]) -> None:
        """:meth:`inject` into ``carrier`` (in place)."""
        self.inject(carrier)

    def extract_context(self, carrier: Mapping[str, Any]) -> Optional[Context]:
        """The context ``carrier`` holds (trace and baggage), not made current."""
        return _compat.extract_context(self._propagator, carrier)

    def __enter__(self) -> HoneyHiveTracer:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


#: ``init``'s first positional parameters, and the config object the published ``init`` takes
#: in each place instead.
_PUBLISHED_INIT_SLOTS = (
    ("api_key", "config", TracerConfig),
    ("project", "session_config", SessionConfig),
    ("session_name", "evaluation_config", EvaluationConfig),
)

#: Keywords the published SDK reads as its own, never as metadata.
_NOT_METADATA = frozenset({"tracer", "tracer_instance", "verbose"})


def _finite(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


_BOOLEAN_SETTINGS = frozenset(
    {"disable_http_tracing", "disable_batch", "verbose", "test_mode", "is_evaluation"}
)


# -- interpreter exit -------------------------------------------------------------------------

_open_tracers: weakref.WeakSet[HoneyHiveTracer] = weakref.WeakSet()
_exit_registered = False
_exit_lock = forksafe.Lock()


class _ForkMarker:
    """What ``multiprocessing.util.register_after_fork`` holds on to (it needs a weakref)."""


_fork_marker = _ForkMarker()


def _in_multiprocessing_child(marker: _ForkMarker) -> None:
    # A multiprocessing child ends with os._exit(): atexit handlers never run there, but the
    # finalizers multiprocessing registers for itself do. Spans made in the child get delivered.
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _close_all, exitpriority=100)


def _at_exit(tracer: HoneyHiveTracer) -> None:
    global _exit_registered
    with _exit_lock:
        _open_tracers.add(tracer)
        if not _exit_registered:
            atexit.register(_close_all_at_exit)
            import multiprocessing.util

            multiprocessing.util.register_after_fork(_fork_marker, _in_multiprocessing_child)
            install_sigterm_flush(_close_all, _exit_budget)
            _exit_registered = True


_exit_started: Optional[float] = None  # when the process began shutting down, if it did
_EXIT_STEPS_WITHIN = 5.0  # a shutdown's steps follow each other within this, past the budget


def _exit_deadline(budget: float) -> float:
    """The end of the exit budget: counted from the first step of a shutdown (a server's
    shutdown flush, the SIGTERM handler or the exit hook), not restarted by the steps that
    follow it. A process that went on living long after a shutdown flush (an ASGI test client's
    lifespan) gets a fresh budget."""
    global _exit_started
    now = time.monotonic()
    with _exit_lock:
        if _exit_started is None or now - _exit_started > budget + _EXIT_STEPS_WITHIN:
            _exit_started = now
        return _exit_started + budget


def flush_for_exit(tracer: HoneyHiveTracer) -> bool:
    """A server is shutting down: deliver what is queued within what is left of the budget."""
    deadline = _exit_deadline(tracer._settings.exit_timeout)
    return tracer.flush(max(0.0, deadline - time.monotonic()))


def _exit_budget() -> float:
    tracers = [t for t in list(_open_tracers) if not t.closed]
    return max((t._settings.exit_timeout for t in tracers), default=0.0)


def _close_all_at_exit() -> None:
    """Close every open tracer; all of them share one exit budget (the largest configured).

    Then, if a server's SIGTERM was held back for this (see ``_signals``), raise it."""
    try:
        _close_all()
    finally:
        raise_deferred_signal()


def _close_all() -> None:
    tracers = [t for t in list(_open_tracers) if not t.closed]
    if not tracers:
        return
    deadline = _exit_deadline(max(t._settings.exit_timeout for t in tracers))
    for tracer in tracers:
        try:
            with tracer._close_lock:
                if tracer._closed:
                    continue
                tracer._closed = True
            tracer._shutdown(max(0.0, deadline - time.monotonic()))
        except Exception as exc:  # never a traceback at exit
            logger.debug("closing a tracer at exit failed: %r", exc)

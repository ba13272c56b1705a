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
import math
import time
import uuid
import weakref
from collections.abc import Mapping, MutableMapping, Sequence
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

from honeyhive import _context, _plugins, _propagation
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
    DROP,
    RESERVED_ATTRIBUTES,
    VALUE_DROP_REASONS,
    ArgumentCheck,
    AttributeValue,
    CaptureRules,
    Mask,
    SecretKeys,
    SpanFactory,
    SpanScope,
    add_captured,
    edit_names,
    entry_point,
    event_type_for,
    flatten_each,
    plain_body,
    safe_text,
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
        self._own_pending = not settings.session_id_given
        self._own_announced = settings.session_id_given  # inject() sent its start at once
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

    def trace(self, name: str, event_type: Optional[str] = None, **attributes: Any) -> SpanScope:
        """A context manager: a span named ``name``, current inside the block.

        ``event_type`` lands on ``honeyhive.event_type`` (and on ``honeyhive_event_type`` as
        model, tool or chain). Keyword arguments become attributes, within the capture limits.
        An exception escaping the block marks the span ERROR, is recorded once and propagates.
        """
        initial: dict[str, AttributeValue] = {}
        cut = 0
        try:
            if event_type is not None and self._arguments.accepts(
                "trace", "event_type", event_type, str, "a string"
            ):
                initial["honeyhive.event_type"] = event_type
                initial["honeyhive_event_type"] = event_type_for(event_type)
            if attributes:
                cut = flatten_each(initial, attributes, self._rules)
        except Exception as exc:  # the backstop: the block still runs, in a span
            internal_error("trace", exc)
            initial, cut = {}, 0
        return SpanScope(self, name, initial or None, truncated=cut)

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
    ) -> Span:
        """Start a span without making it current (as OpenTelemetry's ``start_span``).

        ``with tracer.start_span(...) as span:`` ends it when the block ends.
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
        return self._spans.start(name, context, kind, attributes, links, start_time)

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
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        metrics: Optional[Mapping[str, Any]] = None,
        feedback: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        outputs: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
        error: Optional[str] = None,
        attributes: Optional[Mapping[str, Any]] = None,
    ) -> bool:
        """Add HoneyHive fields (``honeyhive_metadata.*``, ...) to the current span."""
        span = trace_api.get_current_span()
        if not span.is_recording():
            return False
        values = {
            "metadata": metadata,
            "metrics": metrics,
            "feedback": feedback,
            "inputs": inputs,
            "outputs": outputs,
            "config": config,
            "user_properties": user_properties,
        }
        check, rules = self._arguments, self._rules
        flat: dict[str, AttributeValue] = {}
        cut = 0
        # Never the truth value of what the user gave: a mapping's __len__ may raise.
        extra = check.mapping("enrich_span", "attributes", attributes)
        if extra is not None:
            cut += flatten_each(flat, extra, rules)
        for namespace, value in values.items():
            value = check.mapping("enrich_span", namespace, value)
            if value is not None:
                cut += flatten_each(flat, value, rules, f"honeyhive_{namespace}")
        if error is not None:
            flat["honeyhive_error"] = safe_text(error, rules.max_length)
        if not flat and not cut:
            return False
        add_captured(span, flat, cut, rules.max_attributes)
        return True

    @entry_point(lambda: None)
    def enrich_session(
        self,
        session_id: Optional[str] = None,
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        metrics: Optional[Mapping[str, Any]] = None,
        feedback: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, Any]] = None,
        outputs: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
        user_properties: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Update a session (default: the current context's, else this tracer's).

        Sent in the background (``PUT /events``); ``flush()`` waits for it.
        """
        if self._closed:
            return
        check = self._arguments
        if not check.accepts("enrich_session", "session_id", session_id, str, "a string"):
            session_id = None
        target = session_id or self._current_session_id()
        if target == self._session_id:
            self._start_own_session()
        body: dict[str, Any] = {"event_id": target}
        fields = {
            "metadata": check.mapping("enrich_session", "metadata", metadata),
            "metrics": check.mapping("enrich_session", "metrics", metrics),
            "feedback": check.mapping("enrich_session", "feedback", feedback),
            "outputs": check.mapping("enrich_session", "outputs", outputs),
            "config": check.mapping("enrich_session", "config", config),
            "user_properties": check.mapping("enrich_session", "user_properties", user_properties),
        }
        session_inputs = check.mapping("enrich_session", "inputs", inputs)
        for name, value in fields.items():
            copied = self._body(value, name) if value is not None else None
            if copied:
                body[name] = copied
        if session_inputs is not None:  # the protocol folds session inputs into metadata.inputs
            copied = self._body(session_inputs, "metadata.inputs")
            if copied:
                merged = body.get("metadata")
                body["metadata"] = {
                    **(merged if isinstance(merged, dict) else {}),
                    "inputs": copied,
                }
        self._api.update_event(body)

    @entry_point(lambda: str(uuid.uuid4()))
    def create_event(
        self,
        event_name: str,
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

        ``event_type`` is model, tool or chain; ``duration`` is in milliseconds.
        """
        event_id = str(uuid.uuid4())
        if self._closed:
            return event_id
        check, limit = self._arguments, self._rules.max_length
        if not check.accepts("create_event", "session_id", session_id, str, "a string"):
            session_id = None
        if duration is not None and (
            isinstance(duration, bool)
            or not isinstance(duration, (int, float))
            or (isinstance(duration, float) and not math.isfinite(duration))
        ):
            check.report("create_event", "duration", "must be a finite number of milliseconds")
            duration = None
        session_id = session_id or self._current_session_id()
        if session_id == self._session_id:
            self._start_own_session()
        event: dict[str, Any] = {
            "event_id": event_id,
            "project": self.project,
            "source": self.source,
            "event_name": safe_text(event_name, limit),
            "event_type": event_type_for(event_type),
            "session_id": session_id,
            "duration": duration,
        }
        captured = {
            "config": check.mapping("create_event", "config", config),
            "inputs": check.mapping("create_event", "inputs", inputs),
            "outputs": check.mapping("create_event", "outputs", outputs),
            "metadata": check.mapping("create_event", "metadata", metadata),
            "metrics": check.mapping("create_event", "metrics", metrics),
            "feedback": check.mapping("create_event", "feedback", feedback),
            "error": None if error is None else safe_text(error, limit),
            **extra,
        }
        for name, value in captured.items():
            if value is not None and name not in event:
                copied = self._body(value, name, masked=name not in _EVENT_BOOKKEEPING)
                if copied is not None and copied is not DROP:
                    event[name] = copied
        parent = trace_api.get_current_span().get_span_context()
        if parent.is_valid:
            event.setdefault("parent_id", format(parent.span_id, "016x"))
        self._api.create_event({k: v for k, v in event.items() if v is not None})
        return event_id

    def _body(self, value: Any, path: str, masked: bool = True) -> Any:
        """A captured value for an API call's body: bounded, redacted and masked."""
        return plain_body(value, self._rules, self._mask if masked else None, path)

    @property
    def dropped_values(self) -> Mapping[str, int]:
        """Captured values not sent, by reason: ``mask_error`` (the mask hook raised),
        ``invalid_argument`` (an argument of the wrong kind, e.g. ``metadata=5``)."""
        return dict(self._value_drops.snapshot())

    # -- propagation --------------------------------------------------------------------------

    def _current_session_id(self) -> str:
        from opentelemetry import baggage

        value = baggage.get_baggage("session_id")
        return value if isinstance(value, str) and value else self._session_id

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
        """A session's start as the batch event that starts it (``event_type`` ``session``);
        ``start_time`` in milliseconds since the epoch (default: now)."""
        settings = self._settings
        event: dict[str, Any] = {
            "event_type": "session",
            "event_id": session_id,
            "session_id": session_id,
            "event_name": session_name or settings.session_name,
            "source": settings.source,
            "start_time": int(time.time() * 1000) if start_time is None else start_time,
        }
        if settings.project:
            event["project"] = settings.project
        if inputs:
            event["inputs"] = self._body(inputs, "inputs")
        if settings.evaluation:
            event["metadata"] = dict(settings.evaluation)
        return event

    @entry_point(lambda: False)
    def flush(self, timeout: Optional[float] = None) -> bool:
        """Deliver everything queued so far; True only if all of it was acknowledged.

        Returns within ``timeout`` seconds (default: the ``export_timeout`` setting), whatever
        the backend does. Covers spans, events, session starts and enrichments.
        """
        if self._closed:
            return self._delivery.flush(0.0)  # nothing pending; False if close() lost anything
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
        ):
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

    def __enter__(self) -> HoneyHiveTracer:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


#: Event fields the protocol reads as identifiers and times: not captured data, not masked.
_EVENT_BOOKKEEPING = frozenset({"parent_id", "start_time", "end_time", "children_ids"})

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

"""Configuration models for :class:`honeyhive.HoneyHiveTracer`.

These are plain pydantic value objects: building one reads nothing from the environment and
validates only the shape of each value. The tracer resolves every setting with the precedence

    explicit keyword argument > config object > ``HH_*`` environment variable > default

and only the fields you *set* on a config object take part, so ``TracerConfig(project="p")``
does not hide ``HH_SOURCE``. Where :class:`SessionConfig` and :class:`TracerConfig` both carry a
field (``session_name``, ``session_id``), the session config wins.

Code written for the published ``honeyhive`` 1.x builds these with its own classes' fields
(``TracerConfig(ingestion_api_key=..., is_evaluation=..., run_id=...)``,
``SessionConfig(skip_backend_session_creation=...)``): those are accepted too and act as the
keyword arguments of the same name (see docs/migration.md); any other unknown field is an error.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

__all__ = ["EvaluationConfig", "SessionConfig", "TracerConfig"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
    #: Fields the published SDK's class of this name has and this one does not: kept as given
    #: and handed to the tracer as keywords (honoured under our names, or said to do nothing).
    _published: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        from honeyhive._compat import PUBLISHED_CONFIG_FIELDS  # at call time: no import cycle

        theirs = PUBLISHED_CONFIG_FIELDS.get(type(self).__name__, frozenset())
        kept = {k: v for k, v in data.items() if k in theirs and k not in type(self).model_fields}
        super().__init__(**{k: v for k, v in data.items() if k not in kept})
        self._published = kept


class TracerConfig(_Model):
    """Settings of one tracer: where spans go and how they get there."""

    api_key: Optional[SecretStr] = Field(
        default=None, description="HoneyHive API key (HH_API_KEY). Never logged or repr'd."
    )
    project: Optional[str] = Field(default=None, description="Project name (HH_PROJECT).")
    source: str = Field(default="dev", description="Environment label (HH_SOURCE).")
    session_name: Optional[str] = Field(
        default=None, description="Session name (HH_SESSION_NAME); defaults to the script name."
    )
    server_url: Optional[str] = Field(
        default=None,
        description="Base URL of the HoneyHive API (HH_API_URL, or the older HH_SERVER_URL).",
    )
    session_id: Optional[str] = Field(
        default=None, description="Join an existing session (a UUID) instead of starting one."
    )
    disable_http_tracing: bool = Field(
        default=True,
        description="When False, outgoing httpx/requests calls get CLIENT spans and propagation "
        "headers (HH_DISABLE_HTTP_TRACING).",
    )
    disable_batch: bool = Field(
        default=False,
        description="Export every span on its own as soon as it ends (HH_DISABLE_BATCH).",
    )
    verbose: bool = Field(default=False, description="Debug logging on logger 'honeyhive'.")
    test_mode: bool = Field(
        default=False,
        description="Run the whole pipeline but send nothing over the network (HH_TEST_MODE).",
    )

    exporters: Optional[list[str]] = Field(
        default=None,
        description="Exporter plug-ins by entry-point name (HH_EXPORTERS); default ['honeyhive'].",
    )
    processors: Optional[list[str]] = Field(
        default=None, description="Extra span-processor plug-ins by name (HH_PROCESSORS)."
    )
    propagators: Optional[list[str]] = Field(
        default=None,
        description="Propagator plug-ins by name (HH_PROPAGATORS); "
        "default ['tracecontext', 'baggage'].",
    )
    otlp_format: Literal["protobuf", "json"] = Field(
        default="protobuf",
        description="Body encoding of the 'honeyhive' exporter (HH_OTLP_FORMAT).",
    )
    max_queue_size: int = Field(
        default=65536, gt=0, description="Spans held for export before new ones are dropped."
    )
    max_export_batch_size: int = Field(default=512, gt=0, description="Spans per export request.")
    schedule_delay: float = Field(
        default=0.5, gt=0, description="Seconds between exports of a partly filled batch."
    )
    max_queue_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Encoded bytes waiting for the backend before new batches are dropped.",
    )
    spool_dir: Optional[str] = Field(
        default=None,
        description="Directory for requests the backend could not take, delivered when it "
        "recovers, also by the next process (HH_SPOOL_DIR). Off when unset.",
    )
    spool_max_bytes: int = Field(
        default=256 * 1024 * 1024, gt=0, description="Size bound of the spool directory."
    )
    export_timeout: float = Field(
        default=10.0, gt=0, description="Deadline in seconds for one export, retries included."
    )
    exit_timeout: float = Field(
        default=5.0, ge=0, description="Budget in seconds for the flush at close and at exit."
    )
    capture_max_length: int = Field(
        default=16384,
        gt=0,
        description="Longest captured input/output value, in characters; longer ones are cut.",
    )
    propagate_thread_context: bool = Field(
        default=True,
        description="Run every threading.Thread, and every task given to a ThreadPoolExecutor "
        "(submit, map, loop.run_in_executor), in the context of the code that started or "
        "submitted it: span, session and baggage carry over (HH_PROPAGATE_THREAD_CONTEXT). "
        "Process-wide while any open tracer has it on.",
    )
    verify_tls: bool = Field(default=True, description="Verify the backend's TLS certificate.")
    set_global_provider: bool = Field(
        default=False,
        description="Also install this tracer's provider as OpenTelemetry's global one.",
    )
    baggage_span_keys: Optional[list[str]] = Field(
        default=None,
        description="Baggage keys the 'baggage' processor copies onto spans "
        "(HH_BAGGAGE_SPAN_KEYS).",
    )

    # What is captured, and what never leaves the process (docs/privacy.md).
    capture_max_items: int = Field(
        default=32,
        gt=0,
        description="Elements kept of one captured list, tuple, set or mapping; the rest are "
        "cut and marked (HH_CAPTURE_MAX_ITEMS).",
    )
    capture_max_attributes: int = Field(
        default=128,
        gt=0,
        description="Captured attributes (arguments, results, enrichments) kept on one span; "
        "the rest are left out and counted in honeyhive.truncated (HH_CAPTURE_MAX_ATTRIBUTES).",
    )
    mask: Optional[Union[Callable[[str, Any], Any], str]] = Field(
        default=None,
        description="mask(key, value) -> value or None, applied to every captured value before "
        "it leaves the process; or 'module.function' (HH_MASK).",
    )
    redact_keys: Optional[list[str]] = Field(
        default=None,
        description="Edits to the secret attribute-key list: 'name' adds, '-name' removes a "
        "default (HH_REDACT_KEYS).",
    )
    redact_headers: Optional[list[str]] = Field(
        default=None,
        description="Edits to the redacted header-name parts (HH_REDACT_HEADERS).",
    )
    redact_query_params: Optional[list[str]] = Field(
        default=None,
        description="Edits to the redacted query-parameter names (HH_REDACT_QUERY_PARAMS).",
    )

    def __repr_args__(self) -> Any:  # only the fields that were set, secrets masked by SecretStr
        return [(k, v) for k, v in super().__repr_args__() if k in self.model_fields_set]


class SessionConfig(_Model):
    """The session the tracer's spans belong to."""

    session_name: Optional[str] = None
    session_id: Optional[str] = None
    inputs: Optional[dict[str, Any]] = None
    link_carrier: Optional[dict[str, Any]] = None


class EvaluationConfig(_Model):
    """Evaluation-run identifiers stamped on every span (``honeyhive_metadata.*``)."""

    is_evaluation: bool = False
    run_id: Optional[str] = None
    dataset_id: Optional[str] = None
    datapoint_id: Optional[str] = None

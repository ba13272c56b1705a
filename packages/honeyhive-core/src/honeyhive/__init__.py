"""HoneyHive tracing for Python: OpenTelemetry-native, wire-compatible with HoneyHive.

>>> from honeyhive import HoneyHiveTracer, trace
>>> tracer = HoneyHiveTracer.init(project="my-project")       # HH_API_KEY from the environment
>>> @trace(event_type="tool")
... def lookup(query: str) -> str: ...
"""

from honeyhive._context import (
    ContextThreadPoolExecutor,
    get_default_tracer,
    propagate_context,
    set_default_tracer,
)
from honeyhive._http import enrich_request_span, get_request_span
from honeyhive._spans import atrace, trace
from honeyhive._tracer import HoneyHiveTracer
from honeyhive._version import __version__
from honeyhive.config.models import EvaluationConfig, SessionConfig, TracerConfig

__all__ = [
    "ContextThreadPoolExecutor",
    "EvaluationConfig",
    "HoneyHiveTracer",
    "SessionConfig",
    "TracerConfig",
    "__version__",
    "atrace",
    "enrich_request_span",
    "get_default_tracer",
    "get_request_span",
    "propagate_context",
    "set_default_tracer",
    "trace",
]

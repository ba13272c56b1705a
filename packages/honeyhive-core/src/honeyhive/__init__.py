"""HoneyHive tracing for Python: OpenTelemetry-native, wire-compatible with HoneyHive.

>>> from honeyhive import HoneyHiveTracer, trace
>>> tracer = HoneyHiveTracer.init(project="my-project")       # HH_API_KEY from the environment
>>> @trace(event_type="tool")
... def lookup(query: str) -> str: ...

The published ``honeyhive`` 1.x SDK's tracing names are here too, with its meaning
(``enrich_span``, ``enrich_session``, ``flush``, ``trace_class``, ``DotDict``, ``get_logger``,
``MissingApiKeyError``): see docs/migration.md. So are its experiment names (``evaluate``,
``evaluator``, ``aevaluator``, ``BaseEvaluator``, ``HoneyHive``), loaded on first use: see
docs/experiments.md.
"""

from typing import TYPE_CHECKING, Any

from honeyhive._compat import (
    DotDict,
    MissingApiKeyError,
    enrich_session,
    enrich_span,
    flush,
    get_logger,
    trace_class,
)
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

if TYPE_CHECKING:
    from honeyhive.experiments import BaseEvaluator, HoneyHive, aevaluator, evaluate, evaluator

__all__ = [
    "BaseEvaluator",
    "ContextThreadPoolExecutor",
    "DotDict",
    "EvaluationConfig",
    "HoneyHive",
    "HoneyHiveTracer",
    "MissingApiKeyError",
    "SessionConfig",
    "TracerConfig",
    "__version__",
    "aevaluator",
    "atrace",
    "enrich_request_span",
    "enrich_session",
    "enrich_span",
    "evaluate",
    "evaluator",
    "flush",
    "get_default_tracer",
    "get_logger",
    "get_request_span",
    "propagate_context",
    "set_default_tracer",
    "trace",
    "trace_class",
]

#: The experiment names, imported from ``honeyhive.experiments`` when first used (importing
#: ``honeyhive`` stays as fast as tracing needs).
_EXPERIMENTS = frozenset({"BaseEvaluator", "HoneyHive", "aevaluator", "evaluate", "evaluator"})


def __getattr__(name: str) -> Any:
    if name in _EXPERIMENTS:
        from honeyhive import experiments

        value = getattr(experiments, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'honeyhive' has no attribute {name!r}")

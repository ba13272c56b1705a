"""``honeyhive.tracer``: the published ``honeyhive`` 1.x package's tracing module, for code that
imports from it (``from honeyhive.tracer import HoneyHiveTracer, trace, enrich_span``).

The same objects as ``honeyhive``'s own names, plus the published module's lifecycle and
provider functions; see docs/migration.md.
"""

from honeyhive._compat import (
    clear_registry,
    enrich_session,
    enrich_span,
    flush,
    get_global_provider,
    graceful_shutdown_all,
    set_global_provider,
    shutdown_tracer,
    trace_class,
)
from honeyhive._context import get_default_tracer, set_default_tracer
from honeyhive._spans import atrace, trace
from honeyhive._tracer import HoneyHiveTracer

__all__ = [
    "HoneyHiveTracer",
    "atrace",
    "clear_registry",
    "enrich_session",
    "enrich_span",
    "flush",
    "get_default_tracer",
    "get_global_provider",
    "graceful_shutdown_all",
    "set_default_tracer",
    "set_global_provider",
    "shutdown_tracer",
    "trace",
    "trace_class",
]

"""The compatibility wing: the published ``honeyhive`` 1.x SDK's own spellings, kept out of the
way of the core's design.

Code written for the published package runs here unchanged, with the published meaning (and
without its bugs: see ``docs/migration.md``). Everything here is a thin layer over the core:

* ``_functions``: the module-level ``enrich_span``, ``enrich_session``, ``flush`` and
  ``trace_class``, each over the tracer's own method or ``@trace``.
* ``_settings``: the published SDK's settings, honoured under our names (``ingestion_api_key``,
  ``verify_ssl``, ``otlp_protocol``, ``disable_tracing``, ...) or said once to have no effect.
* ``_instrumentors``: ``init(instrumentors=[...])``, each instrumented with the tracer's provider.
* ``_lifecycle``: ``honeyhive.tracer``'s ``shutdown_tracer``, ``graceful_shutdown_all``,
  ``clear_registry``, ``set_global_provider``, ``get_global_provider``.
* ``_baggage``: ``get_baggage``, ``set_baggage`` and ``extract_context``.
* ``_dotdict``: ``DotDict``. ``_logger``: ``get_logger``. ``_errors``: ``MissingApiKeyError``.

The rest of the package imports what it needs from here, never from the modules above.
"""

from honeyhive._compat._baggage import extract_context, get_baggage, normalized_key, set_baggage
from honeyhive._compat._dotdict import DotDict
from honeyhive._compat._errors import KeyKind, MissingApiKeyError
from honeyhive._compat._functions import (
    Enrichment,
    enrich_session,
    enrich_span,
    flush,
    flush_tracers,
    trace_class,
)
from honeyhive._compat._instrumentors import check_instrumentors, instrument, uninstrument
from honeyhive._compat._lifecycle import (
    clear_registry,
    get_global_provider,
    graceful_shutdown_all,
    set_global_provider,
    shutdown_tracer,
)
from honeyhive._compat._logger import HoneyHiveLogger, get_logger
from honeyhive._compat._settings import (
    PUBLISHED_CONFIG_FIELDS,
    PUBLISHED_ENV_VARS,
    PUBLISHED_ONLY,
    Published,
    carried_settings,
    forget_warnings,
    settings_view,
    translate,
    warn_once,
)

__all__ = [
    "DotDict",
    "Enrichment",
    "HoneyHiveLogger",
    "KeyKind",
    "MissingApiKeyError",
    "PUBLISHED_CONFIG_FIELDS",
    "PUBLISHED_ENV_VARS",
    "PUBLISHED_ONLY",
    "Published",
    "carried_settings",
    "check_instrumentors",
    "clear_registry",
    "enrich_session",
    "enrich_span",
    "extract_context",
    "flush",
    "flush_tracers",
    "forget_warnings",
    "get_baggage",
    "get_global_provider",
    "get_logger",
    "graceful_shutdown_all",
    "instrument",
    "normalized_key",
    "set_baggage",
    "set_global_provider",
    "settings_view",
    "shutdown_tracer",
    "trace_class",
    "translate",
    "uninstrument",
    "warn_once",
]

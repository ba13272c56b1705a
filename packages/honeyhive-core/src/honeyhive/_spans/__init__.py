"""The span wing: how a span is started, made current, filled with values and ended.

Everything here runs on the application thread, so it is the SDK's hot path.

* ``_span``: :class:`HoneyHiveSpan`, our OpenTelemetry span, and :class:`SpanFactory`, which
  starts it the way the SDK's tracer would (sampler, ids, limits, every span processor).
* ``_scope``: :class:`SpanScope`, the open-current-close behind ``trace()`` and ``@trace``;
  :func:`record_error`, an exception recorded once.
* ``_decorator``: ``@trace`` and ``@atrace`` (functions, coroutines, generators).
* ``_attributes``: Python values into span attributes: the protocol's flattening, secret-name
  redaction and bounds; the protocol's event types.
* ``_fastattrs``: storing attributes the SDK built itself without OpenTelemetry validating them
  again.

The rest of the package imports what it needs from here, never from the modules above.
"""

from honeyhive._spans._attributes import (
    EVENT_TYPES,
    REDACTED,
    AttributeValue,
    event_type_for,
    flatten_into,
    is_secret_name,
    namespaced,
)
from honeyhive._spans._decorator import atrace, trace
from honeyhive._spans._fastattrs import set_clean
from honeyhive._spans._scope import SpanScope, record_error
from honeyhive._spans._span import HoneyHiveSpan, SpanFactory

__all__ = [
    "AttributeValue",
    "EVENT_TYPES",
    "HoneyHiveSpan",
    "REDACTED",
    "SpanFactory",
    "SpanScope",
    "atrace",
    "event_type_for",
    "flatten_into",
    "is_secret_name",
    "namespaced",
    "record_error",
    "set_clean",
    "trace",
]

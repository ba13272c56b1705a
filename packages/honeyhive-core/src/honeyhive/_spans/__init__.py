"""The span wing: how a span is started, made current, filled with values and ended.

Everything here runs on the application thread, so it is the SDK's hot path.

* ``_span``: :class:`HoneyHiveSpan`, our OpenTelemetry span, and :class:`SpanFactory`, which
  starts it the way the SDK's tracer would (sampler, ids, limits, every span processor).
* ``_scope``: :class:`SpanScope`, the open-current-close behind ``trace()`` and ``@trace``;
  :func:`record_error`, an exception recorded once.
* ``_decorator``: ``@trace`` and ``@atrace`` (functions, coroutines, generators), and
  :class:`TraceScope`, what ``tracer.trace()`` returns (a ``with`` block or a decorator).
* ``_enrich``: ``enrich_span``'s fields as a span's attributes, in the HoneyHive namespaces.
* ``_stream``: what a traced generator streamed (joined text, or a capped list) and the time
  to its first chunk.
* ``_attributes``: Python values into span attributes: the protocol's flattening within the
  capture limits, secret-name redaction; the protocol's event types.
* ``_limits``: :class:`CaptureRules` (string length, collection length, attributes per span)
  and how a cut is marked, counted (``honeyhive.truncated``) and reported.
* ``_redaction``: the editable lists of secret names; attribute keys.
* ``_mask``: the user's ``mask`` hook, guarded: a failure drops one value, counted.
* ``_bodies``: API-call bodies (events, sessions) bounded, redacted and masked like attributes.
* ``_guards``: run-time entry points never raise: argument checks and the backstop.
* ``_fastattrs``: storing attributes the SDK built itself without OpenTelemetry validating them
  again; captured values within the span's room; values read from outside (a request's URL)
  within the capture length.

The rest of the package imports what it needs from here, never from the modules above.
"""

from honeyhive._spans._attributes import (
    EVENT_TYPES,
    AttributeValue,
    event_type_for,
    flatten_each,
    flatten_into,
    namespaced,
    safe_text,
)
from honeyhive._spans._bodies import plain_body
from honeyhive._spans._decorator import UNNAMED, TraceScope, atrace, trace
from honeyhive._spans._enrich import enrichment_attributes
from honeyhive._spans._fastattrs import add_captured, set_bounded, set_clean
from honeyhive._spans._guards import VALUE_DROP_REASONS, ArgumentCheck, entry_point
from honeyhive._spans._limits import RESERVED_ATTRIBUTES, TRUNCATED, CaptureRules
from honeyhive._spans._mask import DROP, FAILED, MASK_ERRORS, Mask, MaskHook
from honeyhive._spans._redaction import (
    DEFAULT_REDACT_KEYS,
    REDACTED,
    SecretKeys,
    edit_names,
    is_secret_name,
)
from honeyhive._spans._scope import SpanScope, record_error
from honeyhive._spans._span import HoneyHiveSpan, SpanFactory, span_options

__all__ = [
    "ArgumentCheck",
    "AttributeValue",
    "CaptureRules",
    "DEFAULT_REDACT_KEYS",
    "DROP",
    "EVENT_TYPES",
    "FAILED",
    "HoneyHiveSpan",
    "MASK_ERRORS",
    "Mask",
    "MaskHook",
    "REDACTED",
    "RESERVED_ATTRIBUTES",
    "SecretKeys",
    "SpanFactory",
    "SpanScope",
    "TRUNCATED",
    "TraceScope",
    "UNNAMED",
    "VALUE_DROP_REASONS",
    "add_captured",
    "atrace",
    "edit_names",
    "enrichment_attributes",
    "entry_point",
    "event_type_for",
    "flatten_each",
    "flatten_into",
    "is_secret_name",
    "namespaced",
    "plain_body",
    "record_error",
    "safe_text",
    "set_bounded",
    "set_clean",
    "span_options",
    "trace",
]

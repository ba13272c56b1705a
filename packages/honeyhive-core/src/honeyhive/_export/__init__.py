"""The export wing: from a finished span (or an API call) to bytes on the wire.

Spans leave the application thread here and everything after happens on background threads,
bounded in memory, every loss counted by reason.

* ``_api``: :class:`ApiChannel`, the one path of every API call (session starts, events,
  enrichments): batched into ``POST /events/batch``, several requests in flight, each after the
  session starts it depends on; per-request sessions that start when their request ends.
* ``_order``: numbered session starts and the tickets that keep other requests behind them.
* ``_processors``: :class:`SessionProcessor`, the bridge from the provider to delivery (it stamps
  the session at span start and queues the span at its end); :class:`IsolatedProcessor`, which
  keeps a plug-in processor's failures away from user code; the built-in ``baggage`` plug-in.
* ``_delivery``: :class:`Delivery`, the tracer's queue and delivery thread; an honest ``flush``.
* ``_prepare``: export-time preparation: tracer-wide attributes and secret scrubbing.
* ``_exporters``: the built-in exporter plug-ins (``honeyhive``, ``otlp``, ``console``,
  ``memory``) and the client headers.
* ``_encoding``: hand-written OTLP protobuf and OTLP/JSON encoders; request splitting.
* ``_failures``: :class:`BackendReport`, failures to deliver told once per backend (then at
  most a summary a minute), without a debug flag.
* ``_outbox``: :class:`Outbox`, encoded requests for one backend, sent in order from their own
  thread, byte-bounded.
* ``_transport``: :class:`HttpTransport`, the OTLP retry rules, ``Retry-After`` and the per-backend
  gate.
* ``_spool``: :class:`Spool`, the on-disk spool for requests the backend could not take.

The rest of the package imports what it needs from here, never from the modules above.
"""

from honeyhive._export._api import API_SENDERS, ApiChannel, OpenSession, split_batch
from honeyhive._export._delivery import Delivery
from honeyhive._export._encoding import encode_json, encode_protobuf, split_request
from honeyhive._export._exporters import (
    MAX_REQUEST_BYTES,
    MemoryExporter,
    OtlpHttpExporter,
    client_headers,
    console_exporter,
    honeyhive_exporter,
    memory_exporter,
    otlp_exporter,
    spool_for,
)
from honeyhive._export._failures import BackendReport, last_failure, report_for
from honeyhive._export._order import Sequence, Ticket
from honeyhive._export._outbox import Outbox, Parcel
from honeyhive._export._prepare import PreparedSpan, SpanPreparer, Stamp
from honeyhive._export._processors import (
    BAGGAGE_SESSION_KEYS,
    SESSION_ATTRIBUTE,
    BaggageProcessor,
    IsolatedProcessor,
    SessionProcessor,
    baggage_processor,
)
from honeyhive._export._spool import Spool, SpooledParcel
from honeyhive._export._transport import (
    BackendGate,
    HttpTransport,
    SendResult,
    gate_for,
    parse_retry_after,
)

__all__ = [
    "API_SENDERS",
    "ApiChannel",
    "BAGGAGE_SESSION_KEYS",
    "BackendGate",
    "BackendReport",
    "BaggageProcessor",
    "Delivery",
    "HttpTransport",
    "IsolatedProcessor",
    "MAX_REQUEST_BYTES",
    "MemoryExporter",
    "OpenSession",
    "OtlpHttpExporter",
    "Outbox",
    "Parcel",
    "PreparedSpan",
    "SESSION_ATTRIBUTE",
    "SendResult",
    "Sequence",
    "SessionProcessor",
    "SpanPreparer",
    "Spool",
    "SpooledParcel",
    "Stamp",
    "Ticket",
    "baggage_processor",
    "client_headers",
    "console_exporter",
    "encode_json",
    "encode_protobuf",
    "gate_for",
    "honeyhive_exporter",
    "last_failure",
    "memory_exporter",
    "otlp_exporter",
    "parse_retry_after",
    "report_for",
    "split_batch",
    "split_request",
    "spool_for",
]

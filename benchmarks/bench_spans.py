"""Span overhead on the application thread: honeyhive against the OpenTelemetry SDK.

All contenders run in one process, interleaved round by round (rotating order):

* ``floor``: OpenTelemetry's ``NoOpTracer``, ``with t.start_as_current_span("op"): pass``;
  the cost of the loop and of a context manager that does nothing.
* ``raw``: the OpenTelemetry SDK as people deploy it: ``TracerProvider`` +
  ``BatchSpanProcessor(exporter)``, the exporter doing nothing and returning SUCCESS. The
  baseline every ratio here is taken against.
* ``raw_simple``: the SDK with ``SimpleSpanProcessor`` on the same do-nothing exporter
  (reference only: export on the application thread, no queue).
* ``ours``: ``HoneyHiveTracer(test_mode=True, project="bench", exporters=[])`` and
  ``with tracer.trace("op"): pass``: the queue and the export-time preparation run on the
  background thread, no exporter, like the raw contender's do-nothing exporter (what exporting
  costs, OTLP encoding included, is ``bench_delivery``'s subject: there ours delivers 1.8x
  OpenTelemetry's exporter's spans per second).
* ``raw_decorator`` vs ``ours_decorator``: ``def f(a, b): return a + b`` called as
  ``f(1, 2)``, decorated with the SDK's ``@otel_tracer.start_as_current_span("op")`` and with
  ``@trace(tracer=tracer)`` (which also records both arguments and the result as attributes).

* ``ours_deferred`` / ``ours_decorator_deferred``: the full pipeline (test mode with the
  ``honeyhive`` exporter, which encodes OTLP protobuf and sends nothing) with export deferred
  (``max_export_batch_size=65536, schedule_delay=3600``): our delivery thread sleeps through the
  timed block, which then measures the application thread alone; the encoding lands in the
  drain, so ``+drain`` against ``raw_otlp`` is the like-for-like pipeline cost.
* ``raw_otlp``: the SDK + ``BatchSpanProcessor`` on an exporter that encodes every batch as the
  OTLP/HTTP exporter does and discards the bytes (the incumbent's export work, no network).
* ``ours_list_1k`` vs ``ours_list_1m``: ``@trace`` on ``def f(values): return values`` called
  with a list of 1,000 and of 1,000,000 integers: the capture limits make both cost the same.

After each timed block the contender's export queue is drained outside the timer (so no
contender's backlog slows the next one) and that drain time is kept: the ``+drain`` rows
count it, i.e. they include all the work the background thread does per span. The plain rows
count only the part of it that happened during the block (with 2000 ops a round, our delivery
thread wakes at 512, 1024 and 1536 queued spans, so about three quarters of it): that part
depends on the block size, the ``+drain`` figure does not and is the steady-state cost.

Run alone: ``.venv/bin/python benchmarks/bench_spans.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from typing import Any, Callable

from _harness import Contender, Report, Row, Timings, interleave, ratio_row
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import NoOpTracer

NAME = "spans"
TARGET_OURS = 0.8  # ours trace() / raw SDK + BatchSpanProcessor
TARGET_DECORATOR = 1.2  # ours @trace / raw SDK decorator
TARGET_BIG_LIST = 2.0  # ours @trace on a 1M-element list / the same on a 1,000-element list
RAW_QUEUE = 100_000
# Settings that keep our delivery thread asleep during a timed block (batches of up to 65536
# spans, the timer an hour): its whole export work then happens in the drain after the block.
DEFERRED: dict[str, Any] = {"max_export_batch_size": 65_536, "schedule_delay": 3600.0}


class CountingExporter(SpanExporter):
    """Does nothing with the spans but count them; always SUCCESS."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class OtlpEncodingExporter(CountingExporter):
    """Encodes every batch as OpenTelemetry's OTLP/HTTP exporter does before sending, then
    discards the bytes: the incumbent's export-thread work without the network."""

    def __init__(self) -> None:
        super().__init__()
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        self._encode = encode_spans

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._encode(spans).SerializeToString()
        return super().export(spans)


def _otlp_encoder_available() -> bool:
    try:
        import opentelemetry.exporter.otlp.proto.common.trace_encoder  # noqa: F401
    except ImportError:
        return False
    return True


def _span_loop(start: Callable[[str], Any]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            with start("op"):
                pass

    return run


def _call_loop(func: Callable[[int, int], int]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            func(1, 2)

    return run


def _list_loop(func: Callable[[list[int]], Any], values: list[int]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            func(values)

    return run


def measure(rounds: int, iterations: int, warmup_rounds: int = 2) -> Report:
    from honeyhive import HoneyHiveTracer, trace

    floor_tracer = NoOpTracer()

    raw_exporter = CountingExporter()
    raw_processor = BatchSpanProcessor(raw_exporter, max_queue_size=RAW_QUEUE)
    raw_provider = TracerProvider(shutdown_on_exit=False)
    raw_provider.add_span_processor(raw_processor)
    raw_tracer = raw_provider.get_tracer("bench")

    simple_exporter = CountingExporter()
    simple_provider = TracerProvider(shutdown_on_exit=False)
    simple_provider.add_span_processor(SimpleSpanProcessor(simple_exporter))
    simple_tracer = simple_provider.get_tracer("bench")

    otlp_exporter: CountingExporter | None = None
    otlp_provider: TracerProvider | None = None
    if _otlp_encoder_available():
        otlp_exporter = OtlpEncodingExporter()
        otlp_processor = BatchSpanProcessor(otlp_exporter, max_queue_size=RAW_QUEUE)
        otlp_provider = TracerProvider(shutdown_on_exit=False)
        otlp_provider.add_span_processor(otlp_processor)
        otlp_tracer = otlp_provider.get_tracer("bench")

    # No exporter, like the raw contender's do-nothing exporter (the export path's own cost is
    # bench_delivery's subject); the "export deferred" variant below keeps the full pipeline.
    tracer = HoneyHiveTracer(test_mode=True, project="bench", exporters=[])
    # The full pipeline (the honeyhive exporter encodes OTLP protobuf; test mode sends nothing),
    # export deferred: the delivery thread stays idle during a timed block and does all its work
    # in the drain, so the block measures the application thread alone.
    deferred = HoneyHiveTracer(test_mode=True, project="bench", **DEFERRED)

    @raw_tracer.start_as_current_span("op")
    def raw_f(a: int, b: int) -> int:
        return a + b

    @trace(tracer=tracer)
    def ours_f(a: int, b: int) -> int:
        return a + b

    @trace(tracer=deferred)
    def deferred_f(a: int, b: int) -> int:
        return a + b

    # The capture limits: a list argument and result of a million elements should cost what
    # one of a thousand does (both are read only up to capture_max_items).
    small_list = list(range(1_000))
    big_list = list(range(1_000_000))

    @trace(tracer=tracer)
    def passthrough(values: list[int]) -> list[int]:
        return values

    flushed: list[bool] = []

    def raw_settle() -> None:
        flushed.append(raw_processor.force_flush())

    def ours_settle() -> None:
        flushed.append(tracer.flush(60.0))

    def deferred_settle() -> None:
        flushed.append(deferred.flush(60.0))

    contenders = [
        Contender("floor", _span_loop(floor_tracer.start_as_current_span)),
        Contender("raw", _span_loop(raw_tracer.start_as_current_span), raw_settle),
        Contender("raw_simple", _span_loop(simple_tracer.start_as_current_span)),
        Contender("ours", _span_loop(tracer.trace), ours_settle),
        Contender("raw_decorator", _call_loop(raw_f), raw_settle),
        Contender("ours_decorator", _call_loop(ours_f), ours_settle),
        Contender("ours_deferred", _span_loop(deferred.trace), deferred_settle),
        Contender("ours_decorator_deferred", _call_loop(deferred_f), deferred_settle),
        Contender("ours_list_1k", _list_loop(passthrough, small_list), ours_settle),
        Contender("ours_list_1m", _list_loop(passthrough, big_list), ours_settle),
    ]
    if otlp_provider is not None:

        def otlp_settle() -> None:
            flushed.append(otlp_processor.force_flush())

        contenders.append(
            Contender("raw_otlp", _span_loop(otlp_tracer.start_as_current_span), otlp_settle)
        )
    try:
        timings = interleave(
            contenders, rounds=rounds, iterations=iterations, warmup_rounds=warmup_rounds
        )
        if ours_f(1, 2) != 3 or raw_f(1, 2) != 3 or passthrough(big_list) is not big_list:
            raise RuntimeError("a decorated function returned the wrong result")
        spans_per_contender = (warmup_rounds + rounds) * iterations
        raw_provider.force_flush()
        ours_flushed = tracer.flush(60.0) and deferred.flush(60.0)
        dropped = {
            reason: tracer.dropped.get(reason, 0) + deferred.dropped.get(reason, 0)
            for reason in {*tracer.dropped, *deferred.dropped}
        }
    finally:
        tracer.close()
        deferred.close()
        raw_provider.shutdown()
        simple_provider.shutdown()
        if otlp_provider is not None:
            otlp_provider.shutdown()

    raw_expected = 2 * spans_per_contender + 1  # raw + raw_decorator, plus the check call
    checks: dict[str, Any] = {
        "raw_exported": raw_exporter.exported,
        "raw_expected": raw_expected,
        "raw_simple_exported": simple_exporter.exported,
        "raw_simple_expected": spans_per_contender,
        "raw_otlp_exported": None if otlp_exporter is None else otlp_exporter.exported,
        "ours_dropped": dropped,
        "ours_final_flush_ok": ours_flushed,
        "all_drains_ok": all(flushed),
    }
    ok = (
        raw_exporter.exported == raw_expected
        and simple_exporter.exported == spans_per_contender
        and (otlp_exporter is None or otlp_exporter.exported == spans_per_contender)
        and not any(dropped.values())
        and ours_flushed
        and all(flushed)
    )
    checks["ok"] = ok
    return _report(timings, checks, warmup_rounds)


def _report(timings: Timings, checks: dict[str, Any], warmup_rounds: int) -> Report:
    def drain_us(name: str) -> float:
        return statistics.median(timings.settle_per_op[name]) * 1e6

    raw = Row("spans", "raw (SDK+Batch, no-op exporter)", timings.median_us("raw"))
    raw.status = "baseline"
    raw.extra["contender_id"] = "raw"
    ours = ratio_row("spans", timings, "ours", "raw", label="ours trace()", target=TARGET_OURS)
    rows = [
        raw,
        ratio_row("spans", timings, "floor", "raw", label="floor (NoOpTracer)"),
        ratio_row(
            "spans",
            timings,
            "raw_simple",
            "raw",
            label="raw_simple (SDK+Simple)",
            note="reference; the issue quotes ~0.67",
        ),
        ours,
        ratio_row(
            "spans",
            timings,
            "ours_deferred",
            "raw",
            label="ours trace(), export deferred",
            note="application thread alone: delivery thread idle during the block",
        ),
    ]
    has_otlp = "raw_otlp" in timings.per_op
    if has_otlp:
        rows.append(
            ratio_row(
                "spans",
                timings,
                "raw_otlp",
                "raw",
                label="raw_otlp (SDK+Batch+OTLP encode)",
                note="the SDK exporter's encoding, on its worker thread, nothing sent",
            )
        )
    rows.append(
        ratio_row(
            "spans+drain",
            timings,
            "ours",
            "raw",
            label="ours vs raw, drain included",
            with_settle=True,
            note="counts the export thread's work: both batch, neither exporter encodes",
        )
    )
    if has_otlp:
        rows.append(
            ratio_row(
                "spans+drain",
                timings,
                "ours_deferred",
                "raw_otlp",
                label="ours full pipeline vs raw_otlp, drain incl.",
                with_settle=True,
                note="both encode OTLP protobuf; the like-for-like pipeline cost",
            )
        )
    decorator = Row("decorator", "raw @start_as_current_span", timings.median_us("raw_decorator"))
    decorator.status = "baseline"
    decorator.extra["contender_id"] = "raw_decorator"
    rows += [
        decorator,
        ratio_row(
            "decorator",
            timings,
            "ours_decorator",
            "raw_decorator",
            label="ours @trace (records a, b, result)",
            target=TARGET_DECORATOR,
        ),
        ratio_row(
            "decorator",
            timings,
            "ours_decorator_deferred",
            "raw_decorator",
            label="ours @trace, export deferred",
            note="application thread alone: delivery thread idle during the block",
        ),
        ratio_row(
            "decorator+drain",
            timings,
            "ours_decorator",
            "raw_decorator",
            label="ours @trace vs raw, drain included",
            with_settle=True,
            note="counts the export thread's work: both batch, neither exporter encodes",
        ),
    ]
    big_list_baseline = Row(
        "big list", "ours @trace, 1,000-element list", timings.median_us("ours_list_1k")
    )
    big_list_baseline.status = "baseline"
    big_list_baseline.extra["contender_id"] = "ours_list_1k"
    rows += [
        big_list_baseline,
        ratio_row(
            "big list",
            timings,
            "ours_list_1m",
            "ours_list_1k",
            label="ours @trace, 1,000,000-element list",
            target=TARGET_BIG_LIST,
            note="argument and result read only up to capture_max_items (32)",
        ),
    ]
    for row in rows:
        if not row.extra.get("with_settle"):
            row.extra["drain_us_per_op"] = drain_us(row.extra["contender_id"])
    notes = [
        f"{timings.rounds} interleaved rounds x {timings.iterations} ops "
        f"(+{warmup_rounds} warm-up rounds), python {sys.version.split()[0]}",
        "export-queue drain per op, after each timed block (outside the timer): "
        + ", ".join(
            f"{name} {drain_us(name):.2f}us"
            for name in (
                "raw",
                "raw_otlp",
                "ours",
                "ours_deferred",
                "raw_decorator",
                "ours_decorator",
                "ours_decorator_deferred",
            )
            if name in timings.settle_per_op
        ),
    ]
    if checks["ok"]:
        notes.append(
            f"no span dropped: raw exported {checks['raw_exported']}/{checks['raw_expected']}, "
            f"ours dropped {sum(checks['ours_dropped'].values())}, every drain acknowledged"
        )
    else:
        notes.append(f"WARNING: spans were dropped or a flush failed: {checks}")
    return Report(
        NAME,
        rows,
        notes,
        checks,
        {"rounds": timings.rounds, "iterations": timings.iterations, "warmup": warmup_rounds},
        samples={f"{name}_us": [x * 1e6 for x in v] for name, v in timings.per_op.items()},
    )


def run(quick: bool = False) -> Report:
    if quick:
        return measure(rounds=8, iterations=1000, warmup_rounds=1)
    return measure(rounds=25, iterations=2000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.quick)
    for row in report.rows:
        ratio = "" if row.ratio is None else f"  ratio {row.ratio:.3f}"
        print(f"{row.benchmark:10s} {row.contender:40s} {row.median:8.2f} us{ratio} {row.status}")
    for note in report.notes:
        print(" ", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where does ``tracer.trace()`` spend its time? Variants timed against the raw SDK, interleaved.

Not part of ``run.py`` (it reaches into private attributes of ``HoneyHiveTracer``, so it may
break as the SDK changes); run it by hand when ``bench_spans`` reports a MISS::

    .venv/bin/python benchmarks/diag_spans.py [--rounds 20] [--iterations 2000]

Each variant removes or isolates one part of the pipeline; the ratio of a variant to ``raw``
next to the ratio of ``ours`` to ``raw`` shows what that part costs on the application thread.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any, Callable

from _harness import Contender, interleave
from bench_spans import RAW_QUEUE, CountingExporter, _call_loop, _span_loop
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def _manual_loop(tracer: Any) -> Callable[[int], None]:
    """The raw SDK without contextlib: start_span, set current, attach, detach, end."""

    def run(n: int) -> None:
        get_current = context_api.get_current
        set_span = trace_api.set_span_in_context
        attach = context_api.attach
        detach = context_api.detach
        start = tracer.start_span
        for _ in range(n):
            parent = get_current()
            span = start("op", parent)
            token = attach(set_span(span, parent))
            detach(token)
            span.end()

    return run


def main(argv: list[str] | None = None) -> int:
    from honeyhive import HoneyHiveTracer, trace
    from honeyhive._export import SessionProcessor

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args(argv)

    def raw_provider(limits: SpanLimits | None = None) -> tuple[Any, Callable[[], Any]]:
        provider = TracerProvider(shutdown_on_exit=False, span_limits=limits)
        processor = BatchSpanProcessor(CountingExporter(), max_queue_size=RAW_QUEUE)
        provider.add_span_processor(processor)
        return provider.get_tracer("bench"), processor.force_flush

    raw, raw_flush = raw_provider()
    ours = HoneyHiveTracer(test_mode=True, project="bench")
    # Background thread idle while timing: batches only at flush (the drain, outside the timer).
    quiet = HoneyHiveTracer(
        test_mode=True, project="bench", max_export_batch_size=65536, schedule_delay=3600.0
    )
    # Same, and the SessionProcessor's on_start (baggage lookup) switched off.
    quiet_nostart = HoneyHiveTracer(
        test_mode=True, project="bench", max_export_batch_size=65536, schedule_delay=3600.0
    )
    for processor in quiet_nostart.provider._active_span_processor._span_processors:
        if isinstance(processor, SessionProcessor):
            processor.on_start = lambda span, parent_context=None: None  # type: ignore[method-assign]

    def flush(tracer: Any) -> Callable[[], Any]:
        return lambda: tracer.flush(60.0)

    @raw.start_as_current_span("op")
    def raw_f(a: int, b: int) -> int:
        return a + b

    def raw_capture_f(a: int, b: int) -> int:
        # What a user of the raw SDK writes to record the same attributes as @trace.
        with raw.start_as_current_span(
            "op", attributes={"honeyhive_inputs.a": a, "honeyhive_inputs.b": b}
        ) as span:
            result = a + b
            span.set_attributes({"honeyhive_outputs.result": result})
            return result

    @trace(tracer=ours)
    def ours_f(a: int, b: int) -> int:
        return a + b

    @trace(tracer=quiet)
    def quiet_f(a: int, b: int) -> int:
        return a + b

    @trace(tracer=quiet)
    def quiet_noargs() -> None:
        return None

    def noargs_loop(func: Callable[[], None]) -> Callable[[int], None]:
        def run(n: int) -> None:
            for _ in range(n):
                func()

        return run

    contenders = [
        Contender("raw", _span_loop(raw.start_as_current_span), raw_flush),
        Contender("raw_manual", _manual_loop(raw), raw_flush),
        Contender("ours", _span_loop(ours.trace), flush(ours)),
        Contender("ours_quiet", _span_loop(quiet.trace), flush(quiet)),
        Contender("ours_quiet_nostart", _span_loop(quiet_nostart.trace), flush(quiet_nostart)),
        Contender(
            "ours_provider_sdk_cm",
            _span_loop(quiet.provider.get_tracer("bench").start_as_current_span),
            flush(quiet),
        ),
        Contender(
            "ours_provider_manual", _manual_loop(quiet.provider.get_tracer("bench")), flush(quiet)
        ),
        Contender("raw_decorator", _call_loop(raw_f), raw_flush),
        Contender("raw_capture", _call_loop(raw_capture_f), raw_flush),
        Contender("ours_decorator", _call_loop(ours_f), flush(ours)),
        Contender("ours_decorator_quiet", _call_loop(quiet_f), flush(quiet)),
        Contender("ours_decorator_noargs", noargs_loop(quiet_noargs), flush(quiet)),
    ]
    described = {
        "raw": "SDK + BatchSpanProcessor, start_as_current_span (baseline)",
        "raw_manual": "same provider, no contextlib: start_span/attach/detach/end",
        "ours": "tracer.trace() as shipped (test mode, worker encodes during the loop)",
        "ours_quiet": "tracer.trace(), worker idle while timing (batch 65536, delay 1h)",
        "ours_quiet_nostart": "as ours_quiet, SessionProcessor.on_start (baggage) off",
        "ours_provider_sdk_cm": "our provider via the SDK's start_as_current_span",
        "ours_provider_manual": "our provider, no contextlib, no SpanScope",
        "raw_decorator": "SDK decorator on f(a, b) (decorator baseline)",
        "raw_capture": "SDK, hand-written: same 3 attributes as @trace records",
        "ours_decorator": "@trace(tracer=...) on f(a, b) as shipped",
        "ours_decorator_quiet": "@trace on f(a, b), worker idle while timing",
        "ours_decorator_noargs": "@trace on g() -> None, worker idle (nothing captured)",
    }
    baselines = {name: "raw_decorator" for name in described if "decorator" in name}
    baselines["raw_capture"] = "raw_decorator"
    try:
        timings = interleave(contenders, rounds=args.rounds, iterations=args.iterations)
    finally:
        for tracer in (ours, quiet, quiet_nostart):
            tracer.close()
    print(
        f"{args.rounds} rounds x {args.iterations} ops: median us/op, median per-round ratio "
        "vs its baseline, drain us/op (outside the timer)"
    )
    for contender in contenders:
        name = contender.name
        baseline = baselines.get(name, "raw")
        ratio = statistics.median(timings.ratios(name, baseline))
        drain = statistics.median(timings.settle_per_op[name]) * 1e6
        print(
            f"  {name:22s} {timings.median_us(name):7.2f}  x{ratio:5.3f}"
            f"  drain {drain:5.2f}  vs {baseline:13s} {described[name]}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

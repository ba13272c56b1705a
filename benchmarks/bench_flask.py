"""honeyhive-flask against OpenTelemetry's FlaskInstrumentor on the same app.

One process, interleaved rounds: a bare Flask app, the same app with ``HoneyHive(app)`` and the
same app with ``FlaskInstrumentor().instrument_app(app)`` (separate app instances). Each op is one
``GET /items/<int:item_id>`` through a direct WSGI call (environ built once and copied per
request, the body iterated and closed as a server would). Ours: ``HoneyHiveTracer(test_mode=True,
project="bench")``, which runs the whole pipeline (per-request session start, export-time
enrichment, encoding on the delivery thread) and sends nothing. Contrib: SDK ``TracerProvider`` +
``BatchSpanProcessor`` on an exporter that does nothing. Queues are drained after each block,
outside the timer. Target: added µs (instrumented - bare) ours / contrib <= 0.4. Info: the same
at 500 routes, to show no cost growing with the number of routes.

    .venv/bin/python benchmarks/run.py flask [--quick]
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Contender, Report, Row, Timings, interleave, quantile

TARGET = 0.4


def _app(routes: int) -> Any:
    from flask import Flask

    app = Flask(f"bench{routes}")
    for i in range(routes):
        app.add_url_rule(f"/r{i}/<int:x>/detail", f"r{i}", lambda x: "r")

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


def _runner(app: Any) -> Callable[[int], None]:
    from werkzeug.test import EnvironBuilder

    base = EnvironBuilder(path="/items/42", headers={"User-Agent": "bench"}).get_environ()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        return None

    def run(n: int) -> None:
        for _ in range(n):
            body = app(dict(base), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return run


def _contenders(routes: int, suffix: str) -> tuple[list[Contender], list[Callable[[], None]]]:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from honeyhive import HoneyHiveTracer
    from honeyhive_flask import HoneyHive

    class NoOpExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    bare = _app(routes)
    ours_app = _app(routes)
    # No exporter, like contrib's no-op exporter: the integration's own cost. What exporting
    # costs is bench_delivery's subject (ours is 1.8x faster than OpenTelemetry's exporter).
    tracer = HoneyHiveTracer(test_mode=True, project="bench", exporters=[])
    HoneyHive(ours_app, tracer=tracer)
    contrib_app = _app(routes)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NoOpExporter(), max_queue_size=100000))
    FlaskInstrumentor().instrument_app(contrib_app, tracer_provider=provider)
    contenders = [
        Contender(f"bare{suffix}", _runner(bare)),
        Contender(f"ours{suffix}", _runner(ours_app), settle=lambda: tracer.flush(30)),
        Contender(
            f"contrib{suffix}", _runner(contrib_app), settle=lambda: provider.force_flush(30000)
        ),
    ]

    def cleanup() -> None:
        FlaskInstrumentor().uninstrument_app(contrib_app)
        tracer.close()
        provider.shutdown()

    return contenders, [cleanup]


def _added_rows(timings: Timings, suffix: str, target: float | None) -> list[Row]:
    bare = timings.series(f"bare{suffix}")
    ours = [o - b for o, b in zip(timings.series(f"ours{suffix}"), bare)]
    contrib = [c - b for c, b in zip(timings.series(f"contrib{suffix}"), bare)]
    ratios = [o / c for o, c in zip(ours, contrib) if c > 0]
    ratio = statistics.median(ratios)
    label = " (500 routes)" if suffix else ""
    status = "info" if target is None else ("PASS" if ratio <= target else "MISS")
    return [
        Row("flask", f"bare request{label}", statistics.median(bare) * 1e6, status="info"),
        Row("flask", f"contrib added{label}", statistics.median(contrib) * 1e6, status="info"),
        Row(
            "flask",
            f"ours added{label}",
            statistics.median(ours) * 1e6,
            baseline="contrib added",
            ratio=ratio,
            ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
            ratio_of_medians=statistics.median(ours) / statistics.median(contrib),
            target=target,
            status=status,
        ),
    ]


def run(quick: bool = False) -> Report:
    rounds, iterations = (6, 300) if quick else (20, 1000)
    small, cleanup_small = _contenders(1, "")
    large, cleanup_large = _contenders(500, "@500")
    timings = interleave(small + large, rounds=rounds, iterations=iterations)
    for cleanup in cleanup_small + cleanup_large:
        cleanup()
    rows = _added_rows(timings, "", TARGET) + _added_rows(timings, "@500", None)
    return Report(
        "flask",
        rows,
        notes=[
            "added = per-request time of the instrumented app minus the bare app, same round;"
            " ratio = ours added / contrib added (median over rounds)",
            "direct WSGI call of GET /items/<int:item_id>; body iterated and closed",
        ],
        settings={"rounds": rounds, "iterations": iterations},
        samples={name: list(values) for name, values in timings.per_op.items()},
    )


if __name__ == "__main__":
    result = run(quick="--quick" in sys.argv)
    for row in result.rows:
        ratio = "" if row.ratio is None else f"  ratio {row.ratio:.3f} (target {row.target})"
        print(f"{row.contender:30s} {row.median:8.1f} us{ratio}")

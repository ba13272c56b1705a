"""FastAPI request overhead: honeyhive-fastapi against OpenTelemetry's FastAPIInstrumentor.

One process, interleaved rounds: the bare app, the app with ``HoneyHiveMiddleware``
(``HoneyHiveTracer(test_mode=True, exporters=[])``: no exporter, like contrib's no-op one), and the
app instrumented by contrib's ``FastAPIInstrumentor`` (TracerProvider + BatchSpanProcessor on a
do-nothing exporter); separate app instances of the same shape, ``GET /items/{item_id}``, each
request a direct ASGI call (no client, no sockets). Reported: added microseconds per request
(instrumented - bare, medians) and ours/contrib's added cost against the target 0.4; and the
same with 500 routes registered before the one requested (info: no growth with routes).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from typing import Any, Callable

from _harness import Contender, Report, Row, interleave, quantile
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from honeyhive import HoneyHiveTracer
from honeyhive_fastapi import HoneyHiveMiddleware

TARGET = 0.4


class _Nothing(SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _app(extra_routes: int) -> FastAPI:
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
    for i in range(extra_routes):
        app.add_api_route(f"/r{i}/{{x}}", lambda x: x, methods=["GET"])

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


def _runner(app: Any, loop: asyncio.AbstractEventLoop) -> Callable[[int], None]:
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/items/42",
        "raw_path": b"/items/42",
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def many(n: int) -> None:
        for _ in range(n):
            await app(dict(scope_base), receive, send)

    def run(n: int) -> None:
        loop.run_until_complete(many(n))

    return run


def run(quick: bool = False) -> Report:
    rounds, iterations = (6, 300) if quick else (20, 1000)
    loop = asyncio.new_event_loop()
    # No exporter, like contrib's no-op exporter: the integration's own cost. What exporting
    # costs is bench_delivery's subject (ours is 1.8x faster than OpenTelemetry's exporter).
    ours_tracer = HoneyHiveTracer(test_mode=True, project="bench", exporters=[])
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Nothing(), max_queue_size=100000))
    contenders: list[Contender] = []
    for label, extra in (("", 0), ("500 routes ", 500)):
        bare = _app(extra)
        ours = _app(extra)
        ours.add_middleware(HoneyHiveMiddleware, tracer=ours_tracer)
        contrib = _app(extra)
        FastAPIInstrumentor.instrument_app(contrib, tracer_provider=provider)
        contenders += [
            Contender(f"{label}bare", _runner(bare, loop)),
            Contender(f"{label}ours", _runner(ours, loop), settle=lambda: ours_tracer.flush(30)),
            Contender(
                f"{label}contrib",
                _runner(contrib, loop),
                settle=lambda: provider.force_flush(30000),
            ),
        ]
    timings = interleave(contenders, rounds=rounds, iterations=iterations)
    rows: list[Row] = []
    notes: list[str] = []
    for label in ("", "500 routes "):
        bare = timings.series(f"{label}bare")
        added_ours = [o - b for o, b in zip(timings.series(f"{label}ours"), bare)]
        added_contrib = [c - b for c, b in zip(timings.series(f"{label}contrib"), bare)]
        ratios = [o / c for o, c in zip(added_ours, added_contrib) if c > 0]
        ratio = statistics.median(ratios)
        ours_us = statistics.median(added_ours) * 1e6
        contrib_us = statistics.median(added_contrib) * 1e6
        bench = "fastapi" + (" (500 routes)" if label else "")
        rows.append(Row(bench, "bare request", timings.median_us(f"{label}bare"), status="info"))
        rows.append(Row(bench, "contrib added", contrib_us, status="info"))
        rows.append(
            Row(
                bench,
                "ours added",
                ours_us,
                baseline="contrib added",
                ratio=ratio,
                ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
                ratio_of_medians=ours_us / contrib_us if contrib_us else None,
                target=None if label else TARGET,
                status="info" if label else ("PASS" if ratio <= TARGET else "MISS"),
            )
        )
        notes.append(
            f"{bench}: bare {timings.median_us(f'{label}bare'):.1f} us, ours +"
            f"{ours_us:.1f} us, contrib +{contrib_us:.1f} us, ratio {ratio:.3f}"
        )
    ours_tracer.close()
    provider.shutdown()
    loop.close()
    return Report(
        "fastapi",
        rows,
        notes=notes,
        settings={"rounds": rounds, "iterations": iterations},
        samples=dict(timings.per_op.items()),
    )


if __name__ == "__main__":
    report = run()
    for note in report.notes:
        print(note)

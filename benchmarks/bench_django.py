"""Django: added µs per request, honeyhive-django against OpenTelemetry's DjangoInstrumentor.

One process, interleaved rounds, the same app (``GET /items/<int:item_id>``, a JsonResponse):

* ``bare``: the app with no middleware;
* ``ours``: ``honeyhive_django.middleware.HoneyHiveMiddleware`` with
  ``HoneyHiveTracer(test_mode=True, project="bench", exporters=[])`` (no exporter, like
  contrib's no-op one; exporting's own cost is ``bench_delivery``'s subject);
* ``contrib``: ``DjangoInstrumentor`` (0.66b1) with a ``TracerProvider`` + ``BatchSpanProcessor``
  on an exporter that does nothing.

Each contender is its own handler instance (Django loads middleware per handler), called
directly: WSGI with a prepared environ, ASGI with a scope in one event loop per timed block.
Reported: added µs = instrumented - bare (per round), and ours/contrib of the added µs against the
target 0.4. Also (info) the same at 500 routes, the request matching the last route.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Sequence
from typing import Any

from _harness import Contender, Report, Row, Timings, interleave, quantile
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

TARGET = 0.4
ROUTES = 500


class _NoopExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _urlconf() -> Any:
    import types

    from django.http import JsonResponse
    from django.urls import path

    def item(request: Any, item_id: int) -> Any:
        return JsonResponse({"id": item_id})

    module = types.ModuleType("bench_django_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("items/<int:item_id>", item),
        *[path(f"r{i}/<int:item_id>/detail", item) for i in range(ROUTES)],
        path("last/items/<int:item_id>", item),
    ]
    sys.modules["bench_django_urls"] = module
    return module


def _setup() -> tuple[Any, TracerProvider]:
    import django
    from django.conf import settings

    from honeyhive import HoneyHiveTracer

    # No exporter, like contrib's no-op exporter: the integration's own cost. What exporting
    # costs is bench_delivery's subject (ours is 1.8x faster than OpenTelemetry's exporter).
    tracer = HoneyHiveTracer(test_mode=True, project="bench", exporters=[])
    _urlconf()
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="bench_django_urls",
        INSTALLED_APPS=["honeyhive_django"],
        MIDDLEWARE=[],
        HONEYHIVE={"tracer": tracer},
        LOGGING_CONFIG=None,
    )
    django.setup()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_NoopExporter(), max_queue_size=100000))
    return tracer, provider


def _handlers(kind: str, provider: TracerProvider) -> dict[str, Any]:
    """bare, ours, contrib handler instances (middleware is loaded when each is built)."""
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler

    make = WSGIHandler if kind == "wsgi" else ASGIHandler
    handlers: dict[str, Any] = {}
    settings.MIDDLEWARE = []
    handlers["bare"] = make()
    settings.MIDDLEWARE = ["honeyhive_django.middleware.HoneyHiveMiddleware"]
    handlers["ours"] = make()
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    settings.MIDDLEWARE = []
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    handlers["contrib"] = make()
    instrumentor.uninstrument()
    settings.MIDDLEWARE = []
    return handlers


def _wsgi_runner(handler: Any, path: str) -> Any:
    import io

    template = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"unexpected status {status}")

    def run(n: int) -> None:
        for _ in range(n):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(b"")
            result = handler(environ, start_response)
            for _chunk in result:
                pass
            result.close()

    return run


def _asgi_runner(handler: Any, path: str) -> Any:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    body = {"type": "http.request", "body": b"", "more_body": False}
    never = asyncio.Event  # a disconnect never comes: the listener waits until cancelled

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"unexpected status {message['status']}")

    async def many(n: int) -> None:
        for _ in range(n):
            sent = [body]

            async def receive(sent: list[Any] = sent) -> Any:
                if sent:
                    return sent.pop()
                await never().wait()
                return None

            await handler(dict(scope), receive, send)

    def run(n: int) -> None:
        asyncio.run(many(n))

    return run


def _added_row(name: str, timings: Timings, ours: str, bare: str, contrib: str) -> list[Row]:
    rows: list[Row] = []
    bare_s = timings.series(bare)
    added_ours = [a - b for a, b in zip(timings.series(ours), bare_s)]
    added_contrib = [a - b for a, b in zip(timings.series(contrib), bare_s)]
    ratios = [a / b for a, b in zip(added_ours, added_contrib) if b > 0]
    ratio = statistics.median(ratios)
    rows.append(Row(name, f"{bare} (request)", timings.median_us(bare), status="info"))
    rows.append(Row(name, "contrib added", statistics.median(added_contrib) * 1e6, status="info"))
    rows.append(
        Row(
            name,
            "ours added",
            statistics.median(added_ours) * 1e6,
            baseline="contrib added",
            ratio=ratio,
            ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
            target=TARGET,
            status="PASS" if ratio <= TARGET else "MISS",
        )
    )
    return rows


def run(quick: bool = False) -> Report:
    rounds, iterations = (5, 300) if quick else (15, 1000)
    tracer, provider = _setup()
    rows: list[Row] = []
    notes: list[str] = []
    for kind in ("wsgi", "asgi"):
        handlers = _handlers(kind, provider)
        runner = _wsgi_runner if kind == "wsgi" else _asgi_runner
        contenders = []
        for label, path in (("", "/items/7"), ("500:", "/last/items/7")):
            for name, handler in handlers.items():

                def settle(name: str = name) -> None:
                    if name == "ours":
                        tracer.flush(30)
                    elif name == "contrib":
                        provider.force_flush()

                contenders.append(Contender(label + name, runner(handler, path), settle))
        scale = 1 if kind == "wsgi" else 2
        timings = interleave(contenders, rounds=rounds, iterations=iterations // scale)
        rows += _added_row(f"django {kind}", timings, "ours", "bare", "contrib")
        rows += list(
            _added_row(
                f"django {kind} {ROUTES} routes", timings, "500:ours", "500:bare", "500:contrib"
            )
        )
        rows[-1].status = "info"
        rows[-1].target = None
    dropped = dict(tracer.dropped)
    notes.append(f"ours dropped: {dropped}")
    notes.append(
        "added = instrumented - bare per round; ratio = median over rounds of ours/contrib added"
    )
    tracer.close()
    return Report(
        "django", rows, notes=notes, settings={"rounds": rounds, "iterations": iterations}
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    report = run(quick=args.quick)
    for row in report.rows:
        ratio = "" if row.ratio is None else f" ratio {row.ratio:.3f} {row.ratio_iqr}"
        print(f"{row.benchmark:28} {row.contender:20} {row.median:8.1f} us{ratio} {row.status}")
    for note in report.notes:
        print(note)

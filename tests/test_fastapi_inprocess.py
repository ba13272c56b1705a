"""honeyhive-fastapi in-process: httpx ASGITransport / TestClient, spans captured in memory."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from opentelemetry import trace as otel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from honeyhive import enrich_request_span
from honeyhive.testing import SpanCapture
from honeyhive_fastapi import HoneyHiveMiddleware

SESSION = "11111111-2222-4333-8444-555555555555"


def _get(app: Any, *paths: str, **kwargs: Any) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return [await c.get(path, **kwargs) for path in paths]

    return asyncio.run(run())


def _app(**options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise KeyError("k")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418)

    app.add_middleware(HoneyHiveMiddleware, **options)
    return app


def test_an_exception_without_a_handler_is_a_500_recorded_once(
    honeyhive_capture: SpanCapture,
) -> None:
    (response,) = _get(_app(), "/boom")
    assert response.status_code == 500
    span = honeyhive_capture.find("GET /boom")
    assert span.status == "ERROR"
    assert span.attributes["http.response.status_code"] == 500
    assert span.attributes["error.type"] == "KeyError"
    assert len([e for e in span.events if e.name == "exception"]) == 1
    assert otel.get_current_span() is otel.INVALID_SPAN  # nothing left attached


def test_http_exception_handlers_and_unmatched_routes(honeyhive_capture: SpanCapture) -> None:
    responses = _get(_app(), "/teapot", "/items/x", "/no/such/page")
    assert [r.status_code for r in responses] == [418, 422, 404]
    names = [s.name for s in honeyhive_capture.spans]
    assert names == ["GET /teapot", "GET /items/{item_id}", "GET"]
    assert all(s.status == "UNSET" for s in honeyhive_capture.spans)


def test_any_asgi_app_wrapped_with_mounts(honeyhive_capture: SpanCapture) -> None:
    inner = Starlette(routes=[Route("/a/{b:int}", lambda r: PlainTextResponse("a"))])
    app = HoneyHiveMiddleware(Starlette(routes=[Mount("/outer", routes=[Mount("/in", inner)])]))
    (response,) = _get(app, "/outer/in/a/3")
    assert response.text == "a"
    assert honeyhive_capture.find("GET /outer/in/a/{b}").attributes["http.route"] == (
        "/outer/in/a/{b}"
    )


def test_sessions_headers_exclusions_and_hooks(honeyhive_capture: SpanCapture) -> None:
    def bad_hook(span: Any, request: Any) -> None:
        raise RuntimeError("hook bug")

    app = _app(
        session_id_for=lambda request: request.headers.get("x-conversation"),
        capture_request_headers=["x-conversation", "authorization"],
        capture_response_headers=["content-type"],
        excluded_urls=["/items/1"],
        request_hook=bad_hook,
    )
    headers = {"x-conversation": SESSION, "authorization": "Bearer SECRET"}
    responses = _get(app, "/items/1", "/items/10", "/items/2?token=abc", headers=headers)
    assert [r.status_code for r in responses] == [200, 200, 200]
    spans = honeyhive_capture.spans
    assert [s.attributes["url.path"] for s in spans] == ["/items/10", "/items/2"]  # anchored
    assert {s.session_id for s in spans} == {SESSION}
    attributes = spans[1].attributes
    assert attributes["url.query"] == "token=[REDACTED]"
    assert attributes["http.request.header.authorization"] == ("[REDACTED]",)
    assert attributes["http.response.header.content-type"] == ("application/json",)
    assert "SECRET" not in repr(spans)


def test_each_request_is_its_own_session(honeyhive_capture: SpanCapture) -> None:
    _get(_app(), "/items/1", "/items/2", headers={"baggage": f"session_id={SESSION}"})
    sessions = [s.session_id for s in honeyhive_capture.spans]
    assert len(set(sessions)) == 2
    assert SESSION not in sessions  # incoming baggage cannot choose the session


def test_native_telemetry_operation_spans_become_our_children(
    honeyhive_capture: SpanCapture,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI(telemetry={"tracer_provider": provider})

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, bool]:
        return {"enriched": enrich_request_span({"app.item": item_id})}

    sub = FastAPI(telemetry={"tracer_provider": provider})
    sub.add_api_route("/x", lambda: {"ok": True})
    app.mount("/sub", sub)
    app.add_middleware(HoneyHiveMiddleware)
    with TestClient(app) as client:
        assert client.get("/items/5").json() == {"enriched": True}
        assert client.get("/sub/x").status_code == 200
    ours = honeyhive_capture.find("GET /items/{item_id}")
    assert ours.attributes["app.item"] == 5
    assert honeyhive_capture.find("GET /sub/x").kind == "SERVER"
    native = exporter.get_finished_spans()
    assert [s for s in native if s.kind == otel.SpanKind.SERVER] == []
    endpoint = [s for s in native if s.name == "fastapi.endpoint"]
    assert endpoint
    assert endpoint[0].parent is not None
    assert format(endpoint[0].parent.span_id, "016x") == ours.span_id


def test_contrib_instrumentation_gives_one_server_span_in_one_trace(
    honeyhive_capture: SpanCapture,
) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    try:
        _get(app, "/items/4")
    finally:
        FastAPIInstrumentor.uninstrument_app(app)
    ours = honeyhive_capture.find("GET /items/{item_id}")
    (theirs,) = [s for s in exporter.get_finished_spans() if s.kind == otel.SpanKind.SERVER]
    assert format(theirs.context.trace_id, "032x") == ours.trace_id
    assert [s.kind for s in honeyhive_capture.spans] == ["SERVER"]


def test_lifespan_passes_through_and_flushes(honeyhive_capture: SpanCapture) -> None:
    app = FastAPI()

    @app.get("/")
    def root() -> str:
        return "ok"

    app.add_middleware(HoneyHiveMiddleware, tracer=honeyhive_capture.tracer)
    flushed: list[float] = []
    original = honeyhive_capture.tracer.flush

    def flush(timeout: float | None = None) -> bool:
        flushed.append(timeout or 0.0)
        return original(timeout)

    honeyhive_capture.tracer.flush = flush  # type: ignore[method-assign]
    with TestClient(app) as client:
        client.get("/")
        assert flushed == []
    assert flushed  # at lifespan shutdown
    assert honeyhive_capture.find("GET /").status == "UNSET"


def test_scope_headers_never_touch_receive(honeyhive_capture: SpanCapture) -> None:
    received: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        received.append("called")
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    asyncio.run(HoneyHiveMiddleware(app)(scope, receive, send))
    assert received == []
    assert honeyhive_capture.find("GET").attributes["http.response.status_code"] == 200


@pytest.mark.parametrize("more_body", [True])
def test_an_incomplete_response_is_an_error(
    honeyhive_capture: SpanCapture, more_body: bool
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": more_body})

    async def send(message: Any) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    asyncio.run(HoneyHiveMiddleware(app)(scope, None, send))
    span = honeyhive_capture.find("GET")
    assert span.status == "ERROR"
    assert span.attributes["error.type"] == "incomplete_response"


def test_an_outer_middleware_answering_the_exception_still_ends_the_span() -> None:
    """Regression: a request left open for the exception handler was never ended when a
    middleware between ServerErrorMiddleware and ours answered the exception itself."""
    import asyncio

    import httpx
    from fastapi import FastAPI
    from opentelemetry import context as otel_context
    from starlette.responses import PlainTextResponse

    from honeyhive.testing import capture
    from honeyhive_fastapi import HoneyHiveMiddleware

    class CatchAll:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            try:
                await self.app(scope, receive, send)
            except Exception:
                await PlainTextResponse("handled", 500)(scope, receive, send)

    with capture() as captured:
        app = FastAPI()

        @app.get("/boom")
        async def boom() -> None:
            raise KeyError("k")

        @app.get("/ok")
        async def ok() -> dict[str, int]:
            return {"ok": 1}

        @app.exception_handler(Exception)
        async def handler(request: Any, exc: Exception) -> PlainTextResponse:
            return PlainTextResponse("from handler", 500)

        app.add_middleware(HoneyHiveMiddleware)
        app.add_middleware(CatchAll)

        async def run() -> list[str]:
            leftovers = []
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for _ in range(2):  # the first request, and one after the stack was wrapped
                    assert (await client.get("/boom")).status_code == 500
                    leftovers += list(otel_context.get_current())
                    assert (await client.get("/ok")).status_code == 200
            return leftovers

        assert asyncio.run(run()) == []
        spans = captured.spans
        assert [s.name for s in spans] == ["GET /boom", "GET /ok", "GET /boom", "GET /ok"]
        assert all(s.parent_id is None for s in spans)  # nothing leaked into the next request
        assert [s.status for s in spans] == ["ERROR", "UNSET", "ERROR", "UNSET"]


def test_contrib_on_the_same_provider_leaves_one_server_span() -> None:
    import asyncio

    import httpx
    from fastapi import FastAPI
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    from honeyhive.testing import capture
    from honeyhive_fastapi import HoneyHiveMiddleware

    with capture() as captured:
        app = FastAPI()

        @app.get("/items/{item_id}")
        async def item(item_id: int) -> dict[str, int]:
            return {"item_id": item_id}

        app.add_middleware(HoneyHiveMiddleware)
        FastAPIInstrumentor.instrument_app(app, tracer_provider=captured.tracer.provider)
        try:

            async def run() -> None:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    assert (await client.get("/items/4")).status_code == 200

            asyncio.run(run())
        finally:
            FastAPIInstrumentor.uninstrument_app(app)
        spans = captured.spans
        assert [s.kind for s in spans].count("SERVER") == 1
        assert len({s.trace_id for s in spans}) == 1
        (ours,) = [s for s in captured.find_all("GET /items/{item_id}") if s.kind == "INTERNAL"]
        assert ours.attributes["http.route"] == "/items/{item_id}"  # under contrib's SERVER


def test_without_any_tracer_requests_run_untraced_and_it_is_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import honeyhive._http._env_tracer as env_tracer
    from honeyhive._diagnostics import internal_error_count

    monkeypatch.setattr(env_tracer, "_tracer", None)
    monkeypatch.setattr(env_tracer, "_failed", False)
    before = internal_error_count()
    # No tracer given, no default tracer, no HH_API_KEY: HoneyHiveTracer() cannot be built.
    responses = _get(_app(), "/items/1", "/items/2", "/items/3")
    assert [r.status_code for r in responses] == [200, 200, 200]
    said = [r for r in caplog.records if "no tracer" in r.getMessage()]
    assert len(said) == 1
    assert "honeyhive-fastapi" in said[0].getMessage()
    assert internal_error_count() == before  # not an error per request


def test_a_starlette_app_mounted_in_fastapi_is_named_by_its_own_route(
    honeyhive_capture: SpanCapture,
) -> None:
    async def thing(request: Any) -> PlainTextResponse:
        return PlainTextResponse(str(request.path_params))

    app = FastAPI()
    app.mount("/star", Starlette(routes=[Route("/things/{thing_id}", thing)]))
    deeper = Starlette(routes=[Mount("/er", routes=[Route("/x/{y}", thing)])])
    app.mount("/deep", deeper)
    app.mount("/files", Starlette(routes=[Route("/{path:path}", thing)]))
    app.add_middleware(HoneyHiveMiddleware)
    with TestClient(app) as client:
        assert client.get("/star/things/t1").status_code == 200
        assert client.get("/deep/er/x/1").status_code == 200
        assert client.get("/files/a/b").status_code == 200
        assert client.get("/star/nowhere").status_code == 404
    names = sorted(s.name for s in honeyhive_capture.spans)
    assert names == [
        "GET /deep/er/x/{y}",
        "GET /files/{path}",
        "GET /star/things/{thing_id}",
        "GET /star/{path}",  # nothing matched inside the mount: its template is all there is
    ]

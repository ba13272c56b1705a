"""disable_http_tracing=False: outgoing httpx/requests calls get CLIENT spans and headers."""

from __future__ import annotations

import asyncio
from typing import Callable

import httpx
import requests

from honeyhive import HoneyHiveTracer

from support.collector import Collector

MakeTracer = Callable[..., HoneyHiveTracer]


def _downstream(collector: Collector) -> list[dict[str, str]]:
    return [r.headers for r in collector.requests if r.path.startswith("/downstream")]


def test_httpx_and_requests_calls_are_traced_and_carry_context(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(disable_http_tracing=False)
    with tracer.trace("handler") as parent:
        httpx.get(f"{collector.url}/downstream/httpx?token=s3cr3t&q=1")
        requests.get(f"{collector.url}/downstream/requests", timeout=5)

        async def call() -> None:
            async with httpx.AsyncClient() as client:
                await client.get(f"{collector.url}/downstream/async")

        asyncio.run(call())
    assert tracer.flush(5)
    spans = collector.wait_for_spans(4)
    handler = next(s for s in spans if s.name == "handler")
    clients = [s for s in spans if s.kind == "CLIENT"]
    assert len(clients) == 3
    for span in clients:
        assert span.parent_span_id == handler.span_id
        assert span.name == "GET"
        assert span.attributes["http.request.method"] == "GET"
        assert span.attributes["http.response.status_code"] == 404
        assert span.attributes["server.address"] == "127.0.0.1"
        assert span.status_code == "ERROR"
    urls = sorted(s.attributes["url.full"] for s in clients)
    assert f"{collector.url}/downstream/httpx?token=[REDACTED]&q=1" in urls
    headers = _downstream(collector)
    assert len(headers) == 3
    client_ids = {s.span_id for s in clients}
    for sent in headers:
        _version, trace_id, span_id, _flags = sent["traceparent"].split("-")
        assert trace_id == handler.trace_id
        assert span_id in client_ids
        assert f"session_id={tracer.session_id}" in sent["baggage"]
    del parent


def test_the_call_goes_to_the_tracer_whose_span_is_current(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    first = make_tracer(disable_http_tracing=False, project="first")
    second = make_tracer(disable_http_tracing=False, project="second")
    with second.trace("parent"):
        httpx.get(f"{collector.url}/downstream/x")
    second.flush(5)
    first.flush(5)
    (client,) = [s for s in collector.spans if s.kind == "CLIENT"]
    assert client.attributes["honeyhive.project"] == "second"
    assert client.attributes["honeyhive.session_id"] == second.session_id


def test_the_sdks_own_calls_are_never_traced(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer(disable_http_tracing=False)
    with tracer.trace("op"):
        pass
    assert tracer.flush(5)
    assert tracer.flush(5)
    assert [s.name for s in collector.spans] == ["op"]
    for request in collector.requests:
        assert "traceparent" not in request.headers


def test_off_by_default(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer()
    with tracer.trace("op"):
        httpx.get(f"{collector.url}/downstream/plain")
    tracer.flush(5)
    assert [s.name for s in collector.spans] == ["op"]
    assert "traceparent" not in _downstream(collector)[0]


def test_closing_the_last_tracer_unpatches_the_clients(make_tracer: MakeTracer) -> None:
    original = httpx.Client.send
    tracer = make_tracer(disable_http_tracing=False)
    assert httpx.Client.send is not original
    tracer.close()
    assert httpx.Client.send is original

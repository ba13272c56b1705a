"""Views for the honeyhive-django tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import viewsets
from rest_framework.response import Response

from honeyhive import enrich_request_span, get_default_tracer


def _span(name: str) -> Any:
    tracer = get_default_tracer()
    assert tracer is not None
    return tracer.trace(name)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home")


def item(request: HttpRequest, item_id: int) -> HttpResponse:
    with _span("load-item"):
        enrich_request_span({"item.id": item_id})
    return JsonResponse({"id": item_id})


def work(request: HttpRequest, n: int) -> HttpResponse:
    """A request that is a session with a span and an event (the shutdown tests)."""
    tracer = get_default_tracer()
    assert tracer is not None
    with tracer.trace("step"):
        tracer.create_event("worked", "tool", inputs={"n": n})
    return JsonResponse({"n": n})


def article(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse(str(kwargs))


def user(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(str(pk))


def who(request: HttpRequest) -> HttpResponse:
    user = request.user  # evaluated here: the user is loaded
    return HttpResponse(getattr(user, "username", "anonymous"))


def lazy(request: HttpRequest) -> HttpResponse:
    return HttpResponse("did not look at the user")


async def awho(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    return HttpResponse(getattr(user, "username", "anonymous"))


def boom(request: HttpRequest) -> HttpResponse:
    raise KeyError("boom")


def missing(request: HttpRequest) -> HttpResponse:
    from django.http import Http404

    raise Http404("no such thing")


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse("unavailable", status=503)


def submit(request: HttpRequest) -> HttpResponse:  # CSRF-protected
    return HttpResponse("ok")


@csrf_exempt
def echo(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("echo")
    response["X-Answer"] = "42"
    response["Set-Cookie"] = "sessionid=secret"
    return response


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:
        for index in range(3):
            with _span(f"chunk-{index}"):
                yield f"{index}\n".encode()

    return StreamingHttpResponse(body())


def stream_error(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:
        yield b"first\n"
        raise RuntimeError("stream broke")

    return StreamingHttpResponse(body())


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[bytes]:
        for index in range(3):
            with _span(f"achunk-{index}"):
                await asyncio.sleep(0)
                yield f"{index}\n".encode()

    return StreamingHttpResponse(body())


async def aitem(request: HttpRequest, item_id: int) -> HttpResponse:
    with _span("aload-item"):
        await asyncio.sleep(0)
        enrich_request_span({"thread": threading.get_ident()})
    return JsonResponse({"id": item_id})


async def aboom(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    raise ValueError("async boom")


class ThingViewSet(viewsets.ViewSet):
    def list(self, request: Any) -> Response:
        return Response([{"id": 1}])

    def retrieve(self, request: Any, pk: str | None = None) -> Response:
        return Response({"id": pk})

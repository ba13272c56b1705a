"""honeyhive-django in process: Django's test Client (WSGI handler) and AsyncClient (ASGI)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import _django_setup  # noqa: F401  (configures Django before the imports below)
import pytest
from django.core.checks import run_checks
from django.test import AsyncClient, Client, override_settings

import honeyhive_django
from honeyhive.testing import SpanCapture
from honeyhive_django.middleware import HoneyHiveMiddleware

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SESSION = "11111111-2222-4333-8444-555555555555"


def _server_spans(capture: SpanCapture) -> list[Any]:
    return [s for s in capture.spans if s.kind == "SERVER"]


def _one(capture: SpanCapture) -> Any:
    spans = _server_spans(capture)
    assert len(spans) == 1, capture.tree()
    return spans[0]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/", "GET /"),
        ("/items/7", "GET /items/{item_id}"),
        ("/articles/2024/", "GET /articles/{year}/"),
        ("/api/v1/users/3/", "GET /api/v1/users/{pk}/"),
        ("/api/v1/legacy/old-page/", "GET /api/v1/legacy/{slug}/"),
        ("/api/v1/deeper/items/x", "GET /api/v1/deeper/items/{name}"),
        ("/drf/things/", "GET /drf/things/"),
        ("/drf/things/5/", "GET /drf/things/{pk}/"),
        ("/no/such/page", "GET"),
        ("/missing", "GET /missing"),  # matched, then 404: keeps its route
    ],
)
def test_span_names_from_the_matched_route(
    honeyhive_capture: SpanCapture, path: str, name: str
) -> None:
    response = Client().get(path)
    span = _one(honeyhive_capture)
    assert span.name == name
    assert span.attributes["url.path"] == path
    assert span.attributes["http.response.status_code"] == response.status_code
    if name != "GET":
        assert span.attributes["http.route"] == name[4:]
    else:
        assert "http.route" not in span.attributes


def test_stable_attributes_without_raw_uri(honeyhive_capture: SpanCapture) -> None:
    Client().get(
        "/items/7?q=1&signature=abc",
        headers={"traceparent": TRACEPARENT, "user-agent": "pytest-ua"},
        HTTP_HOST="shop.example:8443",
        REMOTE_ADDR="10.1.2.3",
    )
    span = _one(honeyhive_capture)
    attributes = span.attributes
    assert span.kind == "SERVER"
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent_id == "b7ad6b7169203331"
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.scheme"] == "http"
    assert attributes["url.query"] == "q=1&signature=[REDACTED]"
    assert attributes["server.address"] == "shop.example"
    assert attributes["server.port"] == 8443
    assert attributes["client.address"] == "10.1.2.3"
    assert attributes["user_agent.original"] == "pytest-ua"
    assert attributes["network.protocol.version"] == "1.1"
    assert attributes["item.id"] == 7  # enrich_request_span from inside a child span
    child = honeyhive_capture.find("load-item")
    assert child.parent_id == span.span_id


def test_request_urlconf_is_honoured(honeyhive_capture: SpanCapture) -> None:
    response = Client().get("/alt/5/", headers={"x-urlconf": "alt"})
    assert response.status_code == 200
    assert _one(honeyhive_capture).name == "GET /alt/{item_id}/"


def test_csrf_403_and_common_middleware_redirect(honeyhive_capture: SpanCapture) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/submit").status_code == 403
    assert client.get("/api/v1/users/3").status_code == 301  # APPEND_SLASH
    spans = _server_spans(honeyhive_capture)
    assert [(s.name, s.attributes["http.response.status_code"]) for s in spans] == [
        ("POST /submit", 403),
        ("GET", 301),  # CommonMiddleware answered before any route matched
    ]
    assert all(s.status == "UNSET" for s in spans)


def test_view_exception_is_recorded_once_and_is_a_500(honeyhive_capture: SpanCapture) -> None:
    response = Client(raise_request_exception=False).get("/boom")
    assert response.status_code == 500
    span = _one(honeyhive_capture)
    assert span.name == "GET /boom"
    assert span.status == "ERROR"
    assert span.attributes["error.type"] == "KeyError"
    assert len([e for e in span.events if e.name == "exception"]) == 1


def test_404_and_503_status_mapping(honeyhive_capture: SpanCapture) -> None:
    client = Client()
    client.get("/missing")
    client.get("/unavailable")
    missing, unavailable = _server_spans(honeyhive_capture)
    assert missing.status == "UNSET"
    assert not [e for e in missing.events if e.name == "exception"]  # Http404 is no error
    assert unavailable.status == "ERROR"
    assert unavailable.attributes["error.type"] == "503"


def test_sync_streaming_span_ends_at_close_with_children(honeyhive_capture: SpanCapture) -> None:
    response = Client().get("/stream")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == b"0\n1\n2\n"
    span = _one(honeyhive_capture)
    assert span.name == "GET /stream"
    assert span.status == "UNSET"
    chunks = [honeyhive_capture.find(f"chunk-{i}") for i in range(3)]
    assert all(chunk.parent_id == span.span_id for chunk in chunks)
    assert span.end_time >= max(chunk.end_time for chunk in chunks)


def test_streaming_span_stays_open_until_close(honeyhive_capture: SpanCapture) -> None:
    response = Client().get("/stream")
    assert _server_spans(honeyhive_capture) == []  # not ended before the body is sent
    response.close()
    span = _one(honeyhive_capture)
    assert span.status == "ERROR"  # closed before the body was sent: incomplete
    assert span.attributes["error.type"] == "incomplete_response"


def test_streaming_error_is_recorded(honeyhive_capture: SpanCapture) -> None:
    response = Client().get("/stream-error")
    with pytest.raises(RuntimeError):
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
    response.close()
    span = _one(honeyhive_capture)
    assert span.status == "ERROR"
    assert span.attributes["error.type"] == "RuntimeError"


def test_user_is_recorded_only_if_already_loaded(honeyhive_capture: SpanCapture) -> None:
    client = Client()
    assert client.get("/who", headers={"x-user": "12"}).content == b"user12"
    client.get("/lazy", headers={"x-user": "13"})
    who, lazy = _server_spans(honeyhive_capture)
    assert who.attributes["enduser.id"] == "12"
    assert "enduser.id" not in lazy.attributes  # the lazy user was not forced


def test_each_request_is_its_own_session_and_baggage_cannot_choose_it(
    honeyhive_capture: SpanCapture,
) -> None:
    client = Client()
    client.get("/", headers={"baggage": f"session_id={SESSION}"})
    client.get("/")
    first, second = _server_spans(honeyhive_capture)
    assert first.session_id != second.session_id
    assert SESSION not in (first.session_id, second.session_id)
    assert len(honeyhive_capture.session_starts) >= 2


def _session_from_header(request: Any) -> Any:
    return request.headers.get("x-conversation")


def test_options_from_settings(honeyhive_capture: SpanCapture) -> None:
    options = {
        "capture_request_headers": ["x-request-id", "authorization"],
        "capture_response_headers": ["x-answer", "set-cookie"],
        "excluded_urls": ["/health"],
        "trust_incoming_context": False,
        "session_id_for": "test_django_inprocess._session_from_header",
    }
    with override_settings(HONEYHIVE=options):
        client = Client()
        client.get("/health")
        client.get("/healthcare")  # anchored: not excluded
        client.get(
            "/echo",
            headers={
                "x-request-id": "r1",
                "authorization": "Bearer secret",
                "traceparent": TRACEPARENT,
                "x-conversation": SESSION,
            },
        )
    healthcare, echo = _server_spans(honeyhive_capture)
    assert healthcare.name == "GET /healthcare"
    attributes = echo.attributes
    assert attributes["http.request.header.x-request-id"] == ("r1",)
    assert "secret" not in str(attributes["http.request.header.authorization"])
    assert attributes["http.response.header.x-answer"] == ("42",)
    assert "secret" not in str(attributes["http.response.header.set-cookie"])
    assert echo.trace_id != "0af7651916cd43dd8448eb211c80319c"  # untrusted edge
    assert echo.session_id == SESSION


def test_hooks_that_raise_never_reach_the_request(honeyhive_capture: SpanCapture) -> None:
    def bad_hook(*args: Any) -> None:
        raise RuntimeError("hook bug")

    seen: list[Any] = []
    with override_settings(
        HONEYHIVE={
            "request_hook": bad_hook,
            "response_hook": lambda span, req, resp: seen.append(resp.status_code),
        }
    ):
        assert Client().get("/items/1").status_code == 200
    assert seen == [200]
    assert _one(honeyhive_capture).name == "GET /items/{item_id}"


def test_system_checks() -> None:
    ids = {m.id for m in run_checks(tags=None) if m.id and m.id.startswith("honeyhive_django")}
    assert "honeyhive_django.W001" not in ids
    assert "honeyhive_django.W002" not in ids
    assert "honeyhive_django.E001" not in ids
    with override_settings(MIDDLEWARE=["django.middleware.common.CommonMiddleware"]):
        assert "honeyhive_django.W001" in {m.id for m in run_checks()}
    with override_settings(
        MIDDLEWARE=[
            "django.middleware.common.CommonMiddleware",
            "honeyhive_django.middleware.HoneyHiveMiddleware",
        ]
    ):
        assert "honeyhive_django.W002" in {m.id for m in run_checks()}
    for bad in ({"no_such_key": 1}, {"excluded_urls": ["("]}, {"schedule_delay": -1}):
        with override_settings(HONEYHIVE=bad):
            errors = [m for m in run_checks() if m.id == "honeyhive_django.E001"]
            assert errors, bad
    assert "honeyhive_django.E001" not in {m.id for m in run_checks()}


def test_get_tracer_is_the_tracer_in_use(honeyhive_capture: SpanCapture) -> None:
    assert honeyhive_django.get_tracer() is honeyhive_capture.tracer


# -- ASGI (AsyncClient) ---------------------------------------------------------------------


def test_async_requests_run_on_the_event_loop_without_adaptation(
    honeyhive_capture: SpanCapture, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> tuple[Any, int]:
        client = AsyncClient()
        response = await client.get("/aitems/4", headers={"traceparent": TRACEPARENT})
        return response, threading.get_ident()

    with caplog.at_level(logging.DEBUG, logger="django.request"):
        response, loop_thread = asyncio.run(run())
    assert response.status_code == 200
    adapted = [r for r in caplog.records if "HoneyHiveMiddleware" in r.getMessage()]
    assert adapted == []
    span = _one(honeyhive_capture)
    assert span.name == "GET /aitems/{item_id}"
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.attributes["thread"] == loop_thread  # the async view ran on the loop thread
    assert honeyhive_capture.find("aload-item").parent_id == span.span_id


def test_middleware_mode_follows_the_handler() -> None:
    async def async_next(request: Any) -> Any:
        return None

    assert asyncio.iscoroutinefunction(HoneyHiveMiddleware(async_next))
    assert not asyncio.iscoroutinefunction(HoneyHiveMiddleware(lambda request: None))


def test_async_exception_and_404(honeyhive_capture: SpanCapture) -> None:
    async def run() -> list[int]:
        client = AsyncClient(raise_request_exception=False)
        return [(await client.get(p)).status_code for p in ("/aboom", "/nope")]

    assert asyncio.run(run()) == [500, 404]
    boom, nope = _server_spans(honeyhive_capture)
    assert boom.name == "GET /aboom"
    assert boom.status == "ERROR"
    assert boom.attributes["error.type"] == "ValueError"
    assert len([e for e in boom.events if e.name == "exception"]) == 1
    assert nope.name == "GET"
    assert nope.status == "UNSET"


def test_async_streaming_with_children(honeyhive_capture: SpanCapture) -> None:
    async def run() -> bytes:
        response = await AsyncClient().get("/astream")
        return b"".join([chunk async for chunk in response.streaming_content])

    assert asyncio.run(run()) == b"0\n1\n2\n"
    span = _one(honeyhive_capture)
    assert span.name == "GET /astream"
    assert span.status == "UNSET"
    for index in range(3):
        assert honeyhive_capture.find(f"achunk-{index}").parent_id == span.span_id


def test_async_user_only_when_loaded(honeyhive_capture: SpanCapture) -> None:
    async def run() -> None:
        client = AsyncClient()
        await client.get("/awho", headers={"x-user": "21"})
        await client.get("/lazy", headers={"x-user": "22"})

    asyncio.run(run())
    awho, lazy = _server_spans(honeyhive_capture)
    assert awho.attributes["enduser.id"] == "21"
    assert "enduser.id" not in lazy.attributes

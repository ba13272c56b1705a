"""The shared server-side request logic the framework integrations are built on."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry import trace as otel

from honeyhive import HoneyHiveTracer, enrich_request_span, get_request_span
from honeyhive.http_server import RequestInfo, RequestTracer, ServerConfig, normalize_route
from honeyhive.testing import SpanCapture

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER_SESSION = "11111111-2222-4333-8444-555555555555"


def _request(**overrides: object) -> RequestInfo:
    values: dict[str, object] = {
        "method": "GET",
        "path": "/users/42",
        "scheme": "http",
        "query": "q=1&token=abc",
        "server_address": "127.0.0.1",
        "server_port": 8000,
        "client_address": "10.0.0.7",
        "user_agent": "pytest",
        "protocol_version": "1.1",
        "headers": [("traceparent", TRACEPARENT), ("x-request-id", "r1")],
    }
    values.update(overrides)
    return RequestInfo(**values)  # type: ignore[arg-type]


def _tracer(capture: SpanCapture, **settings: object) -> RequestTracer:
    return RequestTracer(capture.tracer, ServerConfig.from_settings(**settings), "test")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("template", "route"),
    [
        ("/users/<int:user_id>", "/users/{user_id}"),
        ("/files/<path:rest>", "/files/{rest}"),
        ("/users/{user_id:int}", "/users/{user_id}"),
        ("users/<int:pk>/", "/users/{pk}/"),
        (r"^api/users/(?P<pk>[^/.]+)/$", "/api/users/{pk}/"),
        (r"^api/users/(?P<pk>[^/.]+)/(?:\.(?P<format>[a-z0-9]+)/?)?$", "/api/users/{pk}/"),
        (r"^articles/([0-9]{4})/$", "/articles/{param}/"),
        ("", "/"),
    ],
)
def test_routes_are_normalised(template: str, route: str) -> None:
    assert normalize_route(template) == route


def test_a_request_span_with_the_stable_attributes(honeyhive_capture: SpanCapture) -> None:
    server = _tracer(honeyhive_capture)
    scope = server.start(_request())
    assert scope is not None
    assert get_request_span() is scope.span
    with honeyhive_capture.tracer.trace("inside"):
        assert enrich_request_span({"user.id": "u1"})  # lands on the request span
    scope.set_route("/users/<int:user_id>")
    scope.set_status(200)
    scope.finish()
    assert otel.get_current_span() is otel.INVALID_SPAN  # nothing left attached
    request = honeyhive_capture.find("GET /users/{user_id}")
    assert request.kind == "SERVER"
    assert request.trace_id == "0af7651916cd43dd8448eb211c80319c"  # incoming context honoured
    assert request.parent_id == "b7ad6b7169203331"
    assert request.status == "UNSET"
    attributes = request.attributes
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.path"] == "/users/42"
    assert attributes["url.query"] == "q=1&token=[REDACTED]"
    assert attributes["url.scheme"] == "http"
    assert attributes["http.route"] == "/users/{user_id}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == 8000
    assert attributes["client.address"] == "10.0.0.7"
    assert attributes["user_agent.original"] == "pytest"
    assert attributes["network.protocol.version"] == "1.1"
    assert attributes["user.id"] == "u1"
    assert "http.request.header.x-request-id" not in attributes  # capture is off by default
    inside = honeyhive_capture.find("inside")
    assert inside.parent_id == request.span_id


@pytest.mark.parametrize(
    ("status", "exception", "incomplete", "expected", "error_type"),
    [
        (404, None, False, "UNSET", None),
        (422, None, False, "UNSET", None),
        (500, None, False, "ERROR", "500"),
        (503, None, False, "ERROR", "503"),
        (500, KeyError("k"), False, "ERROR", "KeyError"),
        (200, None, True, "ERROR", "incomplete_response"),
    ],
)
def test_status_mapping(
    honeyhive_capture: SpanCapture,
    status: int,
    exception: BaseException | None,
    incomplete: bool,
    expected: str,
    error_type: str | None,
) -> None:
    scope = _tracer(honeyhive_capture).start(_request())
    assert scope is not None
    scope.set_status(status)
    if exception is not None:
        scope.record_exception(exception)
        scope.record_exception(exception)  # reported twice, recorded once
    scope.finish(incomplete=incomplete)
    (span,) = honeyhive_capture.spans
    assert span.status == expected
    assert span.attributes.get("error.type") == error_type
    assert len([e for e in span.events if e.name == "exception"]) == (1 if exception else 0)


def test_unmatched_and_non_standard_methods_are_named_without_the_path(
    honeyhive_capture: SpanCapture,
) -> None:
    server = _tracer(honeyhive_capture)
    for method in ("GET", "PURGE"):
        scope = server.start(_request(method=method, path="/no/such/page"))
        assert scope is not None
        scope.set_status(404)
        scope.finish()
    names = [s.name for s in honeyhive_capture.spans]
    assert names == ["GET", "HTTP"]
    other = honeyhive_capture.spans[1].attributes
    assert other["http.request.method"] == "_OTHER"
    assert other["http.request.method_original"] == "PURGE"


def test_websocket_spans_are_named_ws(honeyhive_capture: SpanCapture) -> None:
    scope = _tracer(honeyhive_capture).start(_request(kind="websocket"))
    assert scope is not None
    scope.set_route("/ws/{room}")
    scope.finish()
    assert honeyhive_capture.spans[0].name == "WS /ws/{room}"


def test_each_request_is_its_own_session_without_blocking(
    honeyhive_capture: SpanCapture,
) -> None:
    server = _tracer(honeyhive_capture)
    sessions = []
    for _ in range(2):
        scope = server.start(_request(headers=[]))
        assert scope is not None
        with honeyhive_capture.tracer.trace("work"):
            pass
        sessions.append(scope.session_id)
        scope.finish()
    assert sessions[0] != sessions[1]
    assert honeyhive_capture.tracer.session_id not in sessions
    spans = honeyhive_capture.spans
    assert [s.session_id for s in spans] == [sessions[0], sessions[0], sessions[1], sessions[1]]
    started = [s["session_id"] for s in honeyhive_capture.session_starts]
    assert sessions[0] in started
    assert sessions[1] in started


def test_per_request_session_ids_are_random_uuids_in_their_usual_form(
    honeyhive_capture: SpanCapture,
) -> None:
    server = _tracer(honeyhive_capture)
    ids = set()
    for _ in range(2000):
        scope = server.start(_request(headers=[]))
        assert scope is not None
        assert scope.session_id is not None
        parsed = uuid.UUID(scope.session_id)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == scope.session_id  # lower-case, dashed: as the backend expects
        ids.add(scope.session_id)
        scope.finish()
    assert len(ids) == 2000


def test_incoming_baggage_cannot_choose_the_session_unless_allowed(
    honeyhive_capture: SpanCapture,
) -> None:
    headers = [("baggage", f"session_id={OTHER_SESSION},project=evil,tenant=acme")]
    untrusted = _tracer(honeyhive_capture).start(_request(headers=headers))
    assert untrusted is not None
    carrier = honeyhive_capture.tracer.inject({})
    untrusted.finish()
    assert untrusted.session_id != OTHER_SESSION
    assert "project=evil" not in carrier["baggage"]
    assert "tenant=acme" in carrier["baggage"]  # unprotected keys still pass through
    allowing = _tracer(honeyhive_capture, allowed_baggage_keys=["session_id"])
    trusted = allowing.start(_request(headers=headers))
    assert trusted is not None
    trusted.finish()
    assert trusted.session_id == OTHER_SESSION
    assert honeyhive_capture.spans[-1].session_id == OTHER_SESSION


def test_the_app_can_choose_the_session(honeyhive_capture: SpanCapture) -> None:
    server = _tracer(honeyhive_capture, session_id_for=lambda request: request["conversation"])
    scope = server.start(_request(), request={"conversation": OTHER_SESSION})
    assert scope is not None
    scope.finish()
    assert honeyhive_capture.spans[0].session_id == OTHER_SESSION
    assert OTHER_SESSION not in [s["session_id"] for s in honeyhive_capture.session_starts]


def test_a_session_id_for_that_returns_no_uuid_counts_as_a_hook_error(
    honeyhive_capture: SpanCapture,
) -> None:
    server = _tracer(honeyhive_capture, session_id_for=lambda request: "not-a-uuid")
    scope = server.start(_request(), request={})
    assert scope is not None
    scope.finish()
    assert server.hook_errors == 1
    assert honeyhive_capture.spans[0].session_id != "not-a-uuid"


def test_incoming_context_can_be_ignored_at_an_untrusted_edge(
    honeyhive_capture: SpanCapture,
) -> None:
    scope = _tracer(honeyhive_capture, trust_incoming_context=False).start(_request())
    assert scope is not None
    scope.finish()
    span = honeyhive_capture.spans[0]
    assert span.parent_id is None
    assert span.trace_id != "0af7651916cd43dd8448eb211c80319c"


def test_header_capture_with_redaction(honeyhive_capture: SpanCapture) -> None:
    server = _tracer(
        honeyhive_capture,
        capture_request_headers=["x-request-id", "authorization", "x-custom-.*", "cookie"],
        capture_response_headers=["content-type", "set-cookie"],
    )
    headers = [
        ("X-Request-Id", "r1"),
        ("Authorization", "Bearer SENTINEL-secret"),
        ("X-Custom-A", "a"),
        ("X-Custom-A", "b"),
        ("Cookie", "session=SENTINEL"),
        ("x-other", "not captured"),
    ]
    scope = server.start(_request(headers=headers))
    assert scope is not None
    scope.set_response_headers([("Content-Type", "text/plain"), ("Set-Cookie", "s=SENTINEL")])
    scope.finish()
    attributes = honeyhive_capture.spans[0].attributes
    assert attributes["http.request.header.x-request-id"] == ("r1",)
    assert attributes["http.request.header.authorization"] == ("[REDACTED]",)
    assert attributes["http.request.header.cookie"] == ("[REDACTED]",)
    assert attributes["http.request.header.x-custom-a"] == ("a", "b")
    assert attributes["http.response.header.content-type"] == ("text/plain",)
    assert attributes["http.response.header.set-cookie"] == ("[REDACTED]",)
    assert "http.request.header.x-other" not in attributes
    assert "SENTINEL" not in repr(honeyhive_capture.spans)


def test_header_capture_from_the_standard_variables(
    honeyhive_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "x-request-id")
    scope = _tracer(honeyhive_capture).start(_request())
    assert scope is not None
    scope.finish()
    assert honeyhive_capture.spans[0].attributes["http.request.header.x-request-id"] == ("r1",)


def test_excluded_urls_are_anchored_and_predicates_work(
    honeyhive_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _tracer(
        honeyhive_capture,
        excluded_urls=["/health", "/static/.*"],
        exclude=lambda info: info.path == "/metrics",
    )
    for path in ("/health", "/static/app.js", "/metrics"):
        assert server.start(_request(path=path)) is None
    for path in ("/healthcare", "/api/health"):
        scope = server.start(_request(path=path))
        assert scope is not None
        scope.finish()
    assert [s.attributes["url.path"] for s in honeyhive_capture.spans] == [
        "/healthcare",
        "/api/health",
    ]
    monkeypatch.setenv("HH_EXCLUDED_URLS", "/ready")
    assert _tracer(honeyhive_capture).start(_request(path="/ready")) is None
    with pytest.raises(ValueError, match="excluded_urls"):
        ServerConfig.from_settings(excluded_urls=["(unclosed"])


def test_hooks_run_and_their_errors_never_reach_the_request(
    honeyhive_capture: SpanCapture, caplog: pytest.LogCaptureFixture
) -> None:
    def request_hook(span: otel.Span, request: object) -> None:
        span.set_attribute("hooked", str(request))
        raise RuntimeError("hook bug")

    def response_hook(span: otel.Span, request: object, response: object) -> None:
        span.set_attribute("response", str(response))
        raise RuntimeError("hook bug")

    server = _tracer(honeyhive_capture, request_hook=request_hook, response_hook=response_hook)
    scope = server.start(_request(), request="req")
    assert scope is not None
    scope.finish("resp")
    attributes = honeyhive_capture.spans[0].attributes
    assert attributes["hooked"] == "req"
    assert attributes["response"] == "resp"
    assert server.hook_errors == 2


def test_a_closed_tracer_traces_nothing(honeyhive_capture: SpanCapture) -> None:
    tracer = HoneyHiveTracer(test_mode=True)
    server = RequestTracer(tracer, ServerConfig(), "test")
    tracer.close()
    assert server.start(_request()) is None


def test_query_redaction_sees_through_percent_encoding() -> None:
    from honeyhive.http_server import redact_query

    assert redact_query("si%67=2&code=abc&jwt=x&q=1") == (
        "si%67=[REDACTED]&code=[REDACTED]&jwt=[REDACTED]&q=1"
    )


def test_huge_request_values_are_cut_marked_and_counted_without_a_log_line_each(
    honeyhive_capture: SpanCapture, caplog: pytest.LogCaptureFixture
) -> None:
    limit = honeyhive_capture.tracer._rules.max_length
    server = _tracer(honeyhive_capture, capture_request_headers=["x-note"])
    long = "x" * (limit + 1000)
    for _ in range(3):  # a client sending absurd URLs over and over
        scope = server.start(
            _request(
                path=f"/files/{long}",
                query=f"q={long}",
                user_agent=long,
                headers=[("x-note", long)],
            )
        )
        assert scope is not None
        scope.finish()
    spans = honeyhive_capture.spans
    assert len(spans) == 3
    for span in spans:
        attributes = span.attributes
        assert attributes["url.path"] == f"/files/{long[: limit - 7]}...[truncated 1007 chars]"
        assert attributes["url.query"].endswith("...[truncated 1002 chars]")
        assert attributes["user_agent.original"].endswith("...[truncated 1000 chars]")
        assert attributes["honeyhive.truncated"] == 3
    assert "exceeds max length" not in caplog.text  # OpenTelemetry's warning, once per value
    assert caplog.text.count("cut or left out by the capture limits") <= 1

"""honeyhive-flask in process: the Flask test client, spans captured after the whole pipeline."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import (
    Blueprint,
    Flask,
    abort,
    copy_current_request_context,
    request,
    stream_with_context,
)
from opentelemetry import context as context_api
from opentelemetry import trace as otel

from honeyhive import HoneyHiveTracer, enrich_request_span, propagate_context
from honeyhive.testing import SpanCapture
from honeyhive_flask import HoneyHive

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def make_app(tracer: HoneyHiveTracer | None = None, **options: object) -> Flask:
    app = Flask("inprocess")

    @app.before_request
    def auth() -> object:  # registered before the extension: still inside the span
        if request.headers.get("x-deny"):
            return "forbidden", 403
        return None

    HoneyHive(app, tracer=tracer, **options)  # type: ignore[arg-type]

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        tracer_ = tracer
        assert tracer_ is not None
        with tracer_.trace("load-user"):
            enrich_request_span({"user.id": user_id})
        return {"id": user_id}

    @app.get("/missing/<name>")
    def missing(name: str) -> str:
        abort(404)

    @app.get("/boom")
    def boom() -> str:
        raise KeyError("boom")

    @app.get("/stream")
    def stream() -> object:
        @stream_with_context
        def body() -> Iterator[str]:
            for i in range(3):
                with tracer.trace(f"chunk-{i}"):  # type: ignore[union-attr]
                    yield f"{request.args.get('p', 'x')}{i}"

        return app.response_class(body())

    @app.get("/plain-stream")
    def plain_stream() -> object:
        def body() -> Iterator[str]:
            for i in range(2):
                with tracer.trace(f"plain-{i}"):  # type: ignore[union-attr]
                    yield str(i)

        return app.response_class(body())

    @app.get("/async")
    async def async_view() -> str:
        with tracer.trace("async-work"):  # type: ignore[union-attr]
            enrich_request_span({"async": True})
        return "ok"

    @app.get("/thread")
    def thread_view() -> str:
        @copy_current_request_context
        def work() -> None:
            with tracer.trace("in-thread"):  # type: ignore[union-attr]
                enrich_request_span({"thread.path": request.path})

        worker = threading.Thread(target=propagate_context(work))
        worker.start()
        worker.join(5)
        return "ok"

    bp = Blueprint("api", __name__, url_prefix="/api/v1")

    @bp.route("/orders/<uuid:order_id>", methods=["GET", "POST"])
    def order(order_id: object) -> str:
        return "order"

    app.register_blueprint(bp)
    return app


@pytest.fixture
def app(honeyhive_capture: SpanCapture) -> Flask:
    return make_app(honeyhive_capture.tracer)


def test_a_request_span_named_by_route_with_children(
    app: Flask, honeyhive_capture: SpanCapture
) -> None:
    response = app.test_client().get(
        buffered=True,
        path="/users/42?token=abc&q=1",
        headers={"traceparent": TRACEPARENT, "User-Agent": "ua"},
    )
    assert response.status_code == 200
    span = honeyhive_capture.find("GET /users/{user_id}")
    assert span.kind == "SERVER"
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    a = span.attributes
    assert a["http.route"] == "/users/{user_id}"
    assert a["http.response.status_code"] == 200
    assert a["url.path"] == "/users/42"
    assert a["url.query"] == "token=[REDACTED]&q=1"
    assert a["server.address"] == "localhost"
    assert a["server.port"] == 80
    assert a["client.address"] == "127.0.0.1"
    assert a["user_agent.original"] == "ua"
    assert a["network.protocol.version"] == "1.1"
    assert a["user.id"] == 42
    assert honeyhive_capture.find("load-user").parent_id == span.span_id
    assert otel.get_current_span() is otel.INVALID_SPAN


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "name"),
    [
        (
            "GET",
            "/users/1",
            {"x-deny": "1"},
            403,
            "GET",
        ),  # short-circuit before routing? no: matched
        ("GET", "/nothing/here", {}, 404, "GET"),
        ("DELETE", "/users/1", {}, 405, "DELETE"),
        ("GET", "/missing/x", {}, 404, "GET /missing/{name}"),
        (
            "GET",
            "/api/v1/orders/0a0b0c0d-0000-4000-8000-000000000000",
            {},
            200,
            "GET /api/v1/orders/{order_id}",
        ),
    ],
)
def test_short_circuits_not_found_and_blueprints_are_one_span(
    app: Flask,
    honeyhive_capture: SpanCapture,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    name: str,
) -> None:
    response = app.test_client().open(path, buffered=True, method=method, headers=headers)
    assert response.status_code == status
    spans = honeyhive_capture.spans
    servers = [s for s in spans if s.kind == "SERVER"]
    assert len(servers) == 1
    if status == 403:
        name = "GET /users/{user_id}"  # the rule matched before before_request ran
    assert servers[0].name == name
    assert servers[0].status == "UNSET"
    assert servers[0].attributes["http.response.status_code"] == status


def test_an_unhandled_exception_is_recorded_once(
    app: Flask, honeyhive_capture: SpanCapture
) -> None:
    assert app.test_client().get(buffered=True, path="/boom").status_code == 500
    span = honeyhive_capture.find("GET /boom")
    assert span.status == "ERROR"
    assert span.attributes["error.type"] == "KeyError"
    assert span.attributes["http.response.status_code"] == 500
    assert len([e for e in span.events if e.name == "exception"]) == 1


def test_propagate_exceptions_mode(honeyhive_capture: SpanCapture) -> None:
    app = make_app(honeyhive_capture.tracer)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(KeyError):
        app.test_client().get(buffered=True, path="/boom")
    span = honeyhive_capture.find("GET /boom")
    assert span.status == "ERROR"
    assert span.attributes["http.response.status_code"] == 500
    assert len([e for e in span.events if e.name == "exception"]) == 1
    assert otel.get_current_span() is otel.INVALID_SPAN


@pytest.mark.parametrize("handled", [Exception, 500])
def test_an_error_handler_answering_500(honeyhive_capture: SpanCapture, handled: object) -> None:
    app = make_app(honeyhive_capture.tracer)
    seen: list[object] = []

    @app.errorhandler(handled)  # type: ignore[type-var]
    def handler(exc: Exception) -> tuple[str, int]:
        seen.append(otel.get_current_span())
        return "sorry", 500

    assert app.test_client().get(buffered=True, path="/boom").status_code == 500
    span = honeyhive_capture.find("GET /boom")
    assert span.status == "ERROR"
    assert len([e for e in span.events if e.name == "exception"]) == 1
    assert seen[0].get_span_context().span_id == int(span.span_id, 16)  # type: ignore[attr-defined]


def test_an_error_handler_answering_4xx_is_not_an_error(honeyhive_capture: SpanCapture) -> None:
    app = make_app(honeyhive_capture.tracer)
    app.register_error_handler(KeyError, lambda exc: ("bad", 400))
    assert app.test_client().get(buffered=True, path="/boom").status_code == 400
    span = honeyhive_capture.find("GET /boom")
    assert span.status == "UNSET"
    assert not [e for e in span.events if e.name == "exception"]


@pytest.mark.parametrize(("path", "prefix"), [("/stream?p=a", "chunk"), ("/plain-stream", "plain")])
def test_streaming_covers_the_body_and_its_spans_are_children(
    app: Flask, honeyhive_capture: SpanCapture, path: str, prefix: str
) -> None:
    response = app.test_client().get(buffered=True, path=path)
    assert response.status_code == 200
    response.close()
    server = honeyhive_capture.find(f"GET /{path.split('?')[0].strip('/')}")
    children = [s for s in honeyhive_capture.spans if s.name.startswith(prefix)]
    assert len(children) >= 2
    assert all(c.parent_id == server.span_id for c in children)
    assert server.end_time >= max(c.end_time for c in children)
    assert server.status == "UNSET"
    assert otel.get_current_span() is otel.INVALID_SPAN


def test_a_body_closed_early_ends_the_span_once_as_error(
    app: Flask, honeyhive_capture: SpanCapture
) -> None:
    environ_app = app.wsgi_app
    statuses: list[str] = []
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/stream").get_environ()
    body = environ_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    iterator = iter(body)
    next(iterator)  # the client read one chunk, then went away
    assert context_api.get_current() == context_api.Context()  # nothing left on this thread
    body.close()  # type: ignore[attr-defined]
    body.close()  # type: ignore[attr-defined]
    (server,) = [s for s in honeyhive_capture.spans if s.kind == "SERVER"]
    assert server.status == "ERROR"
    assert server.attributes["error.type"] == "incomplete_response"
    assert otel.get_current_span() is otel.INVALID_SPAN


def test_async_views_and_threads_with_copied_request_context(
    app: Flask, honeyhive_capture: SpanCapture
) -> None:
    client = app.test_client()
    assert client.get(buffered=True, path="/async").status_code == 200
    assert client.get(buffered=True, path="/thread").status_code == 200
    async_server = honeyhive_capture.find("GET /async")
    assert honeyhive_capture.find("async-work").parent_id == async_server.span_id
    assert async_server.attributes["async"] is True
    thread_server = honeyhive_capture.find("GET /thread")
    assert honeyhive_capture.find("in-thread").parent_id == thread_server.span_id
    assert thread_server.attributes["thread.path"] == "/thread"


def test_each_request_is_its_own_session(app: Flask, honeyhive_capture: SpanCapture) -> None:
    client = app.test_client()
    client.get(buffered=True, path="/users/1")
    client.get(buffered=True, path="/users/2")
    servers = [s for s in honeyhive_capture.spans if s.kind == "SERVER"]
    assert len({s.session_id for s in servers}) == 2
    for server in servers:
        (child,) = honeyhive_capture.children(server)
        assert child.session_id == server.session_id
    started = {s["session_id"] for s in honeyhive_capture.session_starts}
    assert {s.session_id for s in servers} <= started


def test_idempotent_and_wrapped_twice_gives_one_span(
    app: Flask, honeyhive_capture: SpanCapture
) -> None:
    extension = app.extensions["honeyhive"]
    extension.init_app(app)
    HoneyHive(app)  # another instance: ignored
    assert app.extensions["honeyhive"] is extension
    # the same middleware applied twice by hand: the environ marker keeps one span
    app.wsgi_app = type(app.wsgi_app)(app.wsgi_app, app.wsgi_app.tracing)  # type: ignore[method-assign, attr-defined]
    app.test_client().get(buffered=True, path="/users/3")
    assert len([s for s in honeyhive_capture.spans if s.kind == "SERVER"]) == 1


def test_with_contrib_flask_instrumentor_there_is_one_server_span(
    honeyhive_capture: SpanCapture,
) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = make_app(honeyhive_capture.tracer)
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    try:
        assert app.test_client().get(buffered=True, path="/users/5").status_code == 200
    finally:
        FlaskInstrumentor().uninstrument_app(app)
    ours = [s for s in honeyhive_capture.spans if s.kind == "SERVER"]
    assert len(ours) == 1
    theirs = exporter.get_finished_spans()
    assert [s.kind for s in theirs] == [otel.SpanKind.INTERNAL]  # a child, not a second root
    assert theirs[0].context.trace_id == int(ours[0].trace_id, 16)


def test_settings_from_app_config_and_several_apps(
    honeyhive_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    extension = HoneyHive(tracer=honeyhive_capture.tracer)
    first, second = Flask("first"), Flask("second")
    first.config["HONEYHIVE_CAPTURE_REQUEST_HEADERS"] = "x-request-id, authorization"
    first.config["HONEYHIVE_EXCLUDED_URLS"] = ["/health"]
    second.config["HONEYHIVE_SESSION_PER_REQUEST"] = "false"
    for flask_app in (first, second):
        extension.init_app(flask_app)
        flask_app.add_url_rule("/health", "health", lambda: "ok")
        flask_app.add_url_rule("/healthcare", "care", lambda: "ok")
        assert flask_app.extensions["honeyhive"] is extension
    headers = {"X-Request-Id": "r1", "Authorization": "Bearer SECRET"}
    first.test_client().get(buffered=True, path="/health", headers=headers)
    first.test_client().get(buffered=True, path="/healthcare", headers=headers)
    second.test_client().get(buffered=True, path="/health", headers=headers)
    spans = honeyhive_capture.spans
    assert [s.name for s in spans] == ["GET /healthcare", "GET /health"]
    a = spans[0].attributes
    assert a["http.request.header.x-request-id"] == ("r1",)
    assert a["http.request.header.authorization"] == ("[REDACTED]",)
    assert "http.request.header.x-request-id" not in spans[1].attributes
    assert spans[1].session_id == honeyhive_capture.tracer.session_id  # no per-request session
    assert spans[0].session_id != honeyhive_capture.tracer.session_id
    with first.app_context():
        assert extension.get_tracer() is honeyhive_capture.tracer


def test_tracer_built_from_app_config(collector: object) -> None:
    app = Flask("configured")
    app.config.update(
        HONEYHIVE_SERVER_URL=collector.url,  # type: ignore[attr-defined]
        HONEYHIVE_PROJECT="from-config",
        HONEYHIVE_API_KEY="k",
        HONEYHIVE_TEST_MODE=True,
    )
    HoneyHive(app)
    tracer = app.extensions["honeyhive"].get_tracer(app)
    try:
        assert tracer.project == "from-config"
        assert tracer.test_mode
    finally:
        tracer.close()


def test_trust_hooks_and_session_choice(honeyhive_capture: SpanCapture) -> None:
    session = "11111111-2222-4333-8444-555555555555"
    seen: list[object] = []

    def response_hook(span: otel.Span, req: object, response: object) -> None:
        seen.append(response)
        raise RuntimeError("hook bug")

    app = make_app(
        honeyhive_capture.tracer,
        trust_incoming_context=False,
        session_id_for=lambda req: req.headers.get("x-conversation"),
        request_hook=lambda span, req: span.set_attribute("hooked", req.path),
        response_hook=response_hook,
    )
    response = app.test_client().get(
        buffered=True,
        path="/users/9",
        headers={
            "traceparent": TRACEPARENT,
            "x-conversation": session,
            "baggage": "session_id=22222222-2222-4333-8444-555555555555",
        },
    )
    assert response.status_code == 200
    span = honeyhive_capture.find("GET /users/{user_id}")
    assert span.trace_id != "0af7651916cd43dd8448eb211c80319c"
    assert span.session_id == session
    assert span.attributes["hooked"] == "/users/9"
    assert getattr(seen[0], "status_code", None) == 200


def test_nothing_traced_without_a_tracer_and_the_request_still_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import honeyhive_flask._tracing as tracing

    monkeypatch.setattr(tracing, "get_default_tracer", lambda: None)
    monkeypatch.setattr(tracing, "_tracer_from_environment", lambda: None)
    app = make_app(None)
    assert app.test_client().get(buffered=True, path="/nothing").status_code == 404


def test_hooks_named_by_dotted_path_in_app_config_are_resolved_or_refused() -> None:
    import flask
    import pytest

    from honeyhive import HoneyHiveTracer
    from honeyhive_flask import HoneyHive

    tracer = HoneyHiveTracer(test_mode=True)
    try:
        good = flask.Flask("dotted")
        good.config["HONEYHIVE_EXCLUDE"] = "os.path.isabs"  # any importable callable
        HoneyHive(good, tracer=tracer)
        bad = flask.Flask("bad-dotted")
        bad.config["HONEYHIVE_REQUEST_HOOK"] = "no_such_module.hook"
        with pytest.raises(ValueError, match="HONEYHIVE_REQUEST_HOOK"):
            HoneyHive(bad, tracer=tracer)
    finally:
        tracer.close()

"""What never leaves the process: the ``mask`` hook on every captured value, the API key
scrubbed from everything exported, and the editable lists of secret attribute keys, headers
and query parameters, in the SDK and through the framework integrations.

Every check reads the raw request bodies at the loopback collector: what the backend gets.
"""

from __future__ import annotations

import gzip
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from flask import Flask
from opentelemetry.trace import Link

from honeyhive import HoneyHiveTracer, trace
from honeyhive_flask import HoneyHive

from support.collector import Collector, ReceivedSpan

MakeTracer = Callable[..., HoneyHiveTracer]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def mask_emails(key: str, value: Any) -> Any:
    """The PII example of docs/privacy.md."""
    if isinstance(value, str):
        return EMAIL.sub("<email>", value)
    return value


def bodies(collector: Collector) -> bytes:
    out = []
    for request in collector.requests:
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        out.append(body)
    return b"\n".join(out)


def delivered(collector: Collector, tracer: HoneyHiveTracer, n: int) -> list[ReceivedSpan]:
    assert tracer.flush(timeout=5.0) is True
    received = collector.wait_for_spans(n)
    assert len(received) == n, collector.describe()
    return received


def named(received: list[ReceivedSpan], name: str) -> ReceivedSpan:
    (span,) = [s for s in received if s.name == name or s.name.endswith("." + name)]
    return span


# -- the mask hook ------------------------------------------------------------------------------


def test_the_mask_sees_every_captured_value_before_it_leaves(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(mask=mask_emails, inputs={"user": "ann@example.com"})

    @trace(tracer=tracer, event_type="model")
    def answer(question: str, customer: dict[str, Any]) -> dict[str, str]:
        tracer.enrich_span(metadata={"cc": "cc@example.com"}, outputs={"to": "out@example.com"})
        tracer.enrich_current_span({"reply_to": "rt@example.com"})
        return {"text": "Mail sent to bob@example.com"}

    with tracer.trace("handler", contact="carol@example.com") as span:
        span.set_attribute("raw", "dan@example.com")
        span.set_attribute("list", ("eve@example.com", "plain"))
        span.add_event("lookup", {"who": "fay@example.com"})
        answer("Is gil@example.com a customer?", {"email": "hal@example.com", "age": 42})
        linked = tracer.start_span(
            "linked", links=[Link(span.get_span_context(), {"by": "ivy@example.com"})]
        )
        linked.end()
    with pytest.raises(ValueError), tracer.trace("fails"):
        raise ValueError("no account for jo@example.com")
    tracer.enrich_session(inputs={"q": "kim@example.com"}, metadata={"owner": "lu@example.com"})
    tracer.create_event(
        "feedback", inputs={"from": "max@example.com"}, error="bounce to ned@example.com"
    )
    received = delivered(collector, tracer, 4)
    sent = bodies(collector)
    assert EMAIL.search(sent.decode("utf-8", "replace")) is None, "an address left the process"
    model = named(received, "answer")
    assert model.attributes["honeyhive_inputs.question"] == "Is <email> a customer?"
    assert model.attributes["honeyhive_inputs.customer.email"] == "<email>"
    assert model.attributes["honeyhive_inputs.customer.age"] == 42  # non-text values kept
    assert model.attributes["honeyhive_outputs.result.text"] == "Mail sent to <email>"
    handler = named(received, "handler")
    assert handler.attributes["list"] == ["<email>", "plain"]
    assert handler.events[0].attributes["who"] == "<email>"
    failing = named(received, "fails")
    assert failing.status_message == "ValueError: no account for <email>"
    assert failing.events[0].attributes["exception.message"] == "no account for <email>"
    assert named(received, "linked").links[0].attributes["by"] == "<email>"
    assert collector.sessions[0]["inputs"] == {"user": "<email>"}
    assert collector.event_updates[-1]["metadata"] == {
        "owner": "<email>",
        "inputs": {"q": "<email>"},
    }
    (event,) = collector.events
    assert event["inputs"] == {"from": "<email>"}
    assert event["error"] == "bounce to <email>"
    # the SDK's own linkage is not the mask's to change
    assert handler.attributes["honeyhive.session_id"] == tracer.session_id


def test_the_mask_never_sees_the_evaluation_linkage(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    from opentelemetry import baggage
    from opentelemetry import context as otel_context

    # A mask that keeps metadata private: it must not cut a span off its experiment run.
    tracer = make_tracer(mask=lambda key, value: None if "metadata" in key else value)
    ctx = baggage.set_baggage("run_id", "run-1", baggage.set_baggage("datapoint_id", "dp-7"))
    token = otel_context.attach(ctx)
    try:
        with tracer.trace("scored", secret_note="x") as span:
            tracer.enrich_span(metadata={"private": "p"})
    finally:
        otel_context.detach(token)
    (span,) = delivered(collector, tracer, 1)
    assert span.attributes["honeyhive_metadata.run_id"] == "run-1"
    assert span.attributes["honeyhive_metadata.datapoint_id"] == "dp-7"
    assert "honeyhive_metadata.private" not in span.attributes  # the mask's own choice


def test_a_mask_that_raises_costs_only_that_value_and_never_sends_it(
    collector: Collector, make_tracer: MakeTracer, caplog: pytest.LogCaptureFixture
) -> None:
    def mask(key: str, value: Any) -> Any:
        if key.endswith(".ssn"):
            raise RuntimeError(f"cannot mask {value}")  # the message must not be logged either
        if value == "drop me":
            return None  # the user's own choice: left out, not an error
        return value

    tracer = make_tracer(mask=mask)

    @trace(tracer=tracer)
    def register(person: dict[str, str]) -> str:
        return "ok"

    register({"name": "Ann", "ssn": "078-05-1120", "note": "drop me"})
    tracer.create_event("audit", inputs={"ssn": "219-09-9999", "kept": 1})
    (span,) = delivered(collector, tracer, 1)
    assert span.attributes["honeyhive_inputs.person.name"] == "Ann"
    assert "honeyhive_inputs.person.ssn" not in span.attributes
    assert "honeyhive_inputs.person.note" not in span.attributes
    assert span.attributes["honeyhive_outputs.result"] == "ok"
    assert span.attributes["honeyhive.mask_errors"] == 1
    assert collector.events[0]["inputs"] == {"kept": 1}
    assert tracer.dropped_values["mask_error"] == 2
    sent = bodies(collector)
    assert b"078-05-1120" not in sent
    assert b"219-09-9999" not in sent
    assert "078-05-1120" not in caplog.text
    assert "219-09-9999" not in caplog.text
    assert "mask hook raised RuntimeError" in caplog.text


def test_a_mask_that_raises_system_exit_costs_only_that_value_too(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    # The hook runs on the SDK's delivery thread: SystemExit there ended the thread, and with
    # it the delivery of every later span, without a count or a word.
    def mask(key: str, value: Any) -> Any:
        if value == "exit":
            sys.exit(3)
        return value

    tracer = make_tracer(mask=mask)
    with tracer.trace("first", note="exit", kept="yes"):
        pass
    with tracer.trace("second", note="fine"):
        pass
    tracer.create_event("audit", inputs={"note": "exit", "kept": 1})
    received = delivered(collector, tracer, 2)
    first, second = named(received, "first"), named(received, "second")
    assert "note" not in first.attributes
    assert first.attributes["kept"] == "yes"
    assert first.attributes["honeyhive.mask_errors"] == 1
    assert second.attributes["note"] == "fine"
    assert collector.events[0]["inputs"] == {"kept": 1}
    assert tracer.dropped_values["mask_error"] == 2


def test_the_mask_can_be_named_by_a_dotted_path_in_the_environment(
    collector: Collector,
    make_tracer: MakeTracer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    (tmp_path / "hh_privacy_example.py").write_text(
        textwrap.dedent(
            """
            def mask(key, value):
                return "***" if key.endswith(".phone") else value
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HH_MASK", "hh_privacy_example:mask")
    tracer = make_tracer()
    with tracer.trace("call", customer={"phone": "+1 555 0100", "city": "Oslo"}):
        pass
    (span,) = delivered(collector, tracer, 1)
    assert span.attributes["customer.phone"] == "***"
    assert span.attributes["customer.city"] == "Oslo"
    sys.modules.pop("hh_privacy_example", None)


def test_a_mask_that_is_not_callable_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"'mask'.*is not callable"):
        HoneyHiveTracer(test_mode=True, mask="json.__version__")
    with pytest.raises(ValueError, match=r"'mask'.*cannot import"):
        HoneyHiveTracer(test_mode=True, mask="no_such_package_hh.mask")
    with pytest.raises(ValueError, match=r"mask.*callable"):
        HoneyHiveTracer(test_mode=True, mask=42)  # type: ignore[arg-type]


# -- the API key --------------------------------------------------------------------------------

KEY = "hh_SENTINEL_key_0123456789"


def test_the_api_key_is_scrubbed_from_everything_exported(collector: Collector) -> None:
    tracer = HoneyHiveTracer(
        api_key=KEY, server_url=collector.url, project="p", schedule_delay=0.05
    )
    try:
        with tracer.trace(f"op {KEY}") as span:
            span.set_attribute("headers", ("Accept: */*", f"Authorization: Bearer {KEY}"))
            span.add_event(f"called with {KEY}", {"detail": f"key={KEY}", "api_key": "x"})
            linked = tracer.start_span("linked", links=[Link(span.get_span_context(), {"k": KEY})])
            linked.end()
        with pytest.raises(RuntimeError), tracer.trace("failing"):
            raise RuntimeError(f"rejected {KEY}")
        received = delivered(collector, tracer, 3)
    finally:
        tracer.close()
    sent = bodies(collector)
    assert b"SENTINEL" not in sent, "the API key left the process"
    op = next(s for s in received if s.name.startswith("op "))
    assert op.attributes["headers"] == ["Accept: */*", "Authorization: Bearer [REDACTED]"]
    assert op.events[0].name == "called with [REDACTED]"
    assert op.events[0].attributes["api_key"] == "[REDACTED]"  # a secret name, in an event too


def test_the_api_key_is_scrubbed_from_the_tracer_wide_attributes_too(
    collector: Collector,
) -> None:
    # A session named from a command line that carried the key, say.
    tracer = HoneyHiveTracer(
        api_key=KEY,
        server_url=collector.url,
        project="p",
        session_name=f"nightly --api-key {KEY}",
        source=f"ci-{KEY}",
        schedule_delay=0.05,
    )
    try:
        with tracer.trace("op"):
            pass
        (span,) = delivered(collector, tracer, 1)
    finally:
        tracer.close()
    assert b"SENTINEL" not in bodies(collector), "the API key left the process"
    assert span.attributes["honeyhive.session_name"] == "nightly --api-key [REDACTED]"
    assert span.attributes["honeyhive.source"] == "ci-[REDACTED]"


# -- editable lists -----------------------------------------------------------------------------


def test_secret_attribute_keys_can_be_extended_and_trimmed(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(redact_keys=["ssn", "date_of_birth", "-token$"])

    @trace(tracer=tracer)
    def enroll(ssn: str, profile: dict[str, str], token: str, password: str) -> None:
        pass

    enroll(
        "078-05-1120",
        {"customer_ssn": "219-09-9999", "dateOfBirth": "1970-01-01", "city": "Oslo"},
        token="visible-by-choice",
        password="pw-SENTINEL",
    )
    (span,) = delivered(collector, tracer, 1)
    inputs = {k: v for k, v in span.attributes.items() if k.startswith("honeyhive_inputs.")}
    assert inputs == {
        "honeyhive_inputs.ssn": "[REDACTED]",
        "honeyhive_inputs.profile.customer_ssn": "[REDACTED]",
        "honeyhive_inputs.profile.dateOfBirth": "[REDACTED]",
        "honeyhive_inputs.profile.city": "Oslo",
        "honeyhive_inputs.token": "visible-by-choice",
        "honeyhive_inputs.password": "[REDACTED]",  # the other defaults stay
    }
    assert b"SENTINEL" not in bodies(collector)


@pytest.mark.parametrize(
    ("setting", "edits", "fragment"),
    [
        ("redact_keys", ["-no_such_default"], "not a default"),
        ("redact_headers", ["-x-not-listed"], "not a default"),
        ("redact_query_params", [""], "non-empty"),
        ("redact_query_params", [7], "valid string"),
    ],
)
def test_a_bad_edit_is_refused_at_construction(
    setting: str, edits: list[Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment) as raised:
        HoneyHiveTracer(test_mode=True, **{setting: edits})
    assert setting in str(raised.value)


SESSION_PARAMS = {
    "sessionid": "SENTINEL-1",
    "PHPSESSID": "SENTINEL-2",
    "JSESSIONID": "SENTINEL-3",
    "sid": "SENTINEL-4",
    "SAMLResponse": "SENTINEL-5",
    "ticket": "SENTINEL-6",
    "oauth_verifier": "SENTINEL-7",
    "otp": "SENTINEL-8",
    "q": "kept",
}
SECRET_HEADERS = {
    "Baggage": "userId=SENTINEL-9",
    "DPoP": "SENTINEL-10",
    "X-JWT-Assertion": "SENTINEL-11",
    "Cf-Access-Jwt-Assertion": "SENTINEL-12",
    "X-Goog-IAP-JWT-Assertion": "SENTINEL-13",
    "X-Amzn-Oidc-Data": "SENTINEL-14",
    "X-Request-Id": "kept",
}


def _flask_app(tracer: HoneyHiveTracer) -> Flask:
    app = Flask("privacy")
    HoneyHive(
        app,
        tracer=tracer,
        capture_request_headers=[".*"],
        capture_response_headers=[".*"],
    )

    @app.get("/login")
    def login() -> Any:
        return "ok", 200, {"X-Session-Name": "visible", "X-Tenant": "acme"}

    return app


def test_session_parameters_and_token_headers_are_redacted_by_default(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer()
    response = (
        _flask_app(tracer)
        .test_client()
        .get("/login", query_string=SESSION_PARAMS, headers=SECRET_HEADERS)
    )
    assert response.status_code == 200
    response.close()  # the request span ends when the WSGI response is closed
    (span,) = delivered(collector, tracer, 1)
    assert b"SENTINEL" not in bodies(collector)
    query = dict(part.split("=", 1) for part in span.attributes["url.query"].split("&"))
    assert query == {**dict.fromkeys(SESSION_PARAMS, "[REDACTED]"), "q": "kept"}
    for header in SECRET_HEADERS:
        expected = ["kept"] if header == "X-Request-Id" else ["[REDACTED]"]
        assert span.attributes[f"http.request.header.{header.lower()}"] == expected


def test_header_and_query_lists_can_be_extended_and_trimmed(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(
        redact_query_params=["tenant", "-state"],
        redact_headers=["x-tenant", "-session"],
    )
    _flask_app(tracer).test_client().get(
        "/login?tenant=acme&state=visible&sid=SENTINEL", buffered=True
    )
    (span,) = delivered(collector, tracer, 1)
    assert span.attributes["url.query"] == "tenant=[REDACTED]&state=visible&sid=[REDACTED]"
    assert span.attributes["http.response.header.x-tenant"] == ["[REDACTED]"]
    assert span.attributes["http.response.header.x-session-name"] == ["visible"]


def test_outgoing_calls_use_the_tracers_query_list(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(disable_http_tracing=False, redact_query_params=["tenant"])
    with tracer.trace("caller"):
        httpx.get(f"{collector.url}/nowhere?tenant=acme&JSESSIONID=SENTINEL&page=2", timeout=5)
    received = delivered(collector, tracer, 2)
    (client,) = [s for s in received if s.kind == "CLIENT"]
    assert client.attributes["url.full"].endswith(
        "/nowhere?tenant=[REDACTED]&JSESSIONID=[REDACTED]&page=2"
    )


def test_the_pii_example_of_the_privacy_page_works_as_written(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "privacy.md").read_text()
    blocks = re.findall(r"```python[^\n]*\n(.*?)```", page, re.S)  # ```python runnable too
    (example,) = [b for b in blocks if "def mask" in b]
    monkeypatch.setenv("HH_API_URL", collector.url)
    scope: dict[str, Any] = {}
    exec(compile(example, "docs/privacy.md", "exec"), scope)  # our own documentation
    tracer: HoneyHiveTracer = scope["tracer"]
    try:

        @trace(tracer=tracer)
        def answer(question: str, customer: dict[str, str]) -> str:
            return f"Refund sent to {customer['email']}"

        answer(
            "Refund for ann@example.com, card 4111 1111 1111 1111",
            {"email": "ann@example.com", "phone": "+47 555 0100"},
        )
        (span,) = delivered(collector, tracer, 1)
    finally:
        tracer.close()
    assert span.attributes["honeyhive_inputs.question"] == "Refund for <email>, card <card>"
    assert span.attributes["honeyhive_inputs.customer.email"] == "<email>"
    assert "honeyhive_inputs.customer.phone" not in span.attributes
    assert span.attributes["honeyhive_outputs.result"] == "Refund sent to <email>"

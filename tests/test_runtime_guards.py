"""At run time nothing raises into user code and nothing is lost beyond the one bad value.

Bad configuration is a ``ValueError`` at construction (see test_settings.py); everything a
program calls afterwards takes anything it is given: an argument of the wrong kind is left out
and counted, the rest of the call still happens, and the data arrives at the collector.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from opentelemetry import trace as otel_trace

import honeyhive
from honeyhive import HoneyHiveTracer, trace

from support.collector import Collector, ReceivedSpan

MakeTracer = Callable[..., HoneyHiveTracer]


class BadStr:
    """An object whose str() and repr() raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


class BadMapping(dict[str, Any]):
    """A mapping whose every way of being read raises."""

    def items(self) -> Any:
        raise RuntimeError("no items")

    def keys(self) -> Any:
        raise RuntimeError("no keys")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iter")

    def __len__(self) -> int:
        raise RuntimeError("no len")


class BadError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("an exception that cannot describe itself")


def spans(collector: Collector, tracer: HoneyHiveTracer, n: int) -> list[ReceivedSpan]:
    assert tracer.flush(timeout=5.0) is True
    received = collector.wait_for_spans(n)
    assert len(received) == n, collector.describe()
    return received


def named(received: list[ReceivedSpan], name: str) -> ReceivedSpan:
    (span,) = [s for s in received if s.name == name]
    return span


# -- the calls the audit found raising, each next to a good value that must still arrive --------


def _attr(name: str, key: str) -> Callable[[Collector], Any]:
    return lambda c: next(s for s in c.spans if s.name == name).attributes.get(key)


def _update(field: str) -> Callable[[Collector], Any]:
    return lambda c: c.event_updates[-1].get(field)


def _event(field: str) -> Callable[[Collector], Any]:
    return lambda c: c.events[-1].get(field)


OK = {"ok": 1}
# (the call, where its good value must be found, what must be found there)
CALLS: dict[str, tuple[Callable[[HoneyHiveTracer], Any], Callable[[Collector], Any], Any]] = {
    "enrich_span(attributes=list)": (
        lambda t: t.enrich_span(attributes=[1, 2], metadata=OK),
        _attr("outer", "honeyhive_metadata.ok"),
        1,
    ),
    "enrich_span(error=bad str)": (
        lambda t: t.enrich_span(error=BadStr(), metadata=OK),
        _attr("outer", "honeyhive_metadata.ok"),
        1,
    ),
    "enrich_span(metadata=int)": (
        lambda t: t.enrich_span(metadata=5, metrics=OK),
        _attr("outer", "honeyhive_metrics.ok"),
        1,
    ),
    "enrich_current_span(int)": (
        lambda t: t.enrich_current_span(5),
        _attr("outer", "honeyhive.session_id"),
        None.__class__,  # any session: the span arrived
    ),
    "enrich_session(metadata=int)": (
        lambda t: t.enrich_session(metadata=5, feedback=OK),
        _update("feedback"),
        OK,
    ),
    "enrich_session(inputs=int)": (
        lambda t: t.enrich_session(inputs=5, metrics=OK),
        _update("metrics"),
        OK,
    ),
    "enrich_session(metadata=unreadable)": (
        lambda t: t.enrich_session(metadata=BadMapping(), feedback=OK),
        _update("feedback"),
        OK,
    ),
    "enrich_session(metadata={bad key: 1})": (
        lambda t: t.enrich_session(metadata={BadStr(): 1, "ok": 1}),
        _update("metadata"),
        OK,
    ),
    "create_event(inputs=unreadable)": (
        lambda t: t.create_event("e", inputs=BadMapping(), outputs=OK),
        _event("outputs"),
        OK,
    ),
    "create_event(inputs={bad key: 1})": (
        lambda t: t.create_event("e", inputs={BadStr(): 1, "ok": 1}),
        _event("inputs"),
        OK,
    ),
    "create_event(metadata=int)": (
        lambda t: t.create_event("e", metadata=5, outputs=OK),
        _event("outputs"),
        OK,
    ),
    "create_event(error=bad str)": (
        lambda t: t.create_event("e", error=BadStr(), outputs=OK),
        _event("outputs"),
        OK,
    ),
    "trace(data=unreadable)": (
        lambda t: t.trace("x", data=BadMapping(), ok=1).__enter__(),
        _attr("x", "ok"),
        1,
    ),
    "trace(data={bad key: 1})": (
        lambda t: t.trace("x", data={BadStr(): 1}, ok=1).__enter__(),
        _attr("x", "ok"),
        1,
    ),
    "start_span(attributes=int)": (
        lambda t: t.start_span("s", attributes=5, kind="server").end(),
        _attr("s", "honeyhive.session_id"),
        None.__class__,
    ),
    "inject(carrier=int)": (
        lambda t: t.inject(5),
        _attr("outer", "honeyhive.session_id"),
        None.__class__,
    ),
    "flush(timeout=str)": (
        lambda t: t.flush("soon"),
        _attr("outer", "honeyhive.session_id"),
        None.__class__,
    ),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_bad_argument_never_raises_and_the_rest_of_the_call_arrives(
    collector: Collector, tracer: HoneyHiveTracer, name: str
) -> None:
    call, where, expected = CALLS[name]
    with tracer.trace("outer"):
        call(tracer)
        current = otel_trace.get_current_span()
        if current.name != "outer":  # type: ignore[attr-defined]
            current.end()  # the trace("x") variants entered a span and left it open
    assert tracer.flush(5.0)
    found = where(collector)
    if expected is None.__class__:
        assert found is not None
    else:
        assert found == expected
    assert sum(tracer.dropped.values()) == 0


def test_good_values_next_to_bad_ones_arrive_and_the_bad_ones_are_counted(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    with tracer.trace("outer"):
        assert tracer.enrich_span(attributes=[1, 2], metadata={"plan": "pro"}) is True  # type: ignore[arg-type]
        assert tracer.enrich_span(error=BadStr()) is True  # type: ignore[arg-type]
        with tracer.trace("inner", data={BadStr(): "hidden"}, unreadable=BadMapping(), ok=1):
            pass
    tracer.enrich_session(metadata=5, feedback={"rating": 5})  # type: ignore[arg-type]
    tracer.enrich_session(metadata={BadStr(): "hidden", "tier": "gold"})
    tracer.create_event("evt", inputs=BadMapping(), outputs={"answer": 42})
    received = spans(collector, tracer, 2)
    outer, inner = named(received, "outer"), named(received, "inner")
    assert outer.attributes["honeyhive_metadata.plan"] == "pro"
    assert outer.attributes["honeyhive_error"].startswith("<unprintable BadStr")
    assert inner.attributes["ok"] == 1
    assert inner.attributes["unreadable"] == "<unreadable BadMapping: RuntimeError>"
    assert not [k for k in inner.attributes if k.startswith("data.")]  # unreadable key: left out
    assert inner.attributes["honeyhive.truncated"] == 2
    updates = collector.event_updates
    assert {"feedback": {"rating": 5}}.items() <= updates[0].items()
    assert updates[1]["metadata"] == {"tier": "gold"}
    (event,) = collector.events
    assert event["outputs"] == {"answer": 42}
    assert event["inputs"] == "<unreadable BadMapping: RuntimeError>"
    assert tracer.dropped_values["invalid_argument"] == 2
    assert b"hidden" not in b"".join(r.body for r in collector.requests)


def _strict_json(body: bytes) -> Any:
    """JSON as RFC 8259 has it (what a JavaScript or Go backend parses): no NaN, no Infinity."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON: the backend would refuse the whole body")

    return json.loads(body, parse_constant=refuse)


def test_non_finite_numbers_never_make_an_api_body_invalid_json(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    nan, inf = float("nan"), float("inf")
    tracer = make_tracer(inputs={"temperature": nan})
    tracer.create_event("score", inputs={"q": "refunds"}, metrics={"loss": nan, "best": inf})
    tracer.create_event("timed", duration=nan, outputs={"ok": 1})
    tracer.enrich_session(metrics={"worst": -inf}, feedback={"rating": 5})
    masked = make_tracer(mask=lambda key, value: nan if key == "metrics.score" else value)
    masked.enrich_session(metrics={"score": 1.0, "kept": 2})
    assert tracer.flush(5.0)
    assert masked.flush(5.0)
    calls = [r for r in collector.requests if r.path in ("/events/batch", "/events")]
    assert all(r.response_status == 200 for r in calls)  # none refused
    bodies = [_strict_json(r.body) for r in calls]
    batched = [e for b in bodies for e in b.get("events", [])]
    sessions = [e for e in batched if e.get("event_type") == "session"]
    assert len(sessions) == 2
    assert {"temperature": "NaN"} in [s.get("inputs") for s in sessions]
    (score,) = [e for e in batched if e.get("event_name") == "score"]
    assert score["metrics"] == {"loss": "NaN", "best": "Infinity"}
    (timed,) = [e for e in batched if e.get("event_name") == "timed"]
    assert "duration" not in timed  # left out, counted
    assert timed["outputs"] == {"ok": 1}
    updates = [b for b in bodies if "event_id" in b and "events" not in b]
    assert len(updates) == 2
    assert {"worst": "-Infinity"} in [u.get("metrics") for u in updates]
    assert {"score": "NaN", "kept": 2} in [u.get("metrics") for u in updates]
    assert tracer.dropped_values["invalid_argument"] == 1


def test_span_names_that_are_not_strings_never_cost_the_batch(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    with tracer.trace(None):  # type: ignore[arg-type]
        pass
    with tracer.trace(123):  # type: ignore[arg-type]
        pass
    tracer.start_span(BadStr()).end()  # type: ignore[arg-type]
    with tracer.trace("ordinary") as span:
        span.update_name(4.5)  # type: ignore[arg-type]
    with tracer.trace("kept"):
        pass
    received = spans(collector, tracer, 5)
    assert sorted(s.name for s in received) == [
        "123",
        "4.5",
        "<unprintable BadStr: str() raised RuntimeError>",
        "None",
        "kept",
    ]
    assert sum(tracer.dropped.values()) == 0


def test_times_of_the_wrong_kind_never_cost_the_batch(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    with tracer.trace("kept"):
        pass
    tracer.start_span("ends soon").end(end_time="soon")  # type: ignore[arg-type]
    tracer.start_span("ends at a float").end(end_time=1.5e18)  # type: ignore[arg-type]
    tracer.start_span("ends before 1970").end(end_time=-5)
    tracer.start_span("starts after 2554", start_time=2**70).end()
    with tracer.trace("events") as span:
        span.add_event("negative", timestamp=-1)
    received = spans(collector, tracer, 6)
    for span in received:  # each arrived, with times the protocol can carry
        assert 0 < span.start_time_unix_nano <= span.end_time_unix_nano, span.name
    assert all(e.time_unix_nano > 0 for e in named(received, "events").events)
    assert tracer.dropped_values["invalid_argument"] == 5
    assert sum(tracer.dropped.values()) == 0


@pytest.mark.internal_errors_expected
def test_a_span_that_cannot_be_encoded_costs_only_itself(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    # An instrumentor's span (the OpenTelemetry SDK's own class, which takes any end time).
    instrumentor = tracer.provider.get_tracer("an.instrumentor")
    for i in range(10):
        with tracer.trace(f"ours-{i}"):
            pass
    instrumentor.start_span("broken").end(end_time=-1)
    assert tracer.flush(5.0) is False  # honest: one span was lost
    received = collector.wait_for_spans(10)
    assert sorted(s.name for s in received) == sorted(f"ours-{i}" for i in range(10))
    assert tracer.dropped["internal_error"] == 1


def test_an_exception_that_cannot_describe_itself_still_marks_its_span(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace(tracer=tracer)
    def fails() -> None:
        raise BadError()

    with pytest.raises(BadError):
        fails()
    with pytest.raises(BadError), tracer.trace("block"):
        raise BadError()
    for span in spans(collector, tracer, 2):
        assert span.status_code == "ERROR", span.name
        assert span.attributes["honeyhive_error_type"] == "BadError"
        assert "str() raised RuntimeError" in span.attributes["honeyhive_error"]
        assert [e.name for e in span.events] == ["exception"]


# -- every public run-time method, with every kind of hostile argument ----------------------------

HOSTILE: list[Any] = [None, 5, "x", [1, 2], BadStr(), BadMapping(), {BadStr(): 1}, float("nan")]
_NOT_RUNTIME = {"init"}  # construction: bad configuration is a ValueError there, by design


def _public_methods() -> list[str]:
    names = []
    for name, member in inspect.getmembers(HoneyHiveTracer):
        if name.startswith("_") or name in _NOT_RUNTIME or isinstance(member, property):
            continue
        if callable(member):
            names.append(name)
    return sorted(names)


@pytest.mark.parametrize("method", _public_methods())
def test_no_public_method_raises_whatever_it_is_given(
    collector: Collector, make_tracer: MakeTracer, method: str
) -> None:
    tracer = make_tracer(test_mode=True)  # the whole pipeline, encoding included; no network
    parameters = [
        p
        for p in inspect.signature(getattr(tracer, method)).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    required = {p.name: "ok" for p in parameters if p.default is p.empty}
    with tracer.trace("outer"):
        for parameter in parameters:
            for value in HOSTILE:
                result = getattr(tracer, method)(**{**required, parameter.name: value})
                if inspect.iscoroutine(result):  # acreate_session
                    result = asyncio.run(result)
                if method == "link":
                    tracer.unlink(result)
                elif method == "trace":
                    with result:
                        pass
                elif method == "start_span":
                    result.end()
    assert tracer.flush(5.0) or method == "close"


def test_a_call_that_does_not_fit_the_signature_is_still_a_type_error(
    tracer: HoneyHiveTracer,
) -> None:
    with pytest.raises(TypeError):
        tracer.create_event()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        tracer.enrich_span(*range(12))  # type: ignore[misc]
    with pytest.raises(TypeError):
        tracer.create_session(unknown=1)  # type: ignore[call-arg]


def test_module_level_functions_take_anything(honeyhive_capture: Any) -> None:
    for value in HOSTILE:
        assert honeyhive.enrich_request_span(value) is False  # outside a request
    with honeyhive_capture.tracer.trace("outer"):
        pass


_SPAN_METHODS = [
    "add_event",
    "add_link",
    "end",
    "get_span_context",
    "is_recording",
    "record_exception",
    "set_attribute",
    "set_attributes",
    "set_status",
    "update_name",
]


@pytest.mark.parametrize("method", _SPAN_METHODS)
def test_no_method_of_our_span_raises_whatever_it_is_given(
    collector: Collector, tracer: HoneyHiveTracer, method: str
) -> None:
    with tracer.trace("target") as span:
        function = getattr(span, method)
        parameters = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        required = {p.name: "ok" for p in parameters if p.default is p.empty}
        for parameter in parameters:
            for value in HOSTILE:
                function(**{**required, parameter.name: value})
    received = spans(collector, tracer, 1)
    assert received[0].attributes["honeyhive.session_id"]

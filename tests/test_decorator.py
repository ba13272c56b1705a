"""``@trace`` / ``@atrace``: spans around sync and async functions, generators and async
generators, what they capture, how errors are recorded and which tracer they use.

Everything is checked at the loopback collector, i.e. as the backend receives it.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

import pytest
from opentelemetry import trace as otel_trace

import honeyhive
from honeyhive import HoneyHiveTracer, atrace, get_default_tracer, set_default_tracer, trace
from honeyhive._diagnostics import internal_error_count

from support.collector import Collector, ReceivedSpan

MakeTracer = Callable[..., HoneyHiveTracer]


# -- helpers --------------------------------------------------------------------------------------


def spans_of(collector: Collector, tracer: HoneyHiveTracer, n: int) -> list[ReceivedSpan]:
    assert tracer.flush(timeout=5.0) is True
    spans = collector.wait_for_spans(n)
    assert len(spans) == n, collector.describe()
    assert collector.duplicates == 0
    return spans


def one(collector: Collector, tracer: HoneyHiveTracer) -> ReceivedSpan:
    (span,) = spans_of(collector, tracer, 1)
    return span


def named(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name or s.name.endswith("." + name)]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def exception_events(span: ReceivedSpan) -> list[Any]:
    return [e for e in span.events if e.name == "exception"]


def inputs(span: ReceivedSpan) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith("honeyhive_inputs.")}


def all_request_bodies(collector: Collector) -> bytes:
    bodies = []
    for request in collector.requests:
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        bodies.append(body)
    return b"\n".join(bodies)


class Boom(Exception):
    pass


# -- naming and forms -----------------------------------------------------------------------------


def test_bare_decorator_names_the_span_after_the_qualified_name(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
    assert add.__name__ == "add"  # functools.wraps
    span = one(collector, tracer)
    assert span.name == "test_bare_decorator_names_the_span_after_the_qualified_name.<locals>.add"
    assert span.attributes["honeyhive_inputs.a"] == 2
    assert span.attributes["honeyhive_inputs.b"] == 3
    assert span.attributes["honeyhive_outputs.result"] == 5
    assert span.attributes["honeyhive.session_id"] == tracer.session_id
    assert span.attributes["honeyhive.project"] == tracer.project
    assert "honeyhive_event_name" not in span.attributes
    assert span.status_code == "UNSET"


def test_decorator_with_arguments(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace(tracer=tracer, event_type="model", event_name="generate")
    def generate(prompt: str) -> str:
        return prompt.upper()

    @trace()
    def empty_parentheses() -> int:
        return 1

    assert generate("hi") == "HI"
    assert empty_parentheses() == 1
    spans = spans_of(collector, tracer, 2)
    span = named(spans, "generate")
    assert span.attributes["honeyhive_event_name"] == "generate"
    assert span.attributes["honeyhive_event_type"] == "model"
    assert span.attributes["honeyhive.event_type"] == "model"
    named(spans, "empty_parentheses")


def test_methods_do_not_capture_self_or_cls(collector: Collector, tracer: HoneyHiveTracer) -> None:
    class Agent:
        secret_state = "do-not-capture"

        @trace
        def run(self, task: str) -> str:
            return f"ran {task}"

        @classmethod
        @trace
        def build(cls, name: str) -> str:
            return name

    assert Agent().run("x") == "ran x"
    assert Agent.build("b") == "b"
    spans = spans_of(collector, tracer, 2)
    run = named(spans, "Agent.run")
    assert inputs(run) == {"honeyhive_inputs.task": "x"}
    assert inputs(named(spans, "Agent.build")) == {"honeyhive_inputs.name": "b"}
    assert b"do-not-capture" not in all_request_bodies(collector)


def test_trace_above_classmethod_and_staticmethod(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    class Agent:
        @trace(tracer=tracer)
        @classmethod
        def build(cls, name: str) -> str:
            return f"{cls.__name__} {name}"

        @trace(tracer=tracer)
        @staticmethod
        def helper(value: int) -> int:
            return value + 1

        @trace(tracer=tracer)
        @classmethod
        async def abuild(cls, name: str) -> str:
            return name

    assert Agent.build("b") == "Agent b"
    assert Agent().build("i") == "Agent i"
    assert Agent.helper(1) == 2
    assert Agent().helper(2) == 3  # no instance slipped in as an argument
    assert asyncio.run(Agent().abuild("a")) == "a"
    spans = spans_of(collector, tracer, 5)
    assert [inputs(s) for s in spans if s.name.endswith("build")] == [
        {"honeyhive_inputs.name": "b"},
        {"honeyhive_inputs.name": "i"},
        {"honeyhive_inputs.name": "a"},
    ]
    assert [s.attributes["honeyhive_outputs.result"] for s in spans if "helper" in s.name] == [
        2,
        3,
    ]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"tracer": "my-tracer"}, "tracer"),
        ({"tracer": object()}, "tracer"),
        ({"event_type": 5}, "event_type"),
        ({"event_type": ["model"]}, "event_type"),
        ({"event_name": 5}, "event_name"),
    ],
)
def test_decorator_settings_of_the_wrong_kind_are_refused_when_applied(
    arguments: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        trace(**arguments)


def test_trace_given_something_that_is_not_a_function_says_so() -> None:
    with pytest.raises(ValueError, match="callable"):
        trace(5)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="event type twice"):
        trace("model", event_type="tool")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        trace(event_type="tool", colour="red")  # type: ignore[call-overload]


def test_a_block_event_type_that_is_not_text_is_left_out_and_counted(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    class Kind:
        def __repr__(self) -> str:
            return "<kind>"

    with tracer.trace("odd", event_type=Kind()):  # type: ignore[arg-type]
        pass
    with tracer.trace("listed", event_type=["model"]):  # type: ignore[arg-type]
        pass
    for span in spans_of(collector, tracer, 2):
        assert "honeyhive.event_type" not in span.attributes, span.attributes
        assert "honeyhive_event_type" not in span.attributes  # as if it had not been given
    assert tracer.dropped_values["invalid_argument"] == 2


@pytest.mark.parametrize(
    ("given", "wire"),
    [("model", "model"), ("tool", "tool"), ("chain", "chain"), ("retriever", "tool")],
)
def test_event_type_mapping(
    collector: Collector, tracer: HoneyHiveTracer, given: str, wire: str
) -> None:
    @trace(event_type=given)
    def step() -> None:
        pass

    step()
    span = one(collector, tracer)
    assert span.attributes["honeyhive_event_type"] == wire
    assert span.attributes["honeyhive.event_type"] == given


def test_atrace_alias(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @atrace(event_type="chain")
    async def pipeline(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @atrace
    def sync_too(x: int) -> int:
        return x

    assert asyncio.run(pipeline(4)) == 8
    assert sync_too(1) == 1
    spans = spans_of(collector, tracer, 2)
    span = named(spans, "pipeline")
    assert span.attributes["honeyhive_outputs.result"] == 8
    assert span.attributes["honeyhive_event_type"] == "chain"


# -- async functions ------------------------------------------------------------------------------


def test_async_function(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace(event_type="tool")
    async def fetch(key: str) -> dict[str, Any]:
        with tracer.trace("inside"):
            await asyncio.sleep(0.01)
        return {"key": key, "values": [1, None, 3]}

    async def main() -> dict[str, Any]:
        before = otel_trace.get_current_span()
        result = await fetch("k")
        assert otel_trace.get_current_span() is before
        return result

    assert asyncio.run(main()) == {"key": "k", "values": [1, None, 3]}
    spans = spans_of(collector, tracer, 2)
    outer, inner = named(spans, "fetch"), named(spans, "inside")
    assert inner.parent_span_id == outer.span_id
    assert outer.duration_ms >= 10
    assert outer.attributes["honeyhive_outputs.result.key"] == "k"
    assert outer.attributes["honeyhive_outputs.result.values.0"] == 1
    assert "honeyhive_outputs.result.values.1" not in outer.attributes  # None skipped
    assert outer.attributes["honeyhive_outputs.result.values.2"] == 3


# -- exceptions -----------------------------------------------------------------------------------


def test_exception_in_sync_function(collector: Collector, tracer: HoneyHiveTracer) -> None:
    calls = []
    error = Boom("Tracer error: this message must not make the SDK run the function again")

    @trace
    def fails(x: int) -> None:
        calls.append(x)
        raise error

    with pytest.raises(Boom) as raised:
        fails(1)
    assert raised.value is error
    assert calls == [1]
    span = one(collector, tracer)  # exactly one span: no extra "<name>_error" span
    assert span.status_code == "ERROR"
    (event,) = exception_events(span)
    assert event.attributes["exception.type"].endswith("Boom")
    assert event.attributes["exception.message"] == str(error)
    assert "fails" in event.attributes["exception.stacktrace"]
    assert span.attributes["honeyhive_error"] == str(error)
    assert span.attributes["honeyhive_error_type"] == "Boom"
    assert "honeyhive_outputs.result" not in span.attributes


def test_exception_in_async_function(collector: Collector, tracer: HoneyHiveTracer) -> None:
    calls = []
    error = Boom("async failure")

    @trace
    async def fails() -> None:
        calls.append(1)
        await asyncio.sleep(0)
        raise error

    async def main() -> None:
        with pytest.raises(Boom) as raised:
            await fails()
        assert raised.value is error

    asyncio.run(main())
    assert calls == [1]
    span = one(collector, tracer)
    assert span.status_code == "ERROR"
    assert len(exception_events(span)) == 1


def test_exception_through_nested_decorated_calls(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    """Each span the exception crosses is ERROR with the exception recorded once."""
    error = Boom("deep")

    @trace
    def inner() -> None:
        raise error

    @trace
    def outer() -> None:
        inner()

    with pytest.raises(Boom) as raised:
        outer()
    assert raised.value is error
    spans = spans_of(collector, tracer, 2)
    for span in spans:
        assert span.status_code == "ERROR"
        assert len(exception_events(span)) == 1
    assert named(spans, "inner").parent_span_id == named(spans, "outer").span_id


def test_base_exceptions_are_not_application_errors(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    span = one(collector, tracer)
    assert span.status_code == "UNSET"
    assert exception_events(span) == []


@pytest.mark.internal_errors_expected
def test_function_runs_exactly_once_when_the_sdk_fails(
    collector: Collector, tracer: HoneyHiveTracer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_start_span(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Tracer error: simulated SDK failure")

    monkeypatch.setattr(tracer._spans, "start", broken_start_span)
    before = internal_error_count()
    calls = []

    @trace
    def work(x: int) -> int:
        calls.append(x)
        return x + 1

    @trace
    def failing_work() -> None:
        calls.append("failing")
        raise Boom("user error")

    assert work(1) == 2
    with pytest.raises(Boom, match="user error"):
        failing_work()
    assert calls == [1, "failing"]
    assert otel_trace.get_current_span() is otel_trace.INVALID_SPAN
    assert internal_error_count() - before == 2  # the failure happened, once per call
    assert tracer.flush(5.0)
    assert collector.spans == []


# -- argument and result capture ------------------------------------------------------------------


def test_arguments_are_flattened(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace
    def configure(
        name: str,
        cfg: dict[str, Any],
        items: list[Any],
        nothing: Any,
        *extra: Any,
        flag: bool = False,
        **options: Any,
    ) -> None:
        pass

    configure(
        "n",
        {"k": 1, "nested": {"depth": 2.5}, "skip": None},
        ["a", {"b": True}, None],
        None,
        "x1",
        7,
        flag=True,
        temperature=0.2,
        obj=object,
    )
    attrs = inputs(one(collector, tracer))
    assert attrs["honeyhive_inputs.name"] == "n"
    assert attrs["honeyhive_inputs.cfg.k"] == 1
    assert attrs["honeyhive_inputs.cfg.nested.depth"] == 2.5
    assert attrs["honeyhive_inputs.items.0"] == "a"
    assert attrs["honeyhive_inputs.items.1.b"] is True
    assert attrs["honeyhive_inputs.extra.0"] == "x1"
    assert attrs["honeyhive_inputs.extra.1"] == 7
    assert attrs["honeyhive_inputs.flag"] is True
    assert attrs["honeyhive_inputs.temperature"] == 0.2
    assert isinstance(attrs["honeyhive_inputs.obj"], str)  # anything else is encoded
    for skipped in ("cfg.skip", "items.2", "nothing"):
        assert f"honeyhive_inputs.{skipped}" not in attrs


def test_return_values(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace
    def returns_none() -> None:
        return None

    @trace
    def returns_list() -> list[Any]:
        return [1, "two", {"three": 3}]

    @trace
    def returns_bool() -> bool:
        return False

    returns_none()
    returns_list()
    returns_bool()
    spans = spans_of(collector, tracer, 3)
    assert not any(
        k.startswith("honeyhive_outputs") for k in named(spans, "returns_none").attributes
    )
    listed = named(spans, "returns_list").attributes
    assert listed["honeyhive_outputs.result.0"] == 1
    assert listed["honeyhive_outputs.result.1"] == "two"
    assert listed["honeyhive_outputs.result.2.three"] == 3
    assert named(spans, "returns_bool").attributes["honeyhive_outputs.result"] is False


def test_secret_arguments_are_redacted_everywhere(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    secrets = {
        "password": "pw-SENTINEL-1",
        "api_key": "ak-SENTINEL-2",
        "token": "tk-SENTINEL-3",
        "authorization": "Bearer az-SENTINEL-4",
        "client_secret": "cs-SENTINEL-5",
        "refresh_token": "rt-SENTINEL-6",
    }

    @trace
    def login(
        user: str,
        password: str,
        api_key: str,
        token: str,
        authorization: str,
        headers: dict[str, str],
        **kw: str,
    ) -> dict[str, str]:
        return {"user": user, "api_key": "ak-SENTINEL-7", "session_token": "st-SENTINEL-8"}

    login(
        "alice",
        secrets["password"],
        secrets["api_key"],
        token=secrets["token"],
        authorization=secrets["authorization"],
        headers={"Authorization": "Bearer hd-SENTINEL-9", "Accept": "json"},
        client_secret=secrets["client_secret"],
        refresh_token=secrets["refresh_token"],
    )
    span = one(collector, tracer)
    attrs = span.attributes
    for name in secrets:
        assert attrs[f"honeyhive_inputs.{name}"] == "[REDACTED]"
    assert attrs["honeyhive_inputs.headers.Authorization"] == "[REDACTED]"
    assert attrs["honeyhive_inputs.headers.Accept"] == "json"
    assert attrs["honeyhive_inputs.user"] == "alice"
    assert attrs["honeyhive_outputs.result.api_key"] == "[REDACTED]"
    assert attrs["honeyhive_outputs.result.session_token"] == "[REDACTED]"
    assert attrs["honeyhive_outputs.result.user"] == "alice"
    # not-secret names that merely contain a secret word stay
    bodies = all_request_bodies(collector)
    assert b"SENTINEL" not in bodies, "a secret reached the backend"


def test_token_counts_are_not_mistaken_for_secrets(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def complete(max_tokens: int, prompt: str) -> dict[str, int]:
        return {"input_tokens": 3, "output_tokens": 5}

    complete(max_tokens=256, prompt="hi")
    attrs = one(collector, tracer).attributes
    assert attrs["honeyhive_inputs.max_tokens"] == 256
    assert attrs["honeyhive_outputs.result.input_tokens"] == 3


def test_long_values_are_cut_at_the_default_capture_length(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def echo(text: str) -> str:
        return text

    text = "a" * 20000 + "TAIL-MARKER"
    echo(text)
    attrs = one(collector, tracer).attributes
    for key in ("honeyhive_inputs.text", "honeyhive_outputs.result"):
        value = attrs[key]
        assert value.startswith("a" * 16384)
        assert "TAIL-MARKER" not in value
        assert len(value) < 16384 + 100
    assert b"TAIL-MARKER" not in all_request_bodies(collector)


def test_capture_max_length_is_settable(collector: Collector, make_tracer: MakeTracer) -> None:
    tracer = make_tracer(capture_max_length=50)

    @trace(tracer=tracer)
    def echo(text: str, nested: dict[str, str]) -> str:
        return text

    echo("b" * 49, {"deep": "c" * 200})
    echo("d" * 51, {"deep": "e"})
    spans = spans_of(collector, tracer, 2)
    short, long_ = sorted(spans, key=lambda s: s.attributes["honeyhive_inputs.text"][0])
    assert short.attributes["honeyhive_inputs.text"] == "b" * 49  # under the limit: whole
    deep = short.attributes["honeyhive_inputs.nested.deep"]
    assert deep.startswith("c" * 50)
    assert len(deep) < 200
    cut = long_.attributes["honeyhive_inputs.text"]
    assert cut.startswith("d" * 50)
    assert not cut.startswith("d" * 51)
    assert long_.attributes["honeyhive_outputs.result"] == cut


# -- generators -----------------------------------------------------------------------------------


def test_generator_span_covers_the_iteration(collector: Collector, tracer: HoneyHiveTracer) -> None:
    calls = []

    @trace(event_type="tool")
    def stream(n: int) -> Iterator[int]:
        calls.append(n)
        for i in range(n):
            with tracer.trace(f"item-{i}"):
                pass
            yield i

    with tracer.trace("consumer") as consumer:
        gen = stream(3)
        seen = []
        for item in gen:
            # nothing of the generator stays attached between items
            assert otel_trace.get_current_span() is consumer
            seen.append(item)
            with tracer.trace(f"between-{item}"):
                pass
    assert seen == [0, 1, 2]
    assert calls == [3]
    spans = spans_of(collector, tracer, 8)
    consumer_span, gen_span = named(spans, "consumer"), named(spans, "stream")
    assert gen_span.parent_span_id == consumer_span.span_id
    for i in range(3):
        item = named(spans, f"item-{i}")
        assert item.parent_span_id == gen_span.span_id  # made inside the body: children
        assert gen_span.start_time_unix_nano <= item.start_time_unix_nano
        assert item.end_time_unix_nano <= gen_span.end_time_unix_nano
        # made by the caller between items: children of the caller, not of the generator
        assert named(spans, f"between-{i}").parent_span_id == consumer_span.span_id
    assert gen_span.attributes["honeyhive_inputs.n"] == 3
    assert gen_span.status_code == "UNSET"


def test_generator_abandoned_early_ends_its_span_once(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    finalized = []

    @trace
    def endless() -> Iterator[int]:
        i = 0
        try:
            while True:
                yield i
                i += 1
        finally:
            finalized.append(otel_trace.get_current_span().is_recording())

    before = otel_trace.get_current_span()
    closed = endless()
    assert [next(closed), next(closed)] == [0, 1]
    closed.close()
    closed.close()  # closing twice is harmless

    dropped = endless()
    next(dropped)
    del dropped
    gc.collect()

    for i in endless():  # break out of a for loop
        if i == 3:
            break
    gc.collect()
    assert otel_trace.get_current_span() is before
    # the generator's own cleanup code runs with its span current
    assert finalized == [True, True, True]
    spans = spans_of(collector, tracer, 3)
    assert all(s.status_code == "UNSET" for s in spans)
    assert all(exception_events(s) == [] for s in spans)


def test_generator_raising_mid_iteration(collector: Collector, tracer: HoneyHiveTracer) -> None:
    error = Boom("broke at 2")
    calls = []

    @trace
    def fragile() -> Iterator[int]:
        calls.append(1)
        yield 1
        raise error

    gen = fragile()
    assert next(gen) == 1
    with pytest.raises(Boom) as raised:
        next(gen)
    assert raised.value is error
    assert calls == [1]
    span = one(collector, tracer)
    assert span.status_code == "ERROR"
    assert len(exception_events(span)) == 1


def test_generator_send_throw_and_return_value(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def accumulator() -> Any:
        total = 0
        while True:
            try:
                value = yield total
            except ValueError:
                value = 100
            if value is None:
                return total
            total += value

    gen = accumulator()
    assert next(gen) == 0
    assert gen.send(5) == 5
    assert gen.throw(ValueError("handled inside")) == 105
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == 105

    @trace
    def delegating() -> Any:
        result = yield from accumulator()
        return result * 2

    gen = delegating()
    next(gen)
    gen.send(1)
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == 2
    spans = spans_of(collector, tracer, 3)
    assert all(s.status_code == "UNSET" for s in spans)
    delegating_span = named(spans, "delegating")
    parents = sorted((s.parent_span_id or "") for s in spans if s.name.endswith(".accumulator"))
    assert parents == ["", delegating_span.span_id]


def test_generator_throw_that_escapes_marks_error(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def simple() -> Iterator[int]:
        yield 1
        yield 2

    gen = simple()
    next(gen)
    error = Boom("thrown in")
    with pytest.raises(Boom) as raised:
        gen.throw(error)
    assert raised.value is error
    span = one(collector, tracer)
    assert span.status_code == "ERROR"
    assert len(exception_events(span)) == 1


# -- async generators -----------------------------------------------------------------------------


def test_async_generator_span_covers_the_iteration(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace(event_type="model")
    async def tokens(n: int) -> AsyncIterator[str]:
        for i in range(n):
            with tracer.trace(f"token-{i}"):
                await asyncio.sleep(0)
            yield f"t{i}"

    async def main() -> list[str]:
        with tracer.trace("consumer") as consumer:
            out = []
            async for token in tokens(3):
                assert otel_trace.get_current_span() is consumer
                out.append(token)
            return out

    assert asyncio.run(main()) == ["t0", "t1", "t2"]
    spans = spans_of(collector, tracer, 5)
    consumer, gen = named(spans, "consumer"), named(spans, "tokens")
    assert gen.parent_span_id == consumer.span_id
    for i in range(3):
        token = named(spans, f"token-{i}")
        assert token.parent_span_id == gen.span_id
        assert token.end_time_unix_nano <= gen.end_time_unix_nano
    assert gen.attributes["honeyhive_event_type"] == "model"


def test_async_generator_abandoned_early_ends_its_span_once(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    async def endless() -> AsyncIterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    async def main() -> None:
        before = otel_trace.get_current_span()
        agen = endless()
        assert await agen.__anext__() == 0
        await agen.aclose()
        async for i in endless():
            if i == 2:
                break  # finalized by the event loop's async-generator hooks
        assert otel_trace.get_current_span() is before

    asyncio.run(main())  # shuts the abandoned generator down
    spans = spans_of(collector, tracer, 2)
    assert all(s.status_code == "UNSET" for s in spans)


def test_async_generator_raising(collector: Collector, tracer: HoneyHiveTracer) -> None:
    error = Boom("async gen broke")
    calls = []

    @trace
    async def fragile() -> AsyncIterator[int]:
        calls.append(1)
        yield 1
        raise error

    async def main() -> None:
        seen = []

        async def consume() -> None:
            async for item in fragile():
                seen.append(item)

        with pytest.raises(Boom) as raised:
            await consume()
        assert raised.value is error
        assert seen == [1]

    asyncio.run(main())
    assert calls == [1]
    span = one(collector, tracer)
    assert span.status_code == "ERROR"
    assert len(exception_events(span)) == 1


def test_async_generator_asend_and_athrow(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace
    async def echo() -> AsyncIterator[Any]:
        received = None
        while True:
            try:
                received = yield received
            except ValueError as exc:
                received = f"caught {exc}"

    async def main() -> None:
        agen = echo()
        assert await agen.asend(None) is None
        assert await agen.asend("x") == "x"
        assert await agen.athrow(ValueError("v")) == "caught v"
        await agen.aclose()

    asyncio.run(main())
    span = one(collector, tracer)
    assert span.status_code == "UNSET"


# -- which tracer ---------------------------------------------------------------------------------


def test_bare_decorator_uses_the_tracer_whose_span_is_current(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    first = make_tracer(project="first")
    second = make_tracer(project="second")

    @trace
    def step() -> None:
        pass

    step()  # no span current: the default tracer, i.e. the first one created
    with second.trace("second-parent"):
        step()
    with first.trace("first-parent"):
        step()
    assert first.flush(5.0)
    assert second.flush(5.0)
    spans = collector.wait_for_spans(5)
    steps = [s for s in spans if s.name.endswith("step")]
    by_parent = {s.parent_span_id: s.attributes["honeyhive.project"] for s in steps}
    second_parent = named(spans, "second-parent")
    first_parent = named(spans, "first-parent")
    assert by_parent == {
        None: "first",
        second_parent.span_id: "second",
        first_parent.span_id: "first",
    }
    session = {
        s.attributes["honeyhive.project"]: s.attributes["honeyhive.session_id"] for s in steps
    }
    assert session == {"first": first.session_id, "second": second.session_id}


def test_set_default_tracer(collector: Collector, make_tracer: MakeTracer) -> None:
    first = make_tracer(project="first")
    second = make_tracer(project="second")
    assert get_default_tracer() is first
    honeyhive.set_default_tracer(second)
    assert get_default_tracer() is second

    @trace
    def step() -> None:
        pass

    step()
    set_default_tracer(None)
    step()
    assert first.flush(5.0)
    assert second.flush(5.0)
    projects = sorted(s.attributes["honeyhive.project"] for s in collector.wait_for_spans(2))
    assert projects == ["first", "second"]


def test_a_default_tracer_that_is_not_a_tracer_is_refused(tracer: HoneyHiveTracer) -> None:
    with pytest.raises(ValueError, match="HoneyHiveTracer"):
        honeyhive.set_default_tracer("my-project")  # type: ignore[arg-type]
    assert get_default_tracer() is tracer  # unchanged


def test_explicit_tracer_beats_the_current_span(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    first = make_tracer(project="first")
    second = make_tracer(project="second")

    @trace(tracer=second)
    def pinned() -> None:
        pass

    with first.trace("outer"):
        pinned()
    assert first.flush(5.0)
    assert second.flush(5.0)
    spans = collector.wait_for_spans(2)
    assert named(spans, "pinned").attributes["honeyhive.project"] == "second"
    assert named(spans, "pinned").attributes["honeyhive.session_id"] == second.session_id


def test_no_tracer_at_all_runs_untraced(collector: Collector) -> None:
    assert get_default_tracer() is None, "a tracer from another test was left open"
    calls = []

    @trace(event_type="tool")
    def plain(x: int) -> int:
        calls.append(x)
        return x * 3

    @trace
    async def plain_async(x: int) -> int:
        return x

    @trace
    def plain_gen() -> Iterator[int]:
        yield 1

    assert plain(2) == 6
    assert asyncio.run(plain_async(5)) == 5
    assert list(plain_gen()) == [1]

    @trace
    def plain_failure() -> None:
        raise Boom("untraced")

    with pytest.raises(Boom, match="untraced"):
        plain_failure()
    assert calls == [2]
    assert collector.requests == []


def test_tracers_are_independent_and_survive_each_others_close(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    alpha = make_tracer(project="alpha", source="a-src")
    beta = make_tracer(project="beta", source="b-src")

    @trace(tracer=alpha)
    def on_alpha() -> str:
        return "a"

    @trace(tracer=beta)
    def on_beta() -> str:
        return "b"

    on_alpha()
    on_beta()
    assert alpha.flush(5.0)
    assert beta.flush(5.0)
    spans = collector.wait_for_spans(2)
    a, b = named(spans, "on_alpha"), named(spans, "on_beta")
    assert (a.attributes["honeyhive.project"], a.attributes["honeyhive.source"]) == (
        "alpha",
        "a-src",
    )
    assert (b.attributes["honeyhive.project"], b.attributes["honeyhive.source"]) == (
        "beta",
        "b-src",
    )
    assert a.attributes["honeyhive.session_id"] == alpha.session_id
    assert b.attributes["honeyhive.session_id"] == beta.session_id
    assert a.trace_id != b.trace_id

    alpha.close()
    assert on_alpha() == "a"  # still runs, untraced
    assert on_beta() == "b"
    assert beta.flush(5.0)
    spans = collector.wait_for_spans(3)
    assert len(spans) == 3
    assert sorted(s.attributes["honeyhive.project"] for s in spans) == ["alpha", "beta", "beta"]


def test_bare_decorator_after_default_tracer_closed_falls_to_the_next_open_one(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    first = make_tracer(project="first")
    second = make_tracer(project="second")

    @trace
    def step() -> None:
        pass

    first.close()
    step()
    assert second.flush(5.0)
    (span,) = collector.wait_for_spans(1)
    assert span.attributes["honeyhive.project"] == "second"


def test_bare_decorator_under_an_instrumentor_span_uses_that_spans_tracer(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    first = make_tracer(project="first")
    second = make_tracer(project="second")

    @trace
    def callback() -> None:
        pass

    instrumentation = second.provider.get_tracer("openinference.instrumentation.x")
    with instrumentation.start_as_current_span("llm-call") as llm:
        callback()
    with first.trace("first-outer"), instrumentation.start_as_current_span("nested-llm"):
        callback()  # the innermost current span decides: second's
    assert first.flush(5.0)
    assert second.flush(5.0)
    spans = collector.wait_for_spans(5)
    callbacks = {s.parent_span_id: s for s in spans if s.name.endswith("callback")}
    under_llm = callbacks[format(llm.get_span_context().span_id, "016x")]
    assert under_llm.attributes["honeyhive.project"] == "second"
    assert under_llm.attributes["honeyhive.session_id"] == second.session_id
    under_nested = callbacks[named(spans, "nested-llm").span_id]
    assert under_nested.attributes["honeyhive.project"] == "second"


# -- enrichment from inside -----------------------------------------------------------------------


def test_enrichment_inside_a_decorated_function(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def step() -> None:
        assert tracer.enrich_current_span({"custom": {"a": 1}}) is True
        assert tracer.enrich_span(metadata={"stage": "x"}, metrics={"score": 0.5}) is True

    step()
    assert tracer.enrich_current_span({"outside": 1}) is False  # nothing is recording
    attrs = one(collector, tracer).attributes
    assert attrs["custom.a"] == 1
    assert attrs["honeyhive_metadata.stage"] == "x"
    assert attrs["honeyhive_metrics.score"] == 0.5

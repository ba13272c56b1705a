"""Context semantics: threads, asyncio tasks, thread pools, nothing left attached, and
``link`` / ``unlink`` / ``inject`` across tracers.

Everything is checked at the loopback collector, i.e. as the backend receives it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from opentelemetry import baggage as otel_baggage
from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

import honeyhive
from honeyhive import HoneyHiveTracer, trace

from support.collector import Collector, ReceivedSpan

MakeTracer = Callable[..., HoneyHiveTracer]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
SESSION = "6d1a4f0e-3c9b-4b8e-9f3a-2a7c5e1d9b40"


def flushed(collector: Collector, n: int, *tracers: HoneyHiveTracer) -> list[ReceivedSpan]:
    for tracer in tracers:
        assert tracer.flush(timeout=5.0) is True
    spans = collector.wait_for_spans(n, timeout=10.0)
    assert len(spans) == n, collector.describe()
    assert collector.duplicates == 0
    return spans


def named(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def current() -> otel_trace.Span:
    return otel_trace.get_current_span()


@pytest.fixture(autouse=True)
def _context_is_clean_around_each_test() -> Iterator[None]:
    assert current() is otel_trace.INVALID_SPAN
    yield
    assert current() is otel_trace.INVALID_SPAN, "a test left a span attached"


# -- threads --------------------------------------------------------------------------------------


def test_ten_threads_fifty_calls_each(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace
    def work(thread: int, call: int) -> int:
        return thread * 100 + call

    errors: list[BaseException] = []
    barrier = threading.Barrier(10, timeout=10)

    def run(thread: int) -> None:
        try:
            with tracer.trace(f"thread-{thread}"):
                barrier.wait()  # all ten threads interleave their calls
                for call in range(50):
                    assert work(thread, call) == thread * 100 + call
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []
    spans = flushed(collector, 510, tracer)
    parents = {named(spans, f"thread-{i}").span_id: i for i in range(10)}
    calls = [s for s in spans if s.name.endswith(".work")]
    assert len(calls) == 500
    for span in calls:
        thread = parents[span.parent_span_id]  # the parent is its own thread's span
        assert span.attributes["honeyhive_inputs.thread"] == thread
        assert span.attributes["honeyhive_outputs.result"] // 100 == thread
    assert len({s.span_id for s in spans}) == 510


def test_a_plain_thread_starts_in_the_callers_context_by_default(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    """The API reference's example holds as written: span, session and baggage carry over."""
    seen: dict[str, Any] = {}

    def worker() -> None:
        seen["baggage"] = otel_baggage.get_baggage("tenant")
        with tracer.trace("in-thread"):
            pass

    token = otel_context.attach(otel_baggage.set_baggage("tenant", "acme"))
    try:
        with tracer.trace("caller"):
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join(timeout=5)
    finally:
        otel_context.detach(token)
    spans = flushed(collector, 2, tracer)
    assert named(spans, "in-thread").parent_span_id == named(spans, "caller").span_id
    assert seen["baggage"] == "acme"


def test_with_propagation_off_a_plain_thread_starts_empty(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    """The OpenTelemetry default, for whoever wants it (propagate_thread_context=False)."""
    tracer = make_tracer(propagate_thread_context=False)

    def worker() -> None:
        assert current() is otel_trace.INVALID_SPAN
        with tracer.trace("in-thread"):
            pass

    with tracer.trace("caller"):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=5)
    spans = flushed(collector, 2, tracer)
    assert named(spans, "in-thread").parent_span_id is None
    assert named(spans, "in-thread").trace_id != named(spans, "caller").trace_id


def test_propagate_thread_context_setting(collector: Collector, make_tracer: MakeTracer) -> None:
    tracer = make_tracer(propagate_thread_context=True)

    def worker() -> None:
        with tracer.trace("in-thread"):
            pass

    with tracer.trace("caller"):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=5)
    spans = flushed(collector, 2, tracer)
    assert named(spans, "in-thread").parent_span_id == named(spans, "caller").span_id


def test_propagate_thread_context_reaches_pool_tasks_without_leaking_between_them(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(propagate_thread_context=True)

    def task(name: str) -> None:
        with tracer.trace(name):
            pass

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with tracer.trace("request-1"):
            pool.submit(task, "task-1").result(timeout=5)
        pool.submit(task, "task-2").result(timeout=5)  # submitted outside any span
        with tracer.trace("request-3"):
            pool.submit(task, "task-3").result(timeout=5)
    spans = flushed(collector, 5, tracer)
    # each task runs in the context of the code that submitted it ...
    assert named(spans, "task-1").parent_span_id == named(spans, "request-1").span_id
    assert named(spans, "task-3").parent_span_id == named(spans, "request-3").span_id
    # ... and not in the context of whoever happened to start the worker thread
    assert named(spans, "task-2").parent_span_id is None


def test_propagate_thread_context_with_context_thread_pool_executor(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    """Both mechanisms at once: each task still runs exactly once, in the submitter's span."""
    tracer = make_tracer(propagate_thread_context=True)
    runs: list[int] = []

    @trace
    def task(i: int) -> None:
        runs.append(i)

    with honeyhive.ContextThreadPoolExecutor(max_workers=2) as pool:
        with tracer.trace("submitter"):
            for f in [pool.submit(task, i) for i in range(4)]:
                f.result(timeout=5)
        pool.submit(task, 99).result(timeout=5)
    assert sorted(runs) == [0, 1, 2, 3, 99]
    spans = flushed(collector, 6, tracer)
    submitter = named(spans, "submitter")
    for span in (s for s in spans if s.name.endswith(".task")):
        expected = None if span.attributes["honeyhive_inputs.i"] == 99 else submitter.span_id
        assert span.parent_span_id == expected


def test_pool_tasks_carry_their_submitters_context_by_default(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    """submit, map and loop.run_in_executor: each task in its submitter's context; a reused
    worker thread keeps nothing of one task for the next."""

    def task(name: str) -> Any:
        outer = current()
        with tracer.trace(name):
            pass
        return outer

    async def in_executor(pool: concurrent.futures.ThreadPoolExecutor) -> Any:
        loop = asyncio.get_running_loop()
        with tracer.trace("async-submitter"):
            await loop.run_in_executor(pool, task, "via-run-in-executor")
        return await loop.run_in_executor(pool, task, "after-async")

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        with tracer.trace("submitter"):
            pool.submit(task, "via-submit").result(timeout=5)
            list(pool.map(task, ["via-map-1", "via-map-2"]))
        assert pool.submit(task, "outside").result(timeout=5) is otel_trace.INVALID_SPAN
        assert asyncio.run(in_executor(pool)) is otel_trace.INVALID_SPAN
    spans = flushed(collector, 8, tracer)
    submitter = named(spans, "submitter").span_id
    for name in ("via-submit", "via-map-1", "via-map-2"):
        assert named(spans, name).parent_span_id == submitter
    assert (
        named(spans, "via-run-in-executor").parent_span_id
        == named(spans, "async-submitter").span_id
    )
    assert named(spans, "outside").parent_span_id is None
    assert named(spans, "after-async").parent_span_id is None


def test_with_propagation_off_a_pool_task_span_is_a_root(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(propagate_thread_context=False)

    def task() -> None:
        with tracer.trace("pooled"):
            pass

    with tracer.trace("submitter"), concurrent.futures.ThreadPoolExecutor(2) as pool:
        pool.submit(task).result(timeout=5)
    spans = flushed(collector, 2, tracer)
    pooled = named(spans, "pooled")
    assert pooled.parent_span_id is None
    assert pooled.trace_id != named(spans, "submitter").trace_id
    assert pooled.attributes["honeyhive.session_id"] == tracer.session_id


def test_propagate_context_carries_the_parent_into_a_pool(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def task(i: int) -> int:
        return i

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        with tracer.trace("batch-a"):
            futures = [pool.submit(honeyhive.propagate_context(task), i) for i in range(4)]
        with tracer.trace("batch-b"):
            futures += [pool.submit(honeyhive.propagate_context(task), i) for i in range(4, 8)]
        # the same worker threads, no context bound: roots
        futures += [pool.submit(task, i) for i in range(8, 10)]
        assert [f.result(timeout=5) for f in futures] == list(range(10))
    spans = flushed(collector, 12, tracer)
    a, b = named(spans, "batch-a"), named(spans, "batch-b")
    for span in (s for s in spans if s.name.endswith(".task")):
        i = span.attributes["honeyhive_inputs.i"]
        expected = a.span_id if i < 4 else b.span_id if i < 8 else None
        assert span.parent_span_id == expected, i


def test_context_thread_pool_executor(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace
    def task(i: int) -> int:
        assert current().is_recording()
        return i

    with honeyhive.ContextThreadPoolExecutor(max_workers=2) as pool:
        with tracer.trace("first"):
            f1 = [pool.submit(task, i) for i in range(3)]
            [f.result(timeout=5) for f in f1]
        f_none = pool.submit(lambda: current()).result(timeout=5)
        with tracer.trace("second"):
            f2 = [pool.submit(task, i) for i in range(3, 6)]
            [f.result(timeout=5) for f in f2]
    assert f_none is otel_trace.INVALID_SPAN  # nothing stays bound to a reused worker
    spans = flushed(collector, 8, tracer)
    first, second = named(spans, "first"), named(spans, "second")
    for span in (s for s in spans if s.name.endswith(".task")):
        i = span.attributes["honeyhive_inputs.i"]
        assert span.parent_span_id == (first.span_id if i < 3 else second.span_id)


# -- asyncio --------------------------------------------------------------------------------------


def test_concurrent_asyncio_tasks_keep_their_own_parent(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    async def step(request: int, n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def handle(request: int) -> None:
        with tracer.trace(f"request-{request}"):
            for n in range(5):
                await step(request, n)
                await asyncio.sleep(0)  # let the other requests run in between

    async def main() -> None:
        await asyncio.gather(*(handle(r) for r in range(8)))
        assert current() is otel_trace.INVALID_SPAN

    asyncio.run(main())
    spans = flushed(collector, 48, tracer)
    parents = {named(spans, f"request-{r}").span_id: r for r in range(8)}
    steps = [s for s in spans if s.name.endswith(".step")]
    assert len(steps) == 40
    for span in steps:
        assert parents[span.parent_span_id] == span.attributes["honeyhive_inputs.request"]


def test_create_task_inherits_the_current_span(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    async def child(i: int) -> None:
        await asyncio.sleep(0)

    @trace
    async def parent() -> None:
        await asyncio.gather(*(asyncio.create_task(child(i)) for i in range(3)))

    asyncio.run(parent())
    spans = flushed(collector, 4, tracer)
    (p,) = [s for s in spans if s.name.endswith(".parent")]
    assert all(s.parent_span_id == p.span_id for s in spans if s.name.endswith(".child"))


# -- nothing stays attached -----------------------------------------------------------------------


def test_nothing_stays_attached_after_blocks_and_calls(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace
    def ok() -> int:
        return 1

    @trace
    def fails() -> None:
        raise ValueError("x")

    @trace
    def gen() -> Iterator[int]:
        yield 1
        yield 2

    @trace
    async def coro(fail: bool) -> None:
        if fail:
            raise ValueError("y")

    with tracer.trace("outer") as outer:
        with tracer.trace("block"):
            pass
        assert current() is outer
        with pytest.raises(ValueError), tracer.trace("failing-block"):
            raise ValueError("z")
        assert current() is outer
        ok()
        assert current() is outer
        with pytest.raises(ValueError):
            fails()
        assert current() is outer
        g = gen()
        next(g)
        assert current() is outer
        del g
        assert current() is outer
        asyncio.run(coro(False))
        with pytest.raises(ValueError):
            asyncio.run(coro(True))
        assert current() is outer
        token = tracer.link({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
        tracer.unlink(token)
        assert current() is outer
    assert current() is otel_trace.INVALID_SPAN
    flushed(collector, 8, tracer)


def test_reused_thread_does_not_carry_a_previous_requests_session(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    """A worker thread serving one linked request after another: each request sees only its
    own session, and nothing remains between requests."""
    sessions = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"]

    def handle(session: str) -> otel_trace.Span:
        token = tracer.link({"baggage": f"session_id={session}"})
        try:
            with tracer.trace(f"request-{session[0]}"):
                pass
        finally:
            tracer.unlink(token)
        with tracer.trace(f"after-{session[0]}"):
            pass
        return current()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        leftovers = [pool.submit(handle, s).result(timeout=5) for s in sessions]
    assert leftovers == [otel_trace.INVALID_SPAN] * 2
    spans = flushed(collector, 4, tracer)
    assert named(spans, "request-1").attributes["honeyhive.session_id"] == sessions[0]
    assert named(spans, "request-2").attributes["honeyhive.session_id"] == sessions[1]
    for name in ("after-1", "after-2"):
        assert named(spans, name).attributes["honeyhive.session_id"] == tracer.session_id


# -- inject / link / unlink -----------------------------------------------------------------------


def _baggage(carrier: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in carrier["baggage"].split(","))


def test_inject_writes_traceparent_and_session_baggage(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(project="proj", source="staging")
    with tracer.trace("outgoing") as span:
        carrier = tracer.inject({"x-other": "kept"})
    ctx = span.get_span_context()
    version, trace_id, span_id, flags = carrier["traceparent"].split("-")
    assert (version, trace_id, span_id) == (
        "00",
        format(ctx.trace_id, "032x"),
        format(ctx.span_id, "016x"),
    )
    assert int(flags, 16) & 1  # sampled
    assert _baggage(carrier) == {
        "session_id": tracer.session_id,
        "project": "proj",
        "source": "staging",
    }
    assert carrier["x-other"] == "kept"

    empty = tracer.inject()
    assert "traceparent" not in empty  # no span current
    assert _baggage(empty)["session_id"] == tracer.session_id


def test_inject_with_a_custom_setter(collector: Collector, tracer: HoneyHiveTracer) -> None:
    class ListSetter:
        def set(self, carrier: list[tuple[str, str]], key: str, value: str) -> None:
            carrier.append((key, value))

    headers: list[tuple[str, str]] = []
    with tracer.trace("custom"):
        tracer.inject(headers, setter=ListSetter())  # type: ignore[arg-type]
    assert {k for k, _ in headers} == {"traceparent", "baggage"}


def test_a_second_tracer_joins_the_first_tracers_trace_and_session(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    upstream = make_tracer(project="frontend")
    downstream = make_tracer(project="backend")
    with upstream.trace("client-call") as client:
        carrier = upstream.inject({})

    @trace(tracer=downstream)
    def handler() -> None:
        with downstream.trace("db"):
            pass

    token = downstream.link(carrier)
    try:
        with downstream.trace("server"):
            handler()
    finally:
        downstream.unlink(token)
    with downstream.trace("own-work"):
        pass
    spans = flushed(collector, 5, upstream, downstream)
    client_span = named(spans, "client-call")
    server = named(spans, "server")
    assert server.trace_id == client_span.trace_id
    assert server.parent_span_id == format(client.get_span_context().span_id, "016x")
    joined = [server, named(spans, "db")] + [s for s in spans if s.name.endswith("handler")]
    for span in joined:
        assert span.trace_id == client_span.trace_id
        assert span.attributes["honeyhive.session_id"] == upstream.session_id
        assert span.attributes["traceloop.association.properties.session_id"] == (
            upstream.session_id
        )
        assert span.attributes["honeyhive.project"] == "backend"
    own = named(spans, "own-work")
    assert own.parent_span_id is None
    assert own.attributes["honeyhive.session_id"] == downstream.session_id


@pytest.mark.parametrize("alias", ["honeyhive_session_id", "honeyhive.session_id"])
def test_session_id_baggage_aliases(
    collector: Collector, tracer: HoneyHiveTracer, alias: str
) -> None:
    token = tracer.link(
        {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01", "baggage": f"{alias}={SESSION}"}
    )
    try:
        with tracer.trace("aliased"):
            assert otel_baggage.get_baggage("session_id") == SESSION
    finally:
        tracer.unlink(token)
    (span,) = flushed(collector, 1, tracer)
    assert span.attributes["honeyhive.session_id"] == SESSION
    assert (span.trace_id, span.parent_span_id) == (TRACE_ID, SPAN_ID)


def test_link_carries_evaluation_baggage(collector: Collector, tracer: HoneyHiveTracer) -> None:
    token = tracer.link(
        {"baggage": f"session_id={SESSION},run_id=run-9,dataset_id=ds-1,datapoint_id=dp-3"}
    )
    try:
        with tracer.trace("evaluated"):
            pass
    finally:
        tracer.unlink(token)
    (span,) = flushed(collector, 1, tracer)
    assert span.attributes["honeyhive_metadata.run_id"] == "run-9"
    assert span.attributes["honeyhive_metadata.dataset_id"] == "ds-1"
    assert span.attributes["honeyhive_metadata.datapoint_id"] == "dp-3"


def test_nested_links_unlink_in_order(collector: Collector, tracer: HoneyHiveTracer) -> None:
    outer = tracer.link({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
    inner = tracer.link({"traceparent": f"00-{'1' * 32}-{'2' * 16}-01"})
    with tracer.trace("inner-linked"):
        pass
    tracer.unlink(inner)
    with tracer.trace("outer-linked"):
        pass
    tracer.unlink(outer)
    spans = flushed(collector, 2, tracer)
    assert named(spans, "inner-linked").trace_id == "1" * 32
    assert named(spans, "outer-linked").trace_id == TRACE_ID


MALFORMED: list[dict[str, Any]] = [
    {"traceparent": "00-trace-id-span-id-01"},  # the reference's example
    {"traceparent": ""},
    {"traceparent": "garbage"},
    {"traceparent": f"00-{'0' * 32}-{SPAN_ID}-01"},  # all-zero trace id
    {"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"},  # all-zero span id
    {"traceparent": f"ff-{TRACE_ID}-{SPAN_ID}-01"},  # forbidden version
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-zz"},
    {"traceparent": "00-" + "g" * 32 + "-" + "h" * 16 + "-01"},
    {"traceparent": "x" * 100_000},
    {"traceparent": None},
    {"traceparent": 12345},
    {"traceparent": ["a", "b"]},
    {"baggage": "%%%,,=;;"},
    {"baggage": "session_id"},
    {"baggage": "=novalue"},
    {"baggage": "session_id=%ZZ"},
    {"baggage": "k=" + "v" * 100_000},
    {"baggage": ",".join(f"k{i}=v" for i in range(1000))},
    {"baggage": None},
    {"baggage": 3.5},
    {"baggage": ["session_id=a", 7]},
    {"baggage": "honeyhive_session_id="},
    {b"traceparent": b"bytes"},
    {},
]


@pytest.mark.parametrize("carrier", MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_malformed_carriers_never_raise(
    collector: Collector, tracer: HoneyHiveTracer, carrier: dict[str, Any]
) -> None:
    token = tracer.link(carrier)
    try:
        with tracer.trace("after-malformed"):
            pass
        tracer.inject({})
    finally:
        tracer.unlink(token)
    (span,) = flushed(collector, 1, tracer)
    assert span.parent_span_id is None  # nothing to join: a new trace
    assert span.attributes["honeyhive.session_id"] == tracer.session_id  # nothing leaked in


@pytest.mark.parametrize(
    "baggage", ["session_id=%ZZ", "session_id=a", "honeyhive_session_id=not-a-uuid"]
)
def test_a_session_id_that_is_not_a_uuid_is_ignored(
    collector: Collector, tracer: HoneyHiveTracer, baggage: str
) -> None:
    token = tracer.link({"baggage": baggage})
    try:
        with tracer.trace("after-bad-session"):
            pass
    finally:
        tracer.unlink(token)
    (span,) = flushed(collector, 1, tracer)
    assert span.attributes["honeyhive.session_id"] == tracer.session_id


def test_a_session_id_in_baggage_is_normalised_to_lower_case(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    token = tracer.link({"baggage": f"session_id={SESSION.upper()}"})
    try:
        with tracer.trace("upper"):
            pass
    finally:
        tracer.unlink(token)
    (span,) = flushed(collector, 1, tracer)
    assert span.attributes["honeyhive.session_id"] == SESSION
    assert span.attributes["traceloop.association.properties.session_id"] == SESSION


@pytest.mark.parametrize("carrier", MALFORMED[:4], ids=[str(i) for i in range(4)])
def test_malformed_link_carrier_at_init(
    collector: Collector, make_tracer: MakeTracer, carrier: dict[str, Any]
) -> None:
    tracer = make_tracer(link_carrier=carrier)
    with tracer.trace("root"):
        pass
    (span,) = flushed(collector, 1, tracer)
    assert span.parent_span_id is None


def test_unlink_of_a_foreign_token_does_not_raise_or_undo_the_real_link(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    token = tracer.link({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
    tracer.unlink(object())
    tracer.unlink(None)
    with tracer.trace("still-linked"):
        pass
    tracer.unlink(token)
    (span,) = flushed(collector, 1, tracer)
    assert (span.trace_id, span.parent_span_id) == (TRACE_ID, SPAN_ID)


def test_link_from_another_thread_does_not_affect_this_one(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    ready, release = threading.Event(), threading.Event()

    def linked_worker() -> None:
        token = tracer.link({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
        ready.set()
        release.wait(5)
        with tracer.trace("worker-linked"):
            pass
        tracer.unlink(token)

    thread = threading.Thread(target=linked_worker)
    thread.start()
    assert ready.wait(5)
    with tracer.trace("main-thread"):
        pass
    release.set()
    thread.join(5)
    spans = flushed(collector, 2, tracer)
    assert named(spans, "worker-linked").trace_id == TRACE_ID
    assert named(spans, "main-thread").trace_id != TRACE_ID
    assert named(spans, "main-thread").parent_span_id is None


def test_otel_context_api_sees_the_tracers_span(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    """Code that uses OpenTelemetry directly (e.g. an instrumentor) nests under our spans."""
    otel = tracer.provider.get_tracer("some.instrumentation")
    with tracer.trace("ours"), otel.start_as_current_span("theirs"):
        ctx = otel_context.get_current()
        assert otel_trace.get_current_span(ctx).is_recording()
    spans = flushed(collector, 2, tracer)
    assert named(spans, "theirs").parent_span_id == named(spans, "ours").span_id


def test_link_carrier_also_parents_start_span(make_tracer: Any, collector: Any) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    tracer = make_tracer(link_carrier={"traceparent": parent})
    with tracer.start_span("manual"):
        pass
    tracer.flush(5)
    (span,) = collector.wait_for_spans(1)
    assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent_span_id == "b7ad6b7169203331"

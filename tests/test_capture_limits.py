"""Capture limits: user data of any size costs what the limits cost, and what is cut is marked
in the value, counted on the span (``honeyhive.truncated``) and said once in the log.

Everything is checked at the loopback collector, i.e. as the backend receives it.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from honeyhive import HoneyHiveTracer, trace

from support.collector import Collector, ReceivedSpan

MakeTracer = Callable[..., HoneyHiveTracer]


def one(collector: Collector, tracer: HoneyHiveTracer) -> ReceivedSpan:
    assert tracer.flush(timeout=5.0) is True
    (span,) = collector.wait_for_spans(1)
    return span


def under(span: ReceivedSpan, prefix: str) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith(prefix)}


@pytest.fixture
def fresh_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """The truncation message is rate-limited process-wide: start each test with a new one."""
    try:
        from honeyhive._spans import _limits
    except ImportError:  # an SDK from before the limits (running these tests against it)
        return
    monkeypatch.setattr(_limits, "_reporter", _limits._Reporter())


def test_an_embedding_keeps_its_event_type_inputs_and_a_marked_head(
    collector: Collector,
    tracer: HoneyHiveTracer,
    caplog: pytest.LogCaptureFixture,
    fresh_report: None,
) -> None:
    @trace(tracer=tracer, event_type="model")
    def embed(text: str) -> list[float]:
        return [0.25] * 1536

    with caplog.at_level(logging.WARNING):
        embed("hello")
    span = one(collector, tracer)
    assert span.attributes["honeyhive_event_type"] == "model"
    assert span.attributes["honeyhive_inputs.text"] == "hello"
    outputs = under(span, "honeyhive_outputs.result.")
    assert len(outputs) == 33  # the default 32 items, and the marker in the 33rd place
    assert outputs["honeyhive_outputs.result.0"] == 0.25
    assert outputs["honeyhive_outputs.result.31"] == 0.25
    assert outputs["honeyhive_outputs.result.32"] == "...[truncated 1504 items]"
    assert span.attributes["honeyhive.truncated"] == 1
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines  # never a warning per element
    assert "honeyhive.truncated" in lines[0]
    assert ".embed'" in lines[0]


def test_a_million_element_argument_is_read_only_up_to_the_limit(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    class Counting(list[int]):
        """A list that counts how many of its elements are read."""

        reads = 0

        def __iter__(self) -> Iterator[int]:
            for item in super().__iter__():
                Counting.reads += 1
                yield item

        def __getitem__(self, index: Any) -> Any:
            result = super().__getitem__(index)
            Counting.reads += len(result) if isinstance(index, slice) else 1
            return result

    big = Counting(range(1_000_000))

    @trace(tracer=tracer)
    def total(values: list[int]) -> list[int]:
        return values

    assert total(big) is big
    span = one(collector, tracer)
    assert Counting.reads <= 2 * 32  # the argument and the result, 32 elements each
    assert len(under(span, "honeyhive_inputs.values.")) == 33
    assert span.attributes["honeyhive_inputs.values.32"] == "...[truncated 999968 items]"
    assert span.attributes["honeyhive_outputs.result.31"] == 31
    assert span.attributes["honeyhive.truncated"] == 2


def test_other_collections_of_a_million_are_read_only_up_to_the_limit(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    import array
    from collections import UserList, deque

    million = range(1_000_000)
    with tracer.trace(
        "collections",
        queue=deque(million),
        samples=array.array("i", million),
        values={i: i for i in million}.values(),
        rows=UserList(million),
    ):
        pass
    span = one(collector, tracer)
    head = ", ".join(str(i) for i in range(32))
    for name in ("queue", "samples", "values", "rows"):  # JSON text of the first 32, marked
        assert span.attributes[name] == f'[{head}, "...[truncated 999968 items]"]', name


def test_a_huge_exception_message_is_cut_like_any_captured_text(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(capture_max_length=1000)
    message = "row " * 1_000_000  # an error that quotes a whole payload

    @trace(tracer=tracer)
    def load() -> None:
        raise ValueError(message)

    with pytest.raises(ValueError):
        load()
    with pytest.raises(ValueError), tracer.start_span("block"):
        raise ValueError(message)
    assert tracer.flush(5.0)
    for span in collector.wait_for_spans(2):
        (event,) = span.events
        assert event.attributes["exception.message"] == (
            message[:1000] + f"...[truncated {len(message) - 1000} chars]"
        )
        stacktrace = event.attributes["exception.stacktrace"]
        assert stacktrace.startswith("Traceback (most recent call last):")
        assert len(stacktrace) < 1100
        assert len(span.status_message) <= 4096  # bounded too
        assert span.attributes["honeyhive.truncated"] >= 2
    assert sum(len(r.body) for r in collector.requests) < 100_000  # not 8 MB a span


def test_mappings_sets_and_deep_nesting_are_cut_and_marked(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    deep: dict[str, Any] = {"leaf": "bottom"}
    for level in range(12):
        deep = {f"l{level}": deep}
    with tracer.trace(
        "shapes",
        table={f"k{i}": i for i in range(1000)},
        tags=set(range(100_000)),
        deep=deep,
        blob=b"\x00" * 10_000_000,
    ):
        pass
    span = one(collector, tracer)
    table = under(span, "table.")
    assert len(table) == 33
    assert table["table._truncated"] == "...[truncated 968 keys]"
    tags = span.attributes["tags"]  # not a list: JSON text, cut at the item limit
    assert tags.startswith("[0, 1, 2")
    assert tags.endswith('"...[truncated 99968 items]"]')
    (deepest,) = [k for k in span.attributes if k.startswith("deep.")]
    assert deepest.count(".") == 8  # nesting below MAX_DEPTH is JSON text
    assert '"leaf": "bottom"' in span.attributes[deepest]
    assert span.attributes["blob"].startswith("\"b'\\\\x00")
    assert len(span.attributes["blob"]) < 16384 + 64


def test_the_attribute_limit_keeps_what_came_first_and_counts_the_rest(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(capture_max_attributes=40)

    @trace(tracer=tracer, event_type="chain")
    def pipeline(*steps: str) -> dict[str, int]:
        tracer.enrich_span(metadata={f"m{i}": i for i in range(100)})
        return {f"r{i}": i for i in range(100)}

    pipeline(*(f"step-{i}" for i in range(100)))
    span = one(collector, tracer)
    assert span.attributes["honeyhive_event_type"] == "chain"  # first in: never pushed out
    inputs = under(span, "honeyhive_inputs.")
    assert 0 < len(inputs) <= 20  # the arguments take at most half of the room
    assert inputs["honeyhive_inputs.steps.0"] == "step-0"
    own = {k for k in span.attributes if k.startswith(("honeyhive_inputs", "honeyhive_metadata"))}
    assert len(own | set(under(span, "honeyhive_outputs"))) <= 40
    assert span.attributes["honeyhive.truncated"] >= 100  # the cut values are all counted


def test_limits_are_settings_and_environment_variables(
    collector: Collector, make_tracer: MakeTracer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_CAPTURE_MAX_ITEMS", "3")
    monkeypatch.setenv("HH_CAPTURE_MAX_LENGTH", "5")
    tracer = make_tracer(capture_max_attributes=64)
    assert tracer._settings.capture_max_items == 3
    with tracer.trace("env", items=[1, 2, 3, 4, 5], text="abcdefgh"):
        pass
    span = one(collector, tracer)
    assert under(span, "items.") == {
        "items.0": 1,
        "items.1": 2,
        "items.2": 3,
        "items.3": "...[truncated 2 items]",
    }
    assert span.attributes["text"] == "abcde...[truncated 3 chars]"
    assert span.attributes["honeyhive.truncated"] == 2


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("capture_max_items", 0),
        ("capture_max_attributes", -1),
        ("capture_max_length", 0),
    ],
)
def test_a_limit_that_is_not_positive_is_refused(setting: str, value: int) -> None:
    with pytest.raises(ValueError, match=rf"{setting}.*greater than 0"):
        HoneyHiveTracer(test_mode=True, **{setting: value})


def test_the_log_says_it_once_for_many_spans(
    collector: Collector,
    tracer: HoneyHiveTracer,
    caplog: pytest.LogCaptureFixture,
    fresh_report: None,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="honeyhive"):
        for i in range(50):
            with tracer.trace(f"op-{i}", values=list(range(100)), text="x" * 20_000):
                pass
    assert tracer.flush(5.0)
    assert len(collector.wait_for_spans(50)) == 50
    lines = [r for r in caplog.records if "capture limits" in r.getMessage()]
    assert len(lines) == 1
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry")]


def test_dataclasses_and_models_are_read_field_by_field_within_the_limits(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    from pydantic import BaseModel

    @dataclasses.dataclass
    class Batch:
        rows: list[int]
        password: str

    class Request(BaseModel):
        prompt: str
        history: list[str]

    with tracer.trace(
        "models",
        batch=Batch(rows=list(range(500_000)), password="pw-SENTINEL"),
        request=Request(prompt="hi", history=["q"] * 200_000),
    ):
        pass
    span = one(collector, tracer)
    assert span.attributes["batch.password"] == "[REDACTED]"
    assert span.attributes["batch.rows.32"] == "...[truncated 499968 items]"
    assert span.attributes["request.prompt"] == "hi"
    assert span.attributes["request.history.32"] == "...[truncated 199968 items]"


def test_instrumentor_spans_keep_opentelemetrys_own_attribute_limit(
    collector: Collector, make_tracer: MakeTracer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "500")
    tracer = make_tracer()
    instrumentor = tracer.provider.get_tracer("an.instrumentor")
    with instrumentor.start_as_current_span("llm") as span:
        for i in range(300):  # what an instrumentor sets itself is OpenTelemetry's business
            span.set_attribute(f"llm.input_messages.{i}.message.content", f"m{i}")
        tracer.enrich_current_span({f"note{i}": i for i in range(300)})  # ours: the limit
    received = one(collector, tracer)
    assert len([k for k in received.attributes if k.startswith("llm.input_messages.")]) == 300
    assert not [k for k in received.attributes if k.startswith("note")]  # the span was full
    assert received.attributes["honeyhive.truncated"] == 300


def test_event_session_and_enrichment_bodies_are_cut_and_counted_like_spans(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    # What the API calls carry (not spans) is user data too: the same limits, the same marks,
    # and a count the user can read in tracer.dropped_values.
    tracer = make_tracer(capture_max_length=1000, capture_max_items=10)
    huge = "x" * 3_000_000

    def send() -> None:  # create_session makes its session current: in a context of its own
        tracer.create_session(session_name="big", inputs={"prompt": huge})
        tracer.enrich_session(outputs={"answer": huge}, metadata={"rows": list(range(100_000))})
        tracer.create_event("embed", inputs={"vector": [0.5] * 1536}, outputs={"text": huge})

    contextvars.copy_context().run(send)
    assert tracer.flush(timeout=10.0) is True
    collector.wait_for(lambda c: len(c.events) == 1 and len(c.event_updates) == 1)

    cut = "x" * 1000 + f"...[truncated {3_000_000 - 1000} chars]"
    (started,) = [s for s in collector.sessions if s.get("session_name") == "big"]
    assert started["inputs"] == {"prompt": cut}
    (update,) = collector.event_updates
    assert update["outputs"] == {"answer": cut}
    assert update["metadata"]["rows"] == [*range(10), "...[truncated 99990 items]"]
    (event,) = collector.events
    assert event["inputs"]["vector"] == [0.5] * 10 + ["...[truncated 1526 items]"]
    assert event["outputs"] == {"text": cut}
    # Three strings and two lists were cut: counted, not just marked.
    assert tracer.dropped_values["truncated"] == 5
    # Normal-sized values are sent whole and add nothing to the count.
    tracer.create_event("small", inputs={"q": "hi", "n": [1, 2, 3]})
    assert tracer.flush(timeout=10.0) is True
    assert tracer.dropped_values["truncated"] == 5

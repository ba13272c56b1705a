"""``@trace`` on generators and async generators records what they streamed and the time to
their first chunk: joined text for text and model deltas (the real ``openai`` and ``anthropic``
clients, streaming from a loopback server), a capped list otherwise, within the capture limits.

Checked at the loopback collector, as the backend receives it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from honeyhive import HoneyHiveTracer, trace

from support.collector import Collector, ReceivedSpan
from support.models import ANSWER, ModelServer

MakeTracer = Callable[..., HoneyHiveTracer]
OUTPUT = "honeyhive_outputs.result"
FIRST = "honeyhive_metrics.time_to_first_chunk_ms"
COUNT = "honeyhive_metrics.chunk_count"


def one(collector: Collector, tracer: HoneyHiveTracer) -> ReceivedSpan:
    assert tracer.flush(timeout=5.0) is True
    (span,) = collector.wait_for_spans(1)
    return span


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server = ModelServer()
    yield server
    server.close()


# -- text ---------------------------------------------------------------------------------------


def test_text_chunks_are_joined_with_the_time_to_the_first(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace(tracer=tracer, event_type="model")
    def answer(question: str) -> Iterator[str]:
        time.sleep(0.05)  # the model thinks
        yield from ANSWER

    assert list(answer("refunds?")) == ANSWER
    span = one(collector, tracer)
    assert span.attributes[OUTPUT] == "Refunds take five days."
    assert span.attributes[COUNT] == 4
    assert 50 <= span.attributes[FIRST] < span.duration_ms
    assert span.attributes["honeyhive_inputs.question"] == "refunds?"


def test_async_generators_too(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace(tracer=tracer, event_type="model")
    async def answer() -> AsyncIterator[str]:
        await asyncio.sleep(0.05)
        for word in ANSWER:
            yield word

    async def consume() -> list[str]:
        return [word async for word in answer()]

    assert asyncio.run(consume()) == ANSWER
    span = one(collector, tracer)
    assert span.attributes[OUTPUT] == "Refunds take five days."
    assert span.attributes[FIRST] >= 50


# -- the model SDKs' own chunks -------------------------------------------------------------------


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_an_openai_stream_is_recorded_as_its_text(
    collector: Collector, tracer: HoneyHiveTracer, model_server: ModelServer, as_dicts: bool
) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{model_server.url}/v1", api_key="sk-test", max_retries=0)

    @trace(tracer=tracer, event_type="model", event_name="chat_completion_stream")
    def complete(question: str) -> Iterator[Any]:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            yield chunk.model_dump() if as_dicts else chunk

    chunks = list(complete("How long do refunds take?"))
    assert len(chunks) == 7  # role, four words, finish, usage: what the API sends
    span = one(collector, tracer)
    assert span.attributes[OUTPUT] == "Refunds take five days."
    assert span.attributes[COUNT] == 7
    assert span.attributes[FIRST] >= 50


def test_an_openai_tool_call_stream_is_recorded_as_its_chunks(
    collector: Collector, tracer: HoneyHiveTracer, model_server: ModelServer
) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{model_server.url}/v1", api_key="sk-test", max_retries=0)
    tools: Any = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]

    @trace(tracer=tracer, event_type="model")
    def complete() -> Iterator[Any]:
        yield from client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "q"}], tools=tools, stream=True
        )

    assert len(list(complete())) == 5  # role, the call's name, its arguments, finish, usage
    span = one(collector, tracer)
    assert OUTPUT not in span.attributes  # no text to join: the chunks themselves
    call = f"{OUTPUT}.{{}}.choices.0.delta.tool_calls.0.function.{{}}"
    assert span.attributes[call.format(1, "name")] == "lookup"
    assert span.attributes[call.format(2, "arguments")] == '{"q":1}'
    assert span.attributes[COUNT] == 5


@pytest.mark.parametrize("as_dicts", [False, True], ids=["objects", "dicts"])
def test_an_anthropic_stream_is_recorded_as_its_text(
    collector: Collector, tracer: HoneyHiveTracer, model_server: ModelServer, as_dicts: bool
) -> None:
    from anthropic import Anthropic

    client = Anthropic(base_url=model_server.url, api_key="sk-ant-test", max_retries=0)

    @trace(tracer=tracer, event_type="model")
    def complete(question: str) -> Iterator[Any]:
        stream = client.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=64,
            messages=[{"role": "user", "content": question}],
            stream=True,
        )
        for event in stream:
            yield event.model_dump() if as_dicts else event

    # message_start, content_block_start, four deltas, content_block_stop, message_delta,
    # message_stop (the client keeps pings to itself)
    assert len(list(complete("How long do refunds take?"))) == 9
    span = one(collector, tracer)
    assert span.attributes[OUTPUT] == "Refunds take five days."
    assert span.attributes[COUNT] == 9


def test_openai_responses_api_text_deltas_are_joined(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    from openai.types.responses import ResponseTextDeltaEvent

    @trace(tracer=tracer, event_type="model")
    def respond() -> Iterator[Any]:
        yield {"type": "response.created", "sequence_number": 0}
        for index, word in enumerate(ANSWER):
            yield ResponseTextDeltaEvent(
                type="response.output_text.delta",
                delta=word,
                item_id="msg_1",
                output_index=0,
                content_index=0,
                sequence_number=index + 1,
                logprobs=[],
            )
        yield {"type": "response.completed", "sequence_number": 9}

    list(respond())
    assert one(collector, tracer).attributes[OUTPUT] == "Refunds take five days."


# -- the model SDKs' own stream helpers: every event they yield, or only their text events --------


def _helper_stream(client_kind: str, model_server: ModelServer, only_text: bool) -> Any:
    """A traced generator over ``messages.stream()`` (Anthropic) or
    ``chat.completions.stream()`` (OpenAI): the SDKs' recommended way to stream."""
    messages: Any = [{"role": "user", "content": "How long do refunds take?"}]
    if client_kind == "anthropic":
        from anthropic import Anthropic

        anthropic = Anthropic(base_url=model_server.url, api_key="sk-ant-test", max_retries=0)

        def events() -> Iterator[Any]:
            with anthropic.messages.stream(model="c", max_tokens=64, messages=messages) as s:
                yield from s

        text_type = "text"
    else:
        from openai import OpenAI

        openai = OpenAI(base_url=f"{model_server.url}/v1", api_key="sk-test", max_retries=0)

        def events() -> Iterator[Any]:
            with openai.chat.completions.stream(model="m", messages=messages) as s:
                yield from s

        text_type = "content.delta"

    def answer() -> Iterator[Any]:
        for event in events():
            if not only_text or event.type == text_type:
                yield event

    return answer


@pytest.mark.parametrize("only_text", [False, True], ids=["every event", "text events"])
@pytest.mark.parametrize("client_kind", ["anthropic", "openai"])
def test_the_sdks_stream_helpers_are_recorded_as_their_text(
    collector: Collector,
    tracer: HoneyHiveTracer,
    model_server: ModelServer,
    client_kind: str,
    only_text: bool,
) -> None:
    answer = trace(tracer=tracer, event_type="model")(
        _helper_stream(client_kind, model_server, only_text)
    )
    events = list(answer())
    span = one(collector, tracer)
    assert span.attributes[OUTPUT] == "Refunds take five days."  # each word once
    assert span.attributes[COUNT] == len(events)


@pytest.mark.parametrize("client_kind", ["anthropic", "openai"])
def test_the_async_clients_streams_and_helpers_too(
    collector: Collector, tracer: HoneyHiveTracer, model_server: ModelServer, client_kind: str
) -> None:
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

    messages: Any = [{"role": "user", "content": "q"}]
    anthropic = AsyncAnthropic(base_url=model_server.url, api_key="sk-ant-test", max_retries=0)
    openai = AsyncOpenAI(base_url=f"{model_server.url}/v1", api_key="sk-test", max_retries=0)

    @trace(tracer=tracer, event_name="raw")
    async def raw() -> AsyncIterator[Any]:
        if client_kind == "anthropic":
            stream: Any = await anthropic.messages.create(
                model="c", max_tokens=64, messages=messages, stream=True
            )
        else:
            stream = await openai.chat.completions.create(model="m", messages=messages, stream=True)
        async for event in stream:
            yield event

    @trace(tracer=tracer, event_name="helper")
    async def helper() -> AsyncIterator[Any]:
        if client_kind == "anthropic":
            async with anthropic.messages.stream(
                model="c", max_tokens=64, messages=messages
            ) as stream:
                async for event in stream:
                    yield event
        else:
            async with openai.chat.completions.stream(model="m", messages=messages) as chat:
                async for event in chat:
                    yield event

    async def consume() -> None:
        assert [event async for event in raw()]
        assert [event async for event in helper()]

    asyncio.run(consume())
    assert tracer.flush(5.0)
    for span in collector.wait_for_spans(2):
        assert span.attributes[OUTPUT] == "Refunds take five days.", span.name
        assert span.attributes[FIRST] >= 50


def test_the_time_to_the_first_chunk_never_exceeds_the_span(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace(tracer=tracer)
    def one_chunk() -> Iterator[str]:
        yield "at once"

    for _ in range(50):
        assert list(one_chunk()) == ["at once"]
    assert tracer.flush(5.0)
    spans = collector.wait_for_spans(50)
    assert len(spans) == 50
    for span in spans:
        assert 0 <= span.attributes[FIRST] <= span.duration_ms, (
            span.attributes[FIRST],
            span.duration_ms,
        )


# -- anything else, and the limits ----------------------------------------------------------------


def test_other_chunks_are_a_capped_list(collector: Collector, tracer: HoneyHiveTracer) -> None:
    @trace(tracer=tracer)
    def rows() -> Iterator[Any]:
        yield "header"
        for i in range(1000):
            yield {"id": i}

    assert sum(1 for _ in rows()) == 1001
    span = one(collector, tracer)
    assert span.attributes[f"{OUTPUT}.0"] == "header"  # one chunk is not text: all are a list
    assert span.attributes[f"{OUTPUT}.1.id"] == 0
    assert span.attributes[f"{OUTPUT}.31.id"] == 30
    assert span.attributes[f"{OUTPUT}.32"] == "...[truncated 969 items]"
    assert span.attributes[COUNT] == 1001
    assert span.attributes["honeyhive.truncated"] == 1


def test_a_long_text_stream_is_cut_at_the_limit(
    collector: Collector, make_tracer: MakeTracer
) -> None:
    tracer = make_tracer(capture_max_length=100)

    @trace(tracer=tracer)
    def tokens() -> Iterator[str]:
        for i in range(100_000):
            yield f"t{i % 10} "

    assert sum(1 for _ in tokens()) == 100_000
    span = one(collector, tracer)
    assert span.attributes[OUTPUT] == "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 " * 3 + "t0 t1 t2 t3 t4 "[
        :10
    ] + ("...[truncated 299900 chars]")
    assert span.attributes["honeyhive.truncated"] == 1


def test_what_was_streamed_before_an_error_or_an_early_stop_is_kept(
    collector: Collector, tracer: HoneyHiveTracer
) -> None:
    @trace(tracer=tracer)
    def failing() -> Iterator[str]:
        yield "partial "
        raise RuntimeError("model went away")

    @trace(tracer=tracer)
    def endless() -> Iterator[str]:
        while True:
            yield "more "

    with pytest.raises(RuntimeError):
        list(failing())
    stream = endless()
    assert [next(stream) for _ in range(3)] == ["more "] * 3
    stream.close()
    assert tracer.flush(5.0)
    spans = {s.name.rsplit(".", 1)[-1]: s for s in collector.wait_for_spans(2)}
    assert spans["failing"].attributes[OUTPUT] == "partial "
    assert spans["failing"].status_code == "ERROR"
    assert spans["endless"].attributes[OUTPUT] == "more more more "
    assert spans["endless"].attributes[COUNT] == 3


def test_the_mask_sees_the_streamed_output(collector: Collector, make_tracer: MakeTracer) -> None:
    tracer = make_tracer(
        mask=lambda key, value: value.replace("five", "N") if key == OUTPUT else value
    )

    @trace(tracer=tracer)
    def answer() -> Iterator[str]:
        yield from ANSWER

    list(answer())
    assert one(collector, tracer).attributes[OUTPUT] == "Refunds take N days."


# -- the demo -------------------------------------------------------------------------------------


def test_the_demos_streamed_answer_carries_its_output(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_API_URL", collector.url)
    path = Path(__file__).resolve().parents[1] / "examples" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("demo_agent_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tracer: HoneyHiveTracer = module.tracer
    try:

        async def get() -> str:
            transport = httpx.ASGITransport(app=module.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                return (await client.get("/stream", params={"q": "refunds"})).text

        text = asyncio.run(get())
        assert tracer.flush(5.0)
        spans = collector.wait_for_spans(2)
    finally:
        tracer.close()
    (model,) = [s for s in spans if s.name == "chat_completion_stream"]
    assert model.attributes[OUTPUT] == text
    assert text.startswith("Here is a streamed answer about refunds")
    assert model.attributes[COUNT] == len(text.split())
    assert model.attributes[FIRST] > 0

"""The normaliser reads whatever an instrumentor sends: no shape of attribute makes it raise, so
no span is refused at ingest or left unreadable in the viewer because of what it carries.

Property tests over attributes built from the keys the four LLM conventions use (with odd
segments: digits that are not ASCII, deep paths, non-dicts where dicts are expected) and values
of every JSON shape, including JSON text; then the shapes that broke it, through a real
collector, as a user's instrumentor would send them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeyhive._collector.normalize import llm_view, span_facts
from honeyhive._collector.records import dumps
from honeyhive.collector import RunningCollector

from support.local_collector import otlp_json, otlp_span

TRACES = "/opentelemetry/v1/traces"
JSON = {"Content-Type": "application/json"}

_PREFIXES = [
    "honeyhive_inputs",
    "honeyhive_outputs",
    "honeyhive_config",
    "honeyhive_metrics",
    "honeyhive_metadata",
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "llm.choices",
    "llm.token_count",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.request",
    "gen_ai.usage",
]
_EXACT = [
    "honeyhive_event_type",
    "openinference.span.kind",
    "gen_ai.operation.name",
    "traceloop.span.kind",
    "llm.request.type",
    "llm.model_name",
    "llm.invocation_parameters",
    "input.value",
    "output.value",
    "input.mime_type",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "llm.token_count.prompt",
    "gen_ai.usage.input_tokens",
    "honeyhive_metrics.time_to_first_chunk_ms",
]
_SEGMENTS = st.sampled_from(
    ["0", "1", "2", "²", "٣", "message", "role", "content", "contents", "tool_calls", "tool_call",
     "function", "name", "arguments", "messages", "choices", "prompt", "text", "completion",
     "message_content", "parts", "", "x"]
)  # fmt: skip
_KEYS = st.one_of(
    st.sampled_from(_EXACT),
    st.builds(
        lambda prefix, parts: ".".join([prefix, *parts]),
        st.sampled_from(_PREFIXES),
        st.lists(_SEGMENTS, min_size=1, max_size=6),
    ),
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.one_of(_SEGMENTS, st.text(max_size=4)), children, max_size=4)
    ),
    max_leaves=16,
)
# What a stored attribute can be: a scalar, a list of scalars, or JSON text of any shape.
_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.text(max_size=6) | st.integers(), max_size=4),
    _JSON_VALUES.map(json.dumps),
    st.sampled_from(["²", "١٢", "[", "{", "NaN", "[[[[]]]]", "1e999"]),
)
_ATTRIBUTES = st.dictionaries(_KEYS, _VALUES, max_size=12)
_EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["gen_ai.content.prompt", "gen_ai.content.completion", "x"]),
            "attributes": st.dictionaries(
                st.sampled_from(["gen_ai.prompt", "gen_ai.completion"]), _VALUES, max_size=2
            ),
        }
    ),
    max_size=2,
)
_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    database=None,  # no example database between runs
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(attributes=_ATTRIBUTES)
def test_span_facts_never_raises(attributes: dict[str, Any]) -> None:
    facts = span_facts(attributes)
    for count in (facts.prompt_tokens, facts.completion_tokens, facts.total_tokens):
        assert count is None or (isinstance(count, int) and count >= 0)


@_SETTINGS
@given(attributes=_ATTRIBUTES, events=_EVENTS)
def test_llm_view_never_raises_and_is_json(
    attributes: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    view = llm_view(attributes, events)
    json.loads(dumps(view))  # what the span's answer carries
    for side in ("input", "output"):
        for message in view.get(side, {}).get("messages", ()):
            assert isinstance(message["role"], str)
            assert isinstance(message["content"], str)
            for call in message.get("tool_calls", ()):
                assert isinstance(call["name"], str)


def test_a_path_deeper_than_python_recursion_is_read() -> None:
    deep = "honeyhive_inputs." + ".".join(["a"] * 3000)
    view = llm_view({deep: "v", "honeyhive_event_type": "tool"})
    assert "input" in view
    assert "v" in dumps(view)


# -- through the collector: the span is stored, and its details answer ---------------------------

ODD = {
    "a token count in superscript digits": {"llm.token_count.prompt": "²"},
    "a non-ASCII digit as an index": {"honeyhive_inputs.²": "x", "honeyhive_event_type": "tool"},
    "GenAI messages keyed by odd digits": {
        "gen_ai.operation.name": "chat",
        "gen_ai.input.messages": json.dumps({"²": {"role": "user", "content": "x"}}),
    },
    "a tool call that is a string": {
        "openinference.span.kind": "LLM",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call": "lookup",
    },
    "a choice that is a number": {
        "honeyhive_event_type": "model",
        "honeyhive_outputs.choices.0.message.role": "assistant",
        "honeyhive_outputs.choices.1": 5,
    },
    "a prompt that is a string": {"openinference.span.kind": "LLM", "llm.prompts.0": "p"},
    "a path 3,000 keys deep": {"honeyhive_inputs." + ".".join(["a"] * 3000): "v"},
}


@pytest.mark.parametrize("attributes", list(ODD.values()), ids=list(ODD))
def test_odd_shapes_are_stored_and_readable(
    local: RunningCollector, attributes: dict[str, Any]
) -> None:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    body = otlp_json(otlp_span(trace_id, span_id, "odd", attributes=attributes))
    stored = httpx.post(local.url + TRACES, content=body, headers=JSON)
    assert stored.status_code == 200, stored.text  # a 500 drops the whole batch
    detail = httpx.get(f"{local.url}/api/spans/{trace_id}/{span_id}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["spans"][0]["name"] == "odd"


def test_openinference_completions_prompts_and_choices(local: RunningCollector) -> None:
    """The completions API's convention: ``llm.prompts.N.prompt.text`` in and
    ``llm.choices.N.completion.text`` out (what the OpenInference OpenAI instrumentor writes)."""
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-3.5-turbo-instruct",
        "llm.prompts.0.prompt.text": "Say hello",
        "llm.choices.0.completion.text": "Hello!",
    }
    body = otlp_json(otlp_span(trace_id, span_id, "Completion", attributes=attributes))
    assert httpx.post(local.url + TRACES, content=body, headers=JSON).status_code == 200
    llm = httpx.get(f"{local.url}/api/spans/{trace_id}/{span_id}").json()["llm"]
    assert llm["input"] == {"messages": [{"role": "user", "content": "Say hello"}]}
    assert llm["output"] == {"messages": [{"role": "assistant", "content": "Hello!"}]}

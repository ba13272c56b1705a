"""The collector sees the LLM in a trace: one model per span whatever convention the
instrumentor speaks, token counts and cost, session totals, and full-text search with filters.

Spans go to a real collector on loopback over OTLP, as each convention's instrumentors send them,
and one session comes from a real instrumentor (OpenInference's for the OpenAI client, attached
through ``tracer.provider``) calling a fake OpenAI-compatible server on loopback.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from honeyhive import HoneyHiveTracer
from honeyhive.collector import RunningCollector, create_app, start

from support.fake_openai import serve_fake_openai
from support.local_collector import otlp_json, otlp_span

TRACES = "/opentelemetry/v1/traces"
JSON = {"Content-Type": "application/json"}


def _send(url: str, *spans: dict[str, Any]) -> None:
    response = httpx.post(url + TRACES, content=otlp_json(*spans), headers=JSON)
    assert response.status_code == 200, response.text


def _span(session_id: str, name: str, attributes: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return otlp_span(
        uuid.uuid4().hex,
        uuid.uuid4().hex[:16],
        name,
        session_id=session_id,
        attributes=attributes,
        **kwargs,
    )


def _llm(url: str, span: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.get(f"{url}/api/spans/{span['traceId']}/{span['spanId']}").json()
    llm: dict[str, Any] = answer["llm"]
    return llm


CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Can I get a refund?"},
]
ANSWER = "Yes, within 30 days."

CONVENTIONS: dict[str, dict[str, Any]] = {
    "honeyhive": {
        "honeyhive_event_type": "model",
        "honeyhive_config.model": "gpt-4o-mini",
        "honeyhive_config.temperature": 0.2,
        "honeyhive_inputs.messages.0.role": "system",
        "honeyhive_inputs.messages.0.content": "Be brief.",
        "honeyhive_inputs.messages.1.role": "user",
        "honeyhive_inputs.messages.1.content": "Can I get a refund?",
        "honeyhive_outputs.role": "assistant",
        "honeyhive_outputs.content": ANSWER,
        "honeyhive_metrics.prompt_tokens": 20,
        "honeyhive_metrics.completion_tokens": 8,
    },
    "gen_ai": {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Can I get a refund?"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": ANSWER}],
                    "finish_reason": "stop",
                }
            ]
        ),
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 8,
    },
    "openinference": {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.provider": "openai",
        "llm.invocation_parameters": json.dumps({"temperature": 0.2}),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Can I get a refund?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": ANSWER,
        "llm.token_count.prompt": 20,
        "llm.token_count.completion": 8,
        "llm.token_count.total": 28,
    },
    "traceloop": {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "Can I get a refund?",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": ANSWER,
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.usage.prompt_tokens": 20,
        "gen_ai.usage.completion_tokens": 8,
        "llm.usage.total_tokens": 28,
    },
}


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_every_convention_gives_the_same_model_call(
    local: RunningCollector, convention: str
) -> None:
    session_id = str(uuid.uuid4())
    span = _span(session_id, f"{convention} chat", CONVENTIONS[convention])
    _send(local.url, span)
    llm = _llm(local.url, span)

    assert llm["event_type"] == "model"
    assert llm["model"].startswith("gpt-4o-mini")
    assert [(m["role"], m["content"]) for m in llm["input"]["messages"]] == [
        (m["role"], m["content"]) for m in CHAT
    ]
    assert [(m["role"], m["content"]) for m in llm["output"]["messages"]] == [("assistant", ANSWER)]
    assert llm["usage"] == {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
    assert llm["params"]["temperature"] == 0.2
    # gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    assert llm["cost_usd"] == pytest.approx((20 * 0.15 + 8 * 0.60) / 1e6)
    assert convention in llm["conventions"]

    session = httpx.get(f"{local.url}/api/sessions/{session_id}").json()["session"]
    assert (session["model_calls"], session["total_tokens"]) == (1, 28)
    assert session["cost_usd"] == pytest.approx(llm["cost_usd"])


def test_an_unknown_model_shows_tokens_only_until_the_user_prices_it(db_path: Path) -> None:
    session_id = str(uuid.uuid4())
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "acme-large-2",
        "llm.token_count.prompt": 1000,
        "llm.token_count.completion": 500,
    }
    span = _span(session_id, "acme", attributes)
    with start(port=0, db_path=db_path) as running:
        _send(running.url, span)
        llm = _llm(running.url, span)
        assert llm["usage"]["total_tokens"] == 1500
        assert llm["cost_usd"] is None
        session = httpx.get(f"{running.url}/api/sessions/{session_id}").json()["session"]
        assert (session["cost_usd"], session["unpriced_calls"], session["total_tokens"]) == (
            None,
            1,
            1500,
        )
    # The price table is extended later: the stored call is priced (cost is computed on read).
    with start(port=0, db_path=db_path, prices={"acme-large": (2.0, 6.0)}) as running:
        llm = _llm(running.url, span)
        assert llm["cost_usd"] == pytest.approx((1000 * 2.0 + 500 * 6.0) / 1e6)
        assert llm["price_per_million_tokens"] == {"input": 2.0, "output": 6.0}
        assert httpx.get(f"{running.url}/api/prices").json()["acme-large"] == {
            "input": 2.0,
            "output": 6.0,
        }


def test_prices_given_in_code_match_any_case_and_are_checked(db_path: Path) -> None:
    span = _span(
        str(uuid.uuid4()),
        "acme",
        {"llm.model_name": "ACME-Large-2", "llm.token_count.prompt": 1000},
    )
    with start(port=0, db_path=db_path, prices={"Acme-Large": (2.0, 6.0)}) as running:
        _send(running.url, span)
        assert _llm(running.url, span)["cost_usd"] == pytest.approx(1000 * 2.0 / 1e6)
    for prices, message in [
        ({"acme": (-1.0, 2.0)}, "'acme' input price must be 0 or more"),
        ({"acme": (1.0, float("nan"))}, "'acme' output price must be 0 or more"),
        ({"acme": ("1", 2.0)}, "'acme' input price must be a number"),
        ({"acme": (1.0,)}, "the price of 'acme' must be (input, output)"),
        ({"acme": 2.5}, "the price of 'acme' must be (input, output)"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            create_app(db_path, prices=prices)  # type: ignore[arg-type]


def test_honeyhive_outputs_of_any_shape_and_time_to_first_chunk(local: RunningCollector) -> None:
    session_id = str(uuid.uuid4())
    streamed = _span(
        session_id,
        "chat_completion_stream",
        {
            "honeyhive_event_type": "model",
            "honeyhive_inputs.question": "refund?",
            "honeyhive_outputs.result": "Here is a streamed answer",
            "honeyhive_metrics.time_to_first_chunk_ms": 41.5,
        },
    )
    tool = _span(
        session_id,
        "lookup_order",
        {
            "honeyhive_event_type": "tool",
            "honeyhive_inputs.order_id": 1234,
            "honeyhive_outputs.status": "delivered",
            "honeyhive_outputs.items.0": "book",
        },
    )
    _send(local.url, streamed, tool)
    llm = _llm(local.url, streamed)
    assert llm["input"] == {"value": {"question": "refund?"}}
    assert llm["output"] == {"value": "Here is a streamed answer"}
    assert llm["time_to_first_chunk_ms"] == 41.5
    assert _llm(local.url, tool)["output"] == {"value": {"status": "delivered", "items": ["book"]}}


# -- a real instrumentor -----------------------------------------------------------------------


@pytest.fixture
def fake_openai() -> Iterator[str]:
    with serve_fake_openai() as url:
        yield url


def test_a_session_from_the_openinference_openai_instrumentor(
    local: RunningCollector, fake_openai: str
) -> None:
    openai = pytest.importorskip("openai")
    instrumentation = pytest.importorskip("openinference.instrumentation.openai")
    tracer = HoneyHiveTracer(
        server_url=local.url, project="llm-tests", session_name="openinference", schedule_delay=0.05
    )
    instrumentor = instrumentation.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer.provider)
    try:
        client = openai.OpenAI(base_url=fake_openai, api_key="sk-test-not-real", max_retries=0)
        with tracer.trace("answer", event_type="chain"):
            reply = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "You help with refunds."},
                    {"role": "user", "content": "How long does a refund take?"},
                ],
                temperature=0.3,
            )
        assert reply.choices[0].message.content == "Refunds take 5 days."
        assert tracer.flush(timeout=10)
    finally:
        instrumentor.uninstrument()
        tracer.close()

    detail = httpx.get(f"{local.url}/api/sessions/{tracer.session_id}").json()
    spans = {span["name"]: span for span in detail["spans"]}
    (llm_name,) = [name for name in spans if name != "answer"]
    model_span = spans[llm_name]
    assert model_span["event_type"] == "model"  # from openinference.span.kind = LLM
    assert model_span["parent_span_id"] == spans["answer"]["span_id"]
    assert model_span["model"] == "gpt-4o-mini-2024-07-18"
    assert model_span["total_tokens"] == 27
    llm = _llm(local.url, {"traceId": model_span["trace_id"], "spanId": model_span["span_id"]})
    assert "openinference" in llm["conventions"]
    assert [(m["role"], m["content"]) for m in llm["input"]["messages"]] == [
        ("system", "You help with refunds."),
        ("user", "How long does a refund take?"),
    ]
    assert [(m["role"], m["content"]) for m in llm["output"]["messages"]] == [
        ("assistant", "Refunds take 5 days.")
    ]
    assert llm["usage"] == {"prompt_tokens": 21, "completion_tokens": 6, "total_tokens": 27}
    assert llm["params"]["temperature"] == 0.3
    assert llm["cost_usd"] == pytest.approx((21 * 0.15 + 6 * 0.60) / 1e6)
    session = detail["session"]
    assert (session["model_calls"], session["total_tokens"]) == (1, 27)
    assert list(session["models"]) == ["gpt-4o-mini-2024-07-18"]
    found = httpx.get(f"{local.url}/api/search", params={"q": "refund take"}).json()["matches"]
    assert [hit["span_id"] for hit in found] == [model_span["span_id"]]


# -- search and filters ------------------------------------------------------------------------


def _search(url: str, **params: str) -> list[str]:
    answer = httpx.get(url + "/api/search", params=params)
    assert answer.status_code == 200, answer.text
    return [hit["name"] for hit in answer.json()["matches"]]


def test_search_finds_names_inputs_and_outputs_and_filters(local: RunningCollector) -> None:
    session_id = str(uuid.uuid4())
    _send(
        local.url,
        _span(session_id, "charge_card", {"honeyhive_event_type": "tool"}, error="card declined"),
        _span(
            session_id,
            "answer",
            {"honeyhive_event_type": "chain", "honeyhive_inputs.question": "Where is my refund?"},
            duration_ns=900_000_000,
        ),
        _span(
            session_id,
            "call_model",
            {
                **CONVENTIONS["openinference"],
                "llm.output_messages.0.message.content": "Your refunds are processed.",
            },
        ),
        _span(session_id, "render", {"honeyhive_outputs.result": "Crème brûlée"}),
    )
    assert _search(local.url, q="charge_card") == ["charge_card"]
    assert _search(local.url, q="charge") == ["charge_card"]
    assert _search(local.url, q="refund") == ["call_model", "answer"]  # newest first, by prefix
    assert _search(local.url, q="refund where") == ["answer"]  # every word must match
    assert _search(local.url, q="creme brulee") == ["render"]  # diacritics do not matter
    assert _search(local.url, q="nothing-like-it") == []
    assert _search(local.url, q="refund", type="model") == ["call_model"]
    assert _search(local.url, errors="1") == ["charge_card"]
    assert _search(local.url, model="gpt-4o-mini-2024-07-18") == ["call_model"]
    assert _search(local.url, min_ms="500") == ["answer"]
    assert _search(local.url, q="refund", min_ms="500") == ["answer"]
    hit = httpx.get(local.url + "/api/search", params={"q": "where"}).json()["matches"][0]
    assert hit["snippet"] == {"field": "input", "text": "Where is my refund?"}
    assert httpx.get(local.url + "/api/search", params={"min_ms": "x"}).status_code == 400
    assert _search(local.url, q='"*:') == []  # FTS syntax typed by a person is just text


# -- an older database -------------------------------------------------------------------------

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, name TEXT, project TEXT, source TEXT,
    origin TEXT NOT NULL, started INTEGER NOT NULL DEFAULT 0, created_ns INTEGER NOT NULL,
    start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, span_count INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0, event_count INTEGER NOT NULL DEFAULT 0, inputs TEXT,
    metadata TEXT);
CREATE TABLE spans (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT,
    session_id TEXT, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL, status_code INTEGER NOT NULL, status_message TEXT NOT NULL,
    event_type TEXT, error TEXT, attributes TEXT NOT NULL, events TEXT NOT NULL,
    links TEXT NOT NULL, resource TEXT NOT NULL, scope TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id));
CREATE TABLE events (event_id TEXT PRIMARY KEY, session_id TEXT, parent_id TEXT,
    name TEXT NOT NULL, event_type TEXT, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
    error TEXT, body TEXT NOT NULL);
CREATE TABLE updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, target_id TEXT NOT NULL,
    received_ns INTEGER NOT NULL, body TEXT NOT NULL);
"""


def test_a_database_from_the_previous_version_is_upgraded_in_place(db_path: Path) -> None:
    db = sqlite3.connect(db_path)
    db.executescript(_V1)
    attributes = json.dumps({"honeyhive.session_id": "old", **CONVENTIONS["traceloop"]})
    db.execute(
        "INSERT INTO sessions VALUES "
        "('old', 'old session', NULL, NULL, 'span', 0, 1, 1, 2, 1, 0, 0, NULL, NULL)"
    )
    db.execute(
        "INSERT INTO spans VALUES (?, ?, NULL, 'old', 'openai.chat', 3, 1, 2, 0, '', NULL, NULL, ?,"
        " '[]', '[]', '{}', '{}')",
        ("a" * 32, "b" * 16, attributes),
    )
    db.commit()
    db.close()
    done = subprocess.run(
        [sys.executable, "-m", "honeyhive", "traces", "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "start `honeyhive serve --db" in done.stderr  # reading alone does not upgrade

    with start(port=0, db_path=db_path) as running:
        session = httpx.get(running.url + "/api/sessions/old").json()["session"]
        assert (session["name"], session["model_calls"], session["total_tokens"]) == (
            "old session",
            1,
            28,
        )
        llm = _llm(running.url, {"traceId": "a" * 32, "spanId": "b" * 16})
        assert llm["event_type"] == "model"
        assert llm["output"]["messages"][0]["content"] == ANSWER
        assert _search(running.url, q="refund") == ["openai.chat"]

"""The viewer in real headless Chromium, driven over the DevTools protocol in real time: a chat
span rendered as a conversation, a search hit in an input, the filters, live refresh while
data arrives, the j/k/e keys, a usable 800 px layout, and no script from any captured value
ever running.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from honeyhive.collector import RunningCollector

from support import browser
from support.local_collector import otlp_json, otlp_span

pytestmark = pytest.mark.skipif(browser.chromium_path() is None, reason="chromium is not installed")

TRACES = "/opentelemetry/v1/traces"
JSON = {"Content-Type": "application/json"}
START = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def _browser() -> Iterator[browser.DevTools]:
    """One Chromium for the module (starting one takes about a second)."""
    with browser.DevTools() as devtools:
        yield devtools


@pytest.fixture
def chromium(_browser: browser.DevTools) -> Iterator[browser.DevTools]:
    """The module's Chromium, back at a blank page of the default size after each test."""
    yield _browser
    _browser.call("Emulation.clearDeviceMetricsOverride", session=True)
    _browser.navigate("about:blank")


def _send(url: str, *spans: dict[str, Any]) -> None:
    response = httpx.post(url + TRACES, content=otlp_json(*spans), headers=JSON)
    assert response.status_code == 200, response.text


def _ids() -> tuple[str, str]:
    return uuid.uuid4().hex, uuid.uuid4().hex[:16]


def _open(chromium: browser.DevTools, url: str, ready: str) -> None:
    """Navigate, then wait until the new page (not the old one still showing) is ``ready``."""
    chromium.evaluate("window.__leaving = true")
    chromium.navigate(url)
    chromium.wait_for(f"!window.__leaving && document.readyState !== 'loading' && ({ready})")


def _text(chromium: browser.DevTools, selector: str) -> str:
    value = chromium.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " return e ? e.innerText : null; })()"
    )
    return str(value) if value is not None else ""


def _support_session(url: str) -> dict[str, str]:
    """A session with a chain, a tool, an OpenInference chat span and a failing model call."""
    session_id = str(uuid.uuid4())
    trace_id, root = _ids()
    tool, chat, failed = (uuid.uuid4().hex[:16] for _ in range(3))
    common = {"honeyhive.session_name": "refund chat"}
    _send(
        url,
        otlp_span(
            trace_id,
            root,
            "answer_customer",
            session_id=session_id,
            start_ns=START,
            duration_ns=900_000_000,
            attributes={**common, "honeyhive_event_type": "chain"},
        ),
        otlp_span(
            trace_id,
            tool,
            "lookup_order",
            parent=root,
            session_id=session_id,
            start_ns=START + 10_000_000,
            duration_ns=100_000_000,
            attributes={"honeyhive_event_type": "tool", "honeyhive_inputs.order": "A-1234"},
        ),
        otlp_span(
            trace_id,
            chat,
            "ChatCompletion",
            parent=root,
            session_id=session_id,
            start_ns=START + 120_000_000,
            duration_ns=600_000_000,
            attributes={
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "You are a support agent.",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "Can I get a refund for A-1234?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Yes, it is on its way.",
                "llm.token_count.prompt": 1000,
                "llm.token_count.completion": 200,
            },
        ),
        otlp_span(
            trace_id,
            failed,
            "summarise",
            parent=root,
            session_id=session_id,
            start_ns=START + 750_000_000,
            duration_ns=50_000_000,
            error="RateLimitError: slow down",
            attributes={"honeyhive_event_type": "model", "honeyhive_config.model": "acme-1"},
        ),
    )
    return {"session": session_id, "trace": trace_id, "root": root, "chat": chat, "failed": failed}


def test_a_chat_span_is_a_conversation_with_model_tokens_and_cost(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    made = _support_session(local.url)
    _open(
        chromium,
        f"{local.url}/?session={made['session']}&span={made['chat']}",
        "document.querySelectorAll('#detail .msg').length === 3",
    )
    roles = chromium.evaluate(
        "[...document.querySelectorAll('#detail .msg')].map(m => [m.className, "
        "m.querySelector('.txt').innerText])"
    )
    assert roles == [
        ["msg role-system", "You are a support agent."],
        ["msg role-user", "Can I get a refund for A-1234?"],
        ["msg role-assistant", "Yes, it is on its way."],
    ]
    sections = chromium.evaluate(
        "[...document.querySelectorAll('#detail section > h3')].map(h => h.innerText.toLowerCase())"
    )
    assert sections[:2] == ["input", "output"]  # inputs and outputs first
    facts = _text(chromium, "#detail .llm-facts")
    assert "gpt-4o-mini" in facts
    assert "1,200 tokens (1,000 in, 200 out)" in facts
    assert "$0.00027" in facts  # 1000 x $0.15 + 200 x $0.60 per million
    assert "600.0 ms" in facts
    bookkeeping = chromium.evaluate(
        "[...document.querySelectorAll('#detail details.group')]"
        ".map(d => [d.innerText.split('\\n')[0], d.open])"
    )
    assert ["BOOKKEEPING (1)", False] in [[b[0].upper(), b[1]] for b in bookkeeping]

    totals = _text(chromium, ".totals")
    assert "MODEL CALLS\n2" in totals.upper()
    assert "1,200" in totals
    assert "$0.00027" in totals
    assert "1 call unpriced" in totals  # acme-1 has no price: tokens only, never a guess


def test_a_search_hit_in_an_input_opens_its_span(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    made = _support_session(local.url)
    _open(chromium, f"{local.url}/?q=refund", "document.querySelector('#matches') !== null")
    hits = chromium.evaluate(
        "[...document.querySelectorAll('#matches li')].map(li => li.querySelector('.nm').innerText)"
    )
    assert hits == ["ChatCompletion"]
    snippet = chromium.evaluate("document.querySelector('#matches .snip').innerHTML")
    assert '<span class="where">input</span>' in snippet
    assert "<mark>refund</mark>" in snippet
    chromium.evaluate("document.querySelector('#matches .nm').click()")
    chromium.wait_for("document.querySelectorAll('#detail .msg').length === 3")
    assert _text(chromium, "#detail h2") == "ChatCompletion"
    assert chromium.evaluate("new URLSearchParams(location.search).get('span')") == made["chat"]


def test_the_filters(local: RunningCollector, chromium: browser.DevTools) -> None:
    _support_session(local.url)

    def listed(query: str) -> list[str]:
        _open(chromium, f"{local.url}/?{query}", "document.querySelector('#filters') !== null")
        names: list[str] = chromium.evaluate(
            "[...document.querySelectorAll('#matches .nm')].map(e => e.innerText)"
        )
        return names

    assert listed("errors=1") == ["summarise"]
    assert listed("type=model") == ["summarise", "ChatCompletion"]
    assert listed("type=model&model=gpt-4o-mini") == ["ChatCompletion"]
    assert listed("min_ms=500") == ["ChatCompletion", "answer_customer"]
    assert listed("q=refund&errors=1") == []
    # The form keeps what was asked, and submitting it searches.
    _open(
        chromium, f"{local.url}/?q=order&type=tool", "document.querySelector('#filters') !== null"
    )
    assert chromium.evaluate("document.querySelector('#filters select').value") == "tool"
    chromium.evaluate(
        "document.querySelector('#filters select').value = '';"
        "document.querySelector('#filters input[name=errors]').checked = true;"
        "document.querySelector('#filters input[name=q]').value = '';"
        "document.querySelector('#filters').submit()"
    )
    chromium.wait_for(
        "location.search.includes('errors=1') && document.querySelector('#matches') !== null"
    )
    assert chromium.evaluate(
        "[...document.querySelectorAll('#matches .nm')].map(e => e.innerText)"
    ) == ["summarise"]


def test_live_refresh_shows_what_arrives_and_idles_quietly(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    made = _support_session(local.url)
    _open(
        chromium,
        f"{local.url}/?session={made['session']}&span={made['failed']}",
        "document.querySelector('#detail .errbox pre, #detail section') !== null",
    )
    time.sleep(0.5)
    # Idle: in 2.5 s (at least one poll) the page asks only /api/changes, which reads no database.
    before = chromium.evaluate("performance.getEntriesByType('resource').length")
    time.sleep(2.5)
    asked = chromium.evaluate(
        f"performance.getEntriesByType('resource').slice({before})"
        ".map(e => new URL(e.name).pathname)"
    )
    assert asked, "the page stopped polling"
    assert set(asked) == {"/api/changes"}, asked

    # The user opened a fold in the span's details: a redraw must not close it under them.
    chromium.evaluate("document.querySelector('#detail details.group').open = true")
    before = chromium.evaluate("performance.getEntriesByType('resource').length")
    late = uuid.uuid4().hex[:16]
    _send(
        local.url,
        otlp_span(
            made["trace"],
            late,
            "late_arrival",
            parent=made["root"],
            session_id=made["session"],
            start_ns=START + 850_000_000,
            duration_ns=10_000_000,
        ),
    )
    chromium.wait_for("document.body.innerText.includes('late_arrival')", timeout=15)
    time.sleep(0.3)  # what the redraw might still ask for
    # Redrawn in place: the selection stayed, and the page was not reloaded.
    assert _text(chromium, "#detail h2") == "summarise"
    assert chromium.evaluate("performance.getEntriesByType('navigation').length") == 1
    # The details pane is as the user left it, and nothing was asked about its span again.
    assert chromium.evaluate("document.querySelector('#detail details.group').open") is True
    asked = chromium.evaluate(
        f"performance.getEntriesByType('resource').slice({before})"
        ".map(e => new URL(e.name).pathname)"
    )
    assert not [path for path in asked if path.startswith("/api/spans/")], asked

    # On a search page, what the user is typing survives a redraw of the results.
    _open(chromium, f"{local.url}/?q=arrival", "document.querySelector('#matches') !== null")
    chromium.evaluate(
        "const box = document.querySelector('#filters input[name=model]');"
        "box.focus(); box.value = 'gpt-4';"
        "document.getElementById('q').value = 'half typed'"
    )
    _send(
        local.url,
        otlp_span(*_ids(), "second_arrival", session_id=made["session"], start_ns=START),
    )
    chromium.wait_for("document.querySelectorAll('#matches li').length === 2", timeout=15)
    assert chromium.evaluate("document.querySelector('#filters input[name=model]').value") == (
        "gpt-4"
    )
    assert chromium.evaluate("document.activeElement.name") == "model"
    assert chromium.evaluate("document.getElementById('q').value") == "half typed"

    _open(chromium, local.url + "/", "document.querySelector('#sessions') !== null")
    other = str(uuid.uuid4())
    trace_id, span_id = _ids()
    _send(
        local.url,
        otlp_span(
            trace_id,
            span_id,
            "x",
            session_id=other,
            attributes={"honeyhive.session_name": "arrived while watching"},
        ),
    )
    chromium.wait_for("document.body.innerText.includes('arrived while watching')", timeout=15)


def test_keys_move_between_spans_and_jump_to_errors(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    made = _support_session(local.url)
    _open(
        chromium,
        f"{local.url}/?session={made['session']}&span={made['root']}",
        "document.querySelector('.row.sel') !== null",
    )

    def press(key: str) -> str:
        chromium.evaluate(f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: '{key}'}}))")
        time.sleep(0.05)
        return _text(chromium, ".row.sel .nm")

    assert _text(chromium, ".row.sel .nm") == "answer_customer"
    assert press("j") == "lookup_order"
    # Its input is shown first; the attributes it came from are folded, not shown twice.
    chromium.wait_for("document.querySelector('#detail section.io') !== null")
    assert "A-1234" in _text(chromium, "#detail section.io")
    assert chromium.evaluate(
        "[...document.querySelectorAll('#detail details.group')]"
        ".map(d => [d.querySelector('summary').innerText, d.open])"
    )[0] == ["HONEYHIVE_INPUTS/OUTPUTS ATTRIBUTES (1)", False]
    assert press("j") == "ChatCompletion"
    assert press("k") == "lookup_order"
    assert press("e") == "summarise"  # the next error
    chromium.wait_for("document.querySelector('#detail .errbox') !== null")
    assert "RateLimitError: slow down" in _text(chromium, "#detail .errbox")


def test_usable_at_800_px(local: RunningCollector, chromium: browser.DevTools) -> None:
    made = _support_session(local.url)
    chromium.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": 800, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=True,
    )
    _open(
        chromium,
        f"{local.url}/?session={made['session']}&span={made['chat']}",
        "document.querySelectorAll('#detail .msg').length === 3",
    )
    layout = chromium.evaluate(
        "(() => { const r = document.getElementById('rows').getBoundingClientRect();"
        " const d = document.getElementById('detail').getBoundingClientRect();"
        " const ticks = [...document.querySelectorAll('#ticks span')]"
        ".map(s => s.getBoundingClientRect());"
        " let overlap = false;"
        " for (let i = 1; i < ticks.length; i++)"
        " if (ticks[i].left < ticks[i - 1].right) overlap = true;"
        " return {scroll: document.documentElement.scrollWidth, rowsBottom: r.bottom,"
        " detailTop: d.top, ticks: ticks.length, overlap}; })()"
    )
    assert layout["scroll"] <= 800, layout  # nothing wider than the window
    assert layout["detailTop"] >= layout["rowsBottom"], layout  # the details go underneath
    assert layout["ticks"] >= 3, layout
    assert not layout["overlap"], layout  # time-axis labels do not overlap


HOSTILE = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '"><svg onload="window.__xss=3">',
    "javascript:window.__xss=4",
    "</textarea><iframe srcdoc='<script>parent.__xss=5</script>'>",
    "<a href=# onclick=window.__xss=6>x</a>",
]


def _hostile_session(url: str) -> dict[str, str]:
    session_id = str(uuid.uuid4())
    trace_id, root = _ids()
    payload = " ".join(HOSTILE)
    spans = [
        otlp_span(
            trace_id,
            root,
            HOSTILE[0],
            session_id=session_id,
            error=HOSTILE[1],
            attributes={
                "honeyhive.session_name": HOSTILE[2],
                "honeyhive.project": HOSTILE[5],
                "honeyhive_event_type": "model",
                "honeyhive_config.model": HOSTILE[2],
                "honeyhive_inputs.messages.0.role": HOSTILE[4],
                "honeyhive_inputs.messages.0.content": payload,
                "honeyhive_outputs.result": json.dumps({HOSTILE[0]: [HOSTILE[1]] * 3}),
                HOSTILE[3]: payload,
                "honeyhive_metrics.prompt_tokens": 3,
            },
        )
    ]
    for index, text in enumerate(HOSTILE):
        spans.append(
            otlp_span(
                trace_id,
                uuid.uuid4().hex[:16],
                text,
                parent=root,
                session_id=session_id,
                start_ns=START + index * 1000,
                attributes={
                    "openinference.span.kind": text,
                    "llm.model_name": text,
                    "llm.input_messages.0.message.role": "user",
                    "llm.input_messages.0.message.content": text * 40,  # long: folded
                    "llm.output_messages.0.message.role": text,
                    "llm.output_messages.0.message.content": text,
                    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": text,
                    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": (
                        json.dumps({"q": text})
                    ),
                    "input.value": json.dumps({"messages": [{"role": text, "content": text}]}),
                    "gen_ai.system_instructions": text,
                },
            )
        )
    _send(url, *spans)
    httpx.post(
        url + "/events",
        json={
            "event": {
                "event_name": HOSTILE[1],
                "event_type": HOSTILE[2],
                "session_id": session_id,
                "parent_id": root,
                "inputs": {HOSTILE[0]: HOSTILE[4]},
                "error": HOSTILE[0],
            }
        },
    )
    httpx.put(url + "/events", json={"event_id": session_id, "metadata": {HOSTILE[0]: HOSTILE[1]}})
    return {"session": session_id, "root": root}


def test_no_script_from_any_captured_value_ever_runs(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    made = _hostile_session(local.url)
    injected = (
        "(() => ({xss: window.__xss === undefined ? null : window.__xss,"
        " tags: document.querySelectorAll("
        "'img, svg, iframe, script:not([src]), main a[onclick]').length}))()"
    )
    pages = [
        "/",
        f"/?session={made['session']}",
        f"/?q={HOSTILE[0]}",
        "/?q=script",
        "/?q=xss&type=" + HOSTILE[2],
        f"/?trace={HOSTILE[1]}",
    ]
    for page in pages:
        _open(
            chromium,
            local.url + page,
            "document.getElementById('main').innerText.indexOf('Loading') < 0",
        )
        time.sleep(0.3)
        assert chromium.evaluate(injected) == {"xss": None, "tags": 0}, page
    # Every span of the session, selected in turn, its details drawn.
    _open(
        chromium,
        f"{local.url}/?session={made['session']}&span={made['root']}",
        "document.querySelectorAll('#detail .msg').length > 0",
    )
    assert HOSTILE[0] in _text(chromium, "#detail")  # shown as text
    for _ in range(len(HOSTILE) + 2):
        chromium.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'j'}))")
        time.sleep(0.15)
        chromium.evaluate(
            "document.querySelectorAll('#detail details').forEach(d => d.open = true)"
        )
        assert chromium.evaluate(injected) == {"xss": None, "tags": 0}
    assert HOSTILE[1] in chromium.evaluate("document.body.innerText")


def test_a_traced_stream_shows_its_answer_and_time_to_first_chunk(
    local: RunningCollector, chromium: browser.DevTools
) -> None:
    """The SDK end to end: ``@trace`` on a generator over the OpenAI SDK's stream helper, sent
    by a real tracer to the collector, read in the viewer."""
    from openai import OpenAI

    from honeyhive import HoneyHiveTracer, trace

    from support.models import ModelServer

    model = ModelServer()
    tracer = HoneyHiveTracer(server_url=local.url, project="streams", schedule_delay=0.05)
    try:
        client = OpenAI(base_url=f"{model.url}/v1", api_key="sk-test", max_retries=0)

        @trace(tracer=tracer, event_type="model", event_name="chat_completion_stream")
        def answer(question: str) -> Iterator[Any]:
            messages: Any = [{"role": "user", "content": question}]
            with client.chat.completions.stream(model="gpt-4o-mini", messages=messages) as s:
                yield from s

        assert list(answer("How long do refunds take?"))
        assert tracer.flush(5.0)
    finally:
        tracer.close()
        model.close()
    _open(
        chromium,
        f"{local.url}/?session={tracer.session_id}",
        "[...document.querySelectorAll('.row, [data-span]')].some("
        "r => r.innerText.includes('chat_completion_stream'))",
    )
    chromium.evaluate(
        "[...document.querySelectorAll('.row, [data-span]')].find("
        "r => r.innerText.includes('chat_completion_stream')).click()"
    )
    chromium.wait_for("!!document.querySelector('#detail .llm-facts')")
    sides = chromium.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#detail section')]"
        ".filter(s => s.querySelector('h3'))"
        ".map(s => [s.querySelector('h3').innerText.toLowerCase(),"
        " s.innerText.slice(s.querySelector('h3').innerText.length).trim()]))"
    )
    assert sides["output"].strip('"') == "Refunds take five days."  # the joined answer
    assert "How long do refunds take?" in sides["input"]
    assert "first chunk" in _text(chromium, "#detail .llm-facts")

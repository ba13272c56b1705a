"""The published ``honeyhive`` 1.7.0, unchanged, pointed at our collector (``honeyhive serve``).

The package runs in an environment of its own (``support.published``: made once, reused by later
runs; the test is skipped, saying why, when the package index cannot be reached). A script
written for it uses ``HoneyHiveTracer.init``, ``@trace``, ``enrich_span``, ``enrich_session``,
``create_event``, ``create_session`` and ``with_session``; the collector must file everything
where the published semantics say: one session for the tracer (not two: the published client
falls back to a random session id unless the session start is answered as the HoneyHive API
answers it), one for the request, one for the block, each with its spans, enrichments and events.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from honeyhive.collector import RunningCollector, start

from support.published import published_python_or_skip

SCRIPT = r"""
import json, os
from honeyhive import HoneyHiveTracer, enrich_session, enrich_span, trace

tracer = HoneyHiveTracer.init(
    api_key="hh_published_test_key",
    source="ci",
    session_name="published-run",
    server_url=os.environ["COLLECTOR_URL"],
    inputs={"topic": "refunds"},
)

@trace(event_type="tool", event_name="lookup")
def lookup(query):
    enrich_span(metadata={"stage": "lookup"}, metrics={"score": 0.5})
    return {"answer": query.upper()}

@trace(event_type="chain")
def answer(question):
    return lookup(question)["answer"]

answer("how long?")
tracer.enrich_session(metadata={"plan": "pro"}, user_properties={"user": "u1"})
enrich_session(tracer.session_id, {"via": "free function"})
event_id = tracer.create_event(
    "retrieval", event_type="tool", inputs={"q": "refund"}, outputs={"docs": 3}, duration=12.5
)

request_id = tracer.create_session(session_name="request-1", inputs={"path": "/chat"})

@trace(tracer=tracer, event_type="model", event_name="reply")
def reply():
    return "5 days"

reply()
tracer.enrich_session(outputs={"status": 200})

with tracer.with_session("scoped", inputs={"q": "x"}) as scoped_id:
    @trace(tracer=tracer, event_type="tool", event_name="inside")
    def inside():
        return 1

    inside()

print(json.dumps({
    "session_id": tracer.session_id,
    "request_id": request_id,
    "scoped_id": scoped_id,
    "event_id": event_id,
    "flushed": tracer.flush(10000),
}))
"""


@pytest.fixture(scope="module")
def python() -> Path:
    return published_python_or_skip()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[RunningCollector]:
    with start(port=0, db_path=tmp_path / "traces.db") as running:
        yield running


def _get(url: str) -> Any:
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _span_attributes(base: str, span: dict[str, Any]) -> dict[str, Any]:
    detail = _get(f"{base}/api/spans/{span['trace_id']}/{span['span_id']}")
    (found,) = detail["spans"]
    return dict(found["attributes"])


def _wait_for_spans(base: str, session_id: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        detail = _get(f"{base}/api/sessions/{session_id}")
        if len(detail["spans"]) >= count or time.monotonic() > deadline:
            return dict(detail)
        time.sleep(0.05)


def test_the_published_sdk_files_sessions_spans_and_enrichments_where_it_means_to(
    python: Path, served: RunningCollector
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "HONEYHIVE_", "OTEL_"))}
    env.pop("PYTHONPATH", None)
    env["COLLECTOR_URL"] = served.url
    done = subprocess.run(
        [str(python), "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = json.loads(done.stdout.strip().splitlines()[-1])
    assert ran["flushed"] is True
    base = served.url

    listed = {s["session_id"]: s for s in _get(f"{base}/api/sessions")["sessions"]}
    # Exactly the sessions it means: its own (not a random one beside it), the request's and
    # the with_session block's.
    assert set(listed) == {ran["session_id"], ran["request_id"], ran["scoped_id"]}

    own = _wait_for_spans(base, ran["session_id"], 2)
    session = own["session"]
    assert (session["name"], session["source"], session["started"]) == ("published-run", "ci", 1)
    assert session["inputs"] == {"topic": "refunds"}
    assert session["metadata"] == {"plan": "pro", "via": "free function"}
    assert session["user_properties"] == {"user": "u1"}
    spans = {s["name"]: s for s in own["spans"]}
    assert set(spans) == {"lookup", "__main__.answer"}
    assert spans["lookup"]["parent_span_id"] == spans["__main__.answer"]["span_id"]
    assert (spans["lookup"]["event_type"], spans["__main__.answer"]["event_type"]) == (
        "tool",
        "chain",
    )
    lookup = _span_attributes(base, spans["lookup"])
    assert lookup["honeyhive_metadata.stage"] == "lookup"
    assert lookup["honeyhive_metrics.score"] == 0.5
    assert lookup["honeyhive_inputs.query"] == "how long?"
    (event,) = own["events"]
    assert (event["event_id"], event["name"], event["event_type"]) == (
        ran["event_id"],
        "retrieval",
        "tool",
    )
    assert event["body"]["inputs"] == {"q": "refund"}

    request = _wait_for_spans(base, ran["request_id"], 1)
    assert request["session"]["name"] == "request-1"
    assert request["session"]["inputs"] == {"path": "/chat"}
    assert request["session"]["outputs"] == {"status": 200}
    assert [(s["name"], s["event_type"]) for s in request["spans"]] == [("reply", "model")]

    scoped = _wait_for_spans(base, ran["scoped_id"], 1)
    assert (scoped["session"]["name"], scoped["session"]["inputs"]) == ("scoped", {"q": "x"})
    assert [s["name"] for s in scoped["spans"]] == ["inside"]

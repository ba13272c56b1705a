"""The local collector's ``POST /events/batch`` (what the SDK's API channel and the published SDK
send) and its sockets (``TCP_NODELAY`` on every accepted connection)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from honeyhive.collector import RunningCollector, start


@pytest.fixture
def local(tmp_path: Path) -> Iterator[RunningCollector]:
    with start(port=0, db_path=tmp_path / "traces.db") as running:
        yield running


def _get(url: str, path: str) -> Any:
    response = httpx.get(url + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_batch_starts_sessions_and_stores_their_events(local: RunningCollector) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        {
            "event_type": "session",
            "event_id": first,
            "session_id": first,
            "event_name": "GET /users/{user_id}",
            "source": "production",
            "project": "shop",
            "inputs": {"question": "refunds?"},
            "metadata": {"run": 1},
            "user_properties": {"plan": "pro"},  # no column of its own: kept as an update
        },
        {"event_type": "session", "session_id": second, "event_name": "POST /chat"},
        {
            "event_type": "tool",
            "event_id": "e-1",
            "event_name": "lookup",
            "session_id": first,
            "duration": 5,
            "metrics": {"hits": 3},
        },
        {"event_type": "model", "event_name": "answer", "session_id": second, "error": "boom"},
    ]
    answer = httpx.post(local.url + "/events/batch", json={"events": events}, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    assert body["event_ids"][:3] == [first, second, "e-1"]
    assert len(body["event_ids"]) == 4
    assert "session_id" not in body

    one = _get(local.url, f"/api/sessions/{first}")
    assert one["session"]["name"] == "GET /users/{user_id}"
    assert one["session"]["origin"] == "session_start"
    assert (one["session"]["source"], one["session"]["project"]) == ("production", "shop")
    assert one["session"]["inputs"] == {"question": "refunds?"}
    assert one["session"]["metadata"] == {"run": 1}
    assert one["session"]["user_properties"] == {"plan": "pro"}
    (lookup,) = one["events"]
    assert (lookup["event_id"], lookup["name"]) == ("e-1", "lookup")
    assert lookup["body"]["metrics"] == {"hits": 3}
    two = _get(local.url, f"/api/sessions/{second}")
    assert two["session"]["name"] == "POST /chat"
    assert two["session"]["error_count"] == 1
    assert _get(local.url, "/api/stats")["sessions"] == 2


def test_a_single_session_batch_answers_its_session(local: RunningCollector) -> None:
    """The published SDK's shape: ``is_single_session`` with ``session_properties``."""
    body = {
        "events": [
            {"event_type": "chain", "event_name": "step-1", "source": "dev", "project": "p"},
            {"event_type": "tool", "event_name": "step-2"},
        ],
        "is_single_session": True,
        "session_properties": {"session_name": "one run", "metadata": {"k": "v"}},
    }
    answer = httpx.post(local.url + "/events/batch", json=body, timeout=10).json()
    session_id = answer["session_id"]
    assert answer["success"] is True
    assert len(answer["event_ids"]) == 2
    detail = _get(local.url, f"/api/sessions/{session_id}")
    assert detail["session"]["name"] == "one run"
    assert detail["session"]["metadata"] == {"k": "v"}
    assert sorted(e["name"] for e in detail["events"]) == ["step-1", "step-2"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": {"a": 1}}, "events"),
        ({"events": [{"event_type": "tool"}, 3]}, "events[2]"),
        ({"events": [{"event_type": "session", "session_id": 7}]}, "session_id"),
        ({"events": [{"event_type": "tool", "duration": -1}]}, "events[1]"),
        ({"events": [], "is_single_session": "yes"}, "is_single_session"),
    ],
)
def test_a_malformed_batch_is_refused_whole(
    local: RunningCollector, body: dict[str, Any], message: str
) -> None:
    good = {"event_type": "session", "session_id": str(uuid.uuid4()), "event_name": "kept?"}
    if isinstance(body["events"], list):
        body = {**body, "events": [good, *body["events"]]}
    answer = httpx.post(local.url + "/events/batch", json=body, timeout=10)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert _get(local.url, "/api/stats")["sessions"] == 0  # nothing of it was stored


def test_every_accepted_connection_has_tcp_nodelay(local: RunningCollector) -> None:
    """Without it, each keep-alive request waited ~40 ms for the client's delayed ACK."""
    with httpx.Client(timeout=10) as client:
        for _ in range(3):  # one keep-alive connection, reused
            assert client.get(local.url + "/api/health").status_code == 200
        server = local._background._server
        sockets = [
            connection.transport.get_extra_info("socket")
            for connection in server.server_state.connections
        ]
        assert sockets, "the server has no open connection"
        for sock in sockets:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_a_session_start_answers_as_the_honeyhive_api_does(local: RunningCollector) -> None:
    """The published 1.x client needs all five ids in the answer (else it files its spans under
    a random session it never started); what the start carries besides its own fields is kept."""
    session_id = str(uuid.uuid4())
    body = {
        "session": {
            "session_id": session_id,
            "session_name": "req-1",
            "source": "ci",
            "project": "shop",
            "inputs": {"q": "hi"},
            "metadata": {"tier": "free"},
            "user_properties": {"user": "u1"},
            "run_id": "RUN1",  # where the published session_start() puts evaluation ids
        }
    }
    answer = httpx.post(local.url + "/session/start", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "session_id": session_id,
        "event_id": session_id,
        "org_id": "local",
        "workspace_id": "local",
        "project_id": "local",
    }
    session = _get(local.url, f"/api/sessions/{session_id}")["session"]
    assert (session["name"], session["source"], session["project"]) == ("req-1", "ci", "shop")
    assert session["inputs"] == {"q": "hi"}
    assert session["metadata"] == {"tier": "free"}
    assert session["user_properties"] == {"user": "u1"}
    assert session["run_id"] == "RUN1"

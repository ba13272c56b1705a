"""``evaluate()`` end to end against the local collector: the run, its sessions, the result.

Every test runs the real thing: ``evaluate`` with its tracer and worker threads, the product
collector (``honeyhive.collector.start``) storing sessions, spans, updates and runs in SQLite,
and the collector's own ``/v1/runs/{id}/result`` and comparison read back over HTTP.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any, Callable

import httpx
import pytest
from opentelemetry import baggage

from honeyhive import BaseEvaluator, HoneyHive, aevaluator, evaluate, evaluator
from honeyhive.collector import RunningCollector
from honeyhive.experiments import APIError

EVALUATION_KEYS = ("run_id", "dataset_id", "datapoint_id")
_seen: contextvars.ContextVar[str] = contextvars.ContextVar("_seen", default="")


def _dataset(n: int = 20) -> list[dict[str, Any]]:
    return [
        {"id": f"q{i}", "inputs": {"n": i, "text": f"question {i}"}, "ground_truth": {"n": i * 2}}
        for i in range(n)
    ]


def _result(url: str, run_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/v1/runs/{run_id}/result", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _session(url: str, session_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/api/sessions/{session_id}", params={"full": "1"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


class _Concurrency:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def test_a_run_of_twenty_datapoints_with_two_workers(local: RunningCollector) -> None:
    running = _Concurrency()
    sessions_seen: dict[str, str] = {}
    bled: list[str] = []

    def double(datapoint: dict[str, Any]) -> dict[str, Any]:
        with running:
            if _seen.get():  # set by an earlier datapoint on this thread: context bled
                bled.append(datapoint["id"])
            _seen.set(datapoint["id"])
            sessions_seen[datapoint["id"]] = str(baggage.get_baggage("session_id"))
            time.sleep(0.01)
            if datapoint["inputs"]["n"] == 7:
                raise ValueError("seven is not allowed")
            return {"n": datapoint["inputs"]["n"] * 2}

    @evaluator
    def correct(outputs: Any, inputs: Any, ground_truth: Any) -> float:
        return 1.0 if outputs["n"] == ground_truth["n"] else 0.0

    def fragile(outputs: Any, inputs: Any) -> int:
        if inputs["n"] == 3:
            raise RuntimeError("the judge fell over")
        return int(inputs["n"])

    result = evaluate(
        double,
        dataset=_dataset(),
        evaluators=[correct, fragile],
        server_url=local.url,
        name="twenty",
        max_workers=2,
        print_results=False,
    )

    # What the user gets back.
    assert result.status == "completed"
    assert [p.datapoint_id for p in result.datapoints] == [f"EXT-q{i}" for i in range(20)]
    assert result.failed == ["EXT-q3", "EXT-q7"]
    assert len(result.passed) == 18
    assert result.datapoints[7].error == "ValueError: seven is not allowed"
    assert result.datapoints[7].outputs is None
    assert result.datapoints[7].scores == {}
    assert result.datapoints[3].evaluator_errors == {"fragile": "RuntimeError: the judge fell over"}
    assert result.datapoints[3].scores == {"correct": 1.0}  # the other evaluator still ran
    assert result.datapoints[5].outputs == {"n": 10}
    assert result.datapoints[5].scores == {"correct": 1.0, "fragile": 5}
    summary = result.summary()
    assert summary["correct"] == {"mean": 1.0, "min": 1.0, "max": 1.0, "count": 19}
    fragile_values = [i for i in range(20) if i not in (3, 7)]
    assert summary["fragile"] == {
        "mean": sum(fragile_values) / 18,
        "min": 0.0,
        "max": 19.0,
        "count": 18,
    }
    dumped = result.model_dump()
    assert dumped["datapoints"][7]["error"] == "ValueError: seven is not allowed"
    assert dumped["datapoints"][7]["passed"] is False
    assert running.most == 2  # max_workers bounds it, and both were used
    assert bled == []
    session_ids = [p.session_id for p in result.datapoints]
    assert len(set(session_ids)) == 20
    assert sessions_seen == {f"q{i}": session_ids[i] for i in range(20)}

    # What the collector stored: a session per datapoint, with the evaluation ids.
    for point in result.datapoints:
        stored = _session(local.url, point.session_id)
        ids = {k: stored["session"]["metadata"].get(k) for k in EVALUATION_KEYS}
        assert ids == {
            "run_id": result.run_id,
            "dataset_id": result.dataset_id,
            "datapoint_id": point.datapoint_id,
        }
        (span,) = stored["spans"]
        assert span["name"] == "double"
        for key in EVALUATION_KEYS:
            assert span["attributes"][f"honeyhive_metadata.{key}"] == ids[key]

    # The stored run matches the returned result.
    stored_run = _result(local.url, result.run_id)
    assert stored_run["status"] == "completed"
    assert stored_run["run_object"]["name"] == "twenty"
    assert stored_run["passed"] == result.passed
    assert stored_run["failed"] == result.failed
    rows = stored_run["rows"]
    assert [r["session_id"] for r in rows] == session_ids
    for row, point in zip(rows, result.datapoints):
        assert row["datapoint_id"] == point.datapoint_id
        assert row["metrics"] == point.scores
        assert row["outputs"] == point.outputs
        assert row["ground_truth"] == point.ground_truth
        assert row["inputs"] == point.inputs
        assert row["error"] == point.error
        assert row["evaluator_errors"] == point.evaluator_errors
    details = {d["metric_name"]: d for d in stored_run["metrics"]["details"]}
    for detail in result.metrics.details:
        assert details[detail.metric_name]["aggregate"] == pytest.approx(detail.aggregate)
        assert details[detail.metric_name]["count"] == detail.count
    assert sorted(stored_run["run_object"]["event_ids"]) == sorted(session_ids)
    metrics = httpx.get(f"{local.url}/v1/runs/{result.run_id}/metrics", timeout=10).json()
    assert metrics["totalEvents"] == 20
    assert metrics["events"][5] == {
        "event_name": "double",
        "event_type": "chain",
        "session_id": session_ids[5],
        "metadata": {"datapoint_id": "EXT-q5"},
        "metrics": {"correct": 1.0, "fragile": 5},
    }


def test_comparing_two_runs_gives_the_deltas(local: RunningCollector) -> None:
    def baseline(datapoint: dict[str, Any]) -> int:
        return int(datapoint["inputs"]["n"])

    def candidate(datapoint: dict[str, Any]) -> int:
        n = int(datapoint["inputs"]["n"])
        return n + 2 if n % 2 == 0 else n - 1 if n % 3 == 0 else n

    def score(outputs: int) -> int:
        return outputs

    def steady(outputs: int, inputs: Any) -> int:
        return 1

    data = _dataset(10)
    old = evaluate(
        baseline,
        dataset=data,
        evaluators=[score, steady],
        server_url=local.url,
        print_results=False,
    )
    new = evaluate(
        candidate,
        dataset=data,
        evaluators=[score, steady],
        server_url=local.url,
        print_results=False,
    )
    answer = httpx.get(f"{local.url}/api/runs/{new.run_id}/compare/{old.run_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    compared = answer.json()
    expected = {}
    for i in range(10):
        delta = 2 if i % 2 == 0 else -1 if i % 3 == 0 else 0
        expected[f"EXT-q{i}"] = delta
    assert {r["datapoint_id"]: r["deltas"]["score"] for r in compared["rows"]} == expected
    assert all(r["deltas"]["steady"] == 0 for r in compared["rows"])
    assert compared["counts"] == {"improved": 5, "regressed": 2, "mixed": 0, "unchanged": 3}
    score_metric = next(m for m in compared["metrics"] if m["metric_name"] == "score")
    assert score_metric["improved_count"] == 5
    assert score_metric["degraded_count"] == 2
    assert score_metric["old_aggregate"] == pytest.approx(4.5)
    assert score_metric["new_aggregate"] == pytest.approx(4.5 + (10 - 2) / 10)
    # The published client's route answers the same.
    with HoneyHive(server_url=local.url) as client:
        legacy = client.experiments.compare_runs(new.run_id, old.run_id)
    assert legacy["commonDatapoints"] == list(expected)


def test_a_comparison_says_why_each_datapoint_changed(local: RunningCollector) -> None:
    """The new run's error, the old run's error that is gone, or the explanation that changed:
    in the API's rows and in ``honeyhive runs --compare``."""
    import subprocess
    import sys

    from support.local_collector import clean_env

    def version(broken: int, short: bool) -> Callable[[dict[str, Any]], str]:
        def answer(datapoint: dict[str, Any]) -> str:
            if datapoint["inputs"]["n"] == broken:
                raise RuntimeError(f"no answer for {broken}")
            return "yes" if short else "yes, certainly"

        return answer

    def brevity(outputs: str) -> dict[str, Any]:
        return {"score": 1 / len(outputs), "explanation": f"{len(outputs)} characters"}

    data = _dataset(3)
    old = evaluate(
        version(0, False),
        dataset=data,
        evaluators=[brevity],
        server_url=local.url,
        print_results=False,
    )
    new = evaluate(
        version(1, True),
        dataset=data,
        evaluators=[brevity],
        server_url=local.url,
        print_results=False,
    )
    answer = httpx.get(f"{local.url}/api/runs/{new.run_id}/compare/{old.run_id}", timeout=10)
    why = {row["datapoint_id"]: (row["verdict"], row["why"]) for row in answer.json()["rows"]}
    assert why == {
        "EXT-q0": ("improved", "fixed: RuntimeError: no answer for 0"),
        "EXT-q1": ("regressed", "new: RuntimeError: no answer for 1"),
        "EXT-q2": ("improved", "brevity: 3 characters"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "honeyhive",
            "runs",
            "--url",
            local.url,
            new.run_id,
            "--compare",
            old.run_id,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("EXT-q1") and line.endswith("new: RuntimeError: no answer for 1")
        for line in lines
    ), done.stdout
    assert any(
        line.startswith("EXT-q2") and line.endswith("brevity: 3 characters") for line in lines
    ), done.stdout


def test_async_functions_and_evaluators_are_awaited(local: RunningCollector) -> None:
    """The published ``evaluate()`` never awaited ``@aevaluator`` objects: their metric was lost."""

    async def answer(datapoint: dict[str, Any]) -> str:
        await asyncio.sleep(0)
        return "x" * int(datapoint["inputs"]["n"])

    @aevaluator
    async def length(outputs: str, inputs: Any, ground_truth: Any) -> int:
        await asyncio.sleep(0)
        return len(outputs)

    class Matches(BaseEvaluator):
        async def evaluate(
            self, inputs: Any, outputs: Any, ground_truth: Any = None, **kwargs: Any
        ) -> bool:
            return len(outputs) == inputs["n"] and ground_truth == {"n": inputs["n"] * 2}

    class Polite:  # any callable object with an async __call__
        __name__ = "polite"

        async def __call__(self, outputs: str) -> float:
            await asyncio.sleep(0)
            return 0.5

    result = evaluate(
        answer,
        dataset=_dataset(4),
        evaluators=[length, Matches("matches"), Polite()],
        server_url=local.url,
        max_workers=2,
        print_results=False,
    )
    assert [p.scores for p in result.datapoints] == [
        {"length": i, "matches": True, "polite": 0.5} for i in range(4)
    ]
    assert [p.outputs for p in result.datapoints] == ["", "x", "xx", "xxx"]
    stored = _result(local.url, result.run_id)
    assert [r["metrics"] for r in stored["rows"]] == [p.scores for p in result.datapoints]
    # A non-dict output is recorded on the session (the published SDK dropped it).
    assert [r["outputs"] for r in stored["rows"]] == [{"result": "x" * i} for i in range(4)]


def test_how_functions_and_evaluators_are_called(local: RunningCollector) -> None:
    calls: list[tuple[Any, ...]] = []

    def split(inputs: dict[str, Any], ground_truth: dict[str, Any], tracer: Any) -> int:
        calls.append((inputs, ground_truth, tracer is not None))
        return int(inputs["n"])

    class Ordered(BaseEvaluator):  # inputs first, as its signature says
        def evaluate(
            self, inputs: Any, outputs: Any, ground_truth: Any = None, **kwargs: Any
        ) -> float:
            assert isinstance(inputs, dict)
            assert isinstance(outputs, int)
            return float(outputs == inputs["n"])

    def outputs_only(outputs: int) -> dict[str, Any]:
        return {"score": outputs, "explanation": "as is", "extra": 3}

    @evaluator(scale=10)
    def scaled(outputs: int, inputs: Any, ground_truth: Any, scale: int) -> int:
        return outputs * scale

    result = evaluate(
        split,
        dataset=_dataset(2),
        evaluators=[Ordered("ordered"), outputs_only, scaled],
        server_url=local.url,
        print_results=False,
    )
    assert calls[0] == ({"n": 0, "text": "question 0"}, {"n": 0}, True)
    assert result.datapoints[1].scores == {
        "ordered": 1.0,
        "outputs_only": 1,
        "outputs_only_explanation": "as is",
        "outputs_only_extra": 3,
        "scaled": 10,
    }


def test_a_run_where_every_datapoint_failed_is_marked_failed(local: RunningCollector) -> None:
    def broken(datapoint: dict[str, Any]) -> None:
        raise KeyError("no model configured")

    result = evaluate(broken, dataset=_dataset(3), server_url=local.url, print_results=False)
    assert result.status == "failed"
    assert not result.success
    assert _result(local.url, result.run_id)["status"] == "failed"


def test_a_dataset_stored_in_the_collector(local: RunningCollector) -> None:
    with HoneyHive(server_url=local.url) as client:
        _evaluate_a_stored_dataset(local, client)


def _evaluate_a_stored_dataset(local: RunningCollector, client: HoneyHive) -> None:
    created = client.datasets.create({"name": "capitals"})
    dataset_id = created.result.insertedId
    added = client.datasets.add_datapoints(
        dataset_id,
        {
            "data": [
                {"country": "France", "capital": "Paris"},
                {"country": "Peru", "capital": "Lima"},
            ],
            "mapping": {"inputs": ["country"], "ground_truth": ["capital"]},
        },
    )
    assert len(added.datapoint_ids) == 2
    assert client.datasets.get_dataset(dataset_id).datasets[0].datapoints == added.datapoint_ids
    listed_points = client._client().get(f"/v1/datasets/{dataset_id}/datapoints").json()
    assert [p["inputs"] for p in listed_points["datapoints"]] == [
        {"country": "France"},
        {"country": "Peru"},
    ]

    def capital(datapoint: dict[str, Any]) -> dict[str, str]:
        return {"capital": {"France": "Paris"}.get(datapoint["inputs"]["country"], "?")}

    def right(outputs: Any, inputs: Any, ground_truth: Any) -> bool:
        return bool(outputs["capital"] == ground_truth["capital"])

    result = evaluate(
        capital,
        dataset_id=dataset_id,
        evaluators=[right],
        server_url=local.url,
        print_results=False,
    )
    assert [p.datapoint_id for p in result.datapoints] == added.datapoint_ids
    assert [p.scores["right"] for p in result.datapoints] == [True, False]
    run = client.experiments.get_run(result.run_id).evaluation
    assert run.dataset_id == dataset_id
    assert run.status == "completed"
    listed = client.experiments.list_runs(dataset_id=dataset_id)
    assert [r.run_id for r in listed.evaluations] == [result.run_id]


def test_bad_arguments_are_refused_before_anything_is_sent(local: RunningCollector) -> None:
    def f(datapoint: Any) -> None:
        return None

    with pytest.raises(ValueError, match="either 'dataset' or 'dataset_id'"):
        evaluate(f, server_url=local.url)
    with pytest.raises(ValueError, match="both 'dataset' and 'dataset_id'"):
        evaluate(f, dataset=_dataset(1), dataset_id="x", server_url=local.url)
    with pytest.raises(ValueError, match="max_workers"):
        evaluate(f, dataset=_dataset(1), max_workers=0, server_url=local.url)
    with pytest.raises(ValueError, match="aggregate_function"):
        evaluate(f, dataset=_dataset(1), aggregate_function="mode", server_url=local.url)
    with pytest.raises(ValueError, match=r"dataset\[1\] must be a dict"):
        evaluate(f, dataset=[{"inputs": {}}, "oops"], server_url=local.url)
    with pytest.raises(ValueError, match="checker"):
        evaluator(checker="value > 0.5")(lambda outputs: 1)
    assert httpx.get(f"{local.url}/v1/runs").json()["evaluations"] == []


_INTERRUPTED_RUN = """
import sys, threading, time
from honeyhive import evaluate

started = threading.Event()

def slow(datapoint):
    print("started", datapoint["id"], flush=True)
    time.sleep(0.3)
    return {"n": datapoint["inputs"]["n"]}

def score(outputs):
    return outputs["n"]

data = [{"id": f"q{i}", "inputs": {"n": i}} for i in range(40)]
try:
    evaluate(slow, dataset=data, evaluators=[score], server_url=sys.argv[1], name="stopped",
             max_workers=2, print_results=False)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
"""


def test_ctrl_c_stops_the_run_and_marks_it_cancelled(
    local: RunningCollector, tmp_path: Any
) -> None:
    import signal
    import subprocess
    import sys

    from support.local_collector import clean_env

    script = tmp_path / "run.py"
    script.write_text(_INTERRUPTED_RUN)
    process = subprocess.Popen(
        [sys.executable, str(script), local.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert process.stdout is not None
    lines = []
    while len(lines) < 4:  # two rounds of two workers have started
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        lines.append(line)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert "interrupted" in out, err
    assert process.returncode != 0  # KeyboardInterrupt reached the caller
    runs = httpx.get(f"{local.url}/v1/runs", timeout=10).json()["evaluations"]
    assert [r["status"] for r in runs] == ["cancelled"]
    stored = _result(local.url, runs[0]["run_id"])
    finished = [r for r in stored["rows"] if r["outputs"] is not None]
    assert 2 <= len(finished) < 40  # what finished is kept; the rest never started
    assert all(r["metrics"] == {"score": r["outputs"]["n"]} for r in finished)
    # The run names the sessions that finished before Ctrl-C (one abandoned mid-way may still
    # have recorded its output since).
    assert set(runs[0]["event_ids"]) <= {r["session_id"] for r in finished}
    assert len(runs[0]["event_ids"]) >= 2


def test_a_large_run_is_delivered_before_the_tracer_closes(
    local: RunningCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of session enrichments are still queued when the last datapoint finishes;
    evaluate waits for them as long as the backend takes them, rather than one flush round
    and the few seconds closing the tracer gives (short here, to show it in a test)."""
    monkeypatch.setenv("HH_EXPORT_TIMEOUT", "2")
    monkeypatch.setenv("HH_EXIT_TIMEOUT", "0.1")
    count = 2000
    result = evaluate(
        lambda datapoint: {"n": datapoint["inputs"]["n"]},
        dataset=[{"inputs": {"n": i}} for i in range(count)],
        evaluators=[lambda outputs: outputs["n"] % 3],
        server_url=local.url,
        max_workers=8,
        print_results=False,
    )
    stats = httpx.get(f"{local.url}/api/stats", timeout=10).json()
    assert stats["sessions"] == count
    assert stats["updates"] == count  # every session's outputs and metrics arrived
    stored = _result(local.url, result.run_id)
    assert all(row["metrics"] == {"<lambda>": row["outputs"]["n"] % 3} for row in stored["rows"])
    assert result.not_recorded == []


def test_what_did_not_reach_the_backend_is_said_in_the_result(
    capsys: pytest.CaptureFixture[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from honeyhive.collector import start

    monkeypatch.setenv("HH_EXPORT_TIMEOUT", "1")
    monkeypatch.setenv("HH_EXIT_TIMEOUT", "0.5")

    with start(port=0, db_path=tmp_path / "gone.db") as running:
        url = running.url

        def answer(datapoint: dict[str, Any]) -> dict[str, Any]:
            if datapoint["inputs"]["n"] == 0:
                running.__exit__(None, None, None)  # the backend goes away mid-run
            return {"n": datapoint["inputs"]["n"]}

        result = evaluate(
            answer,
            dataset=[{"inputs": {"n": i}} for i in range(4)],
            server_url=url,
            max_workers=1,
        )
    assert result.status == "completed"  # every datapoint ran ...
    said = " | ".join(result.not_recorded)  # ... but the backend did not get it: said so
    assert f"PUT /v1/runs/{result.run_id}" in said
    assert "session starts and enrichments (outputs, metrics) not delivered" in said
    assert result.model_dump()["not_recorded"] == result.not_recorded
    printed = capsys.readouterr().out
    assert "NOT RECORDED:" in printed
    assert "not delivered" in printed


def test_ctrl_c_while_the_run_is_delivered_still_marks_it_cancelled(
    local: RunningCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for delivery after the last datapoint can be long; Ctrl-C during it stops the
    wait, and the run is still updated (cancelled) rather than left pending for ever."""
    import os
    import signal

    from honeyhive._collector.store import Store

    slow_update = Store.add_update

    def add_update(self: Store, update: Any) -> None:  # a backend slow to take enrichments
        time.sleep(0.1)
        slow_update(self, update)

    monkeypatch.setattr(Store, "add_update", add_update)
    count = 20

    def answer(datapoint: dict[str, Any]) -> dict[str, Any]:
        if datapoint["inputs"]["n"] == count - 1:  # the last one: Ctrl-C once it is done
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        return {"n": datapoint["inputs"]["n"]}

    with pytest.raises(KeyboardInterrupt):
        evaluate(
            answer,
            dataset=[{"inputs": {"n": i}} for i in range(count)],
            server_url=local.url,
            max_workers=1,
            name="stopped while delivering",
            print_results=False,
        )
    runs = httpx.get(f"{local.url}/v1/runs", timeout=10).json()["evaluations"]
    assert [(r["name"], r["status"]) for r in runs] == [("stopped while delivering", "cancelled")]
    assert len(runs[0]["event_ids"]) == count  # every datapoint ran; the run names them all


def test_hostile_outputs_and_metrics_are_recorded_and_said(local: RunningCollector) -> None:
    """NaN, infinities, objects JSON cannot hold and a huge string, from the function and the
    evaluators: the run completes, the collector stores and answers it, and what could not be
    a metric is said as that evaluator's error in words a user understands."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    def answer(datapoint: dict[str, Any]) -> Any:
        n = datapoint["inputs"]["n"]
        if n == 0:
            return {"nan": float("nan"), "inf": float("inf"), "obj": Opaque(), "big": "x" * 200_000}
        return Opaque() if n == 1 else {"n": n}

    def judge(outputs: Any, inputs: dict[str, Any]) -> Any:
        return {0: 1, 1: 1, 2: float("nan"), 3: float("-inf"), 4: {"score": float("nan")}}[
            inputs["n"]
        ]

    result = evaluate(
        answer,
        dataset=[{"inputs": {"n": i}} for i in range(5)],
        evaluators=[judge],
        server_url=local.url,
        print_results=False,
    )
    assert result.status == "completed"
    errors = [point.evaluator_errors.get("judge") for point in result.datapoints]
    assert errors == [
        None,
        None,
        "returned nan, not a finite number",
        "returned -inf, not a finite number",
        "score: not a finite number, a bool or a string",
    ]
    stored = _result(local.url, result.run_id)
    assert [row["metrics"] for row in stored["rows"]] == [{"judge": 1}, {"judge": 1}, {}, {}, {}]
    assert httpx.get(f"{local.url}/api/runs/{result.run_id}", timeout=10).status_code == 200


def test_the_client_never_shows_credentials_in_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from honeyhive import MissingApiKeyError

    monkeypatch.delenv("HH_API_KEY", raising=False)
    monkeypatch.delenv("HONEYHIVE_API_KEY", raising=False)
    client = HoneyHive(server_url="https://robot:hunter2@api.example.com/?token=tok-secret")
    with client:
        shown = [repr(client)]
        with pytest.raises(MissingApiKeyError) as raised:
            client.datasets.list()
        shown.append(str(raised.value))
    for text in shown:
        assert "api.example.com" in text
        assert "hunter2" not in text, text
        assert "tok-secret" not in text, text


class _DatasetApi:
    """A HoneyHive API on loopback with one dataset of three datapoints: ``a`` is there,
    ``gone`` was deleted (404), and ``busy`` answers 429; it records what was called."""

    def __init__(self) -> None:
        import http.server
        import json

        calls = self.calls = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                calls.append(self.path)
                status, body = 404, {"error": "no such thing"}
                if self.path.startswith("/v1/datasets"):
                    status, body = (
                        200,
                        {"datasets": [{"id": "ds", "datapoints": ["a", "gone", "busy"]}]},
                    )
                elif self.path == "/v1/datapoints/a":
                    status, body = 200, {"datapoint": [{"id": "a", "inputs": {"n": 1}}]}
                elif self.path == "/v1/datapoints/busy":
                    status, body = 429, {"error": "rate limited"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                calls.append("POST " + self.path)
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_datapoint_that_cannot_be_fetched_stops_the_run_before_it_starts() -> None:
    from honeyhive.experiments import APIError

    api = _DatasetApi()
    try:
        with pytest.raises(APIError) as raised:
            evaluate(lambda dp: dp, dataset_id="ds", server_url=api.url, print_results=False)
    finally:
        api.close()
    assert raised.value.status_code == 429
    assert "/v1/datapoints/gone" in api.calls  # a deleted one is skipped, and the fetch goes on
    assert not [call for call in api.calls if call.startswith("POST")]  # no run was created


def test_user_code_lands_in_its_own_datapoints_session(local: RunningCollector) -> None:
    """With four workers interleaving: ``enrich_session``, ``tracer.create_event``, nested
    ``@trace`` and a thread the function starts all land in that datapoint's session."""
    from honeyhive import enrich_session, trace

    @trace
    def step(n: int) -> int:
        time.sleep(0.002 * (n % 3))
        return n

    def answer(datapoint: dict[str, Any], tracer: Any) -> dict[str, Any]:
        n = datapoint["inputs"]["n"]
        enrich_session(metadata={"mine": n})
        tracer.create_event(f"event {n}", "tool", inputs={"n": n})
        worker = threading.Thread(target=step, args=(n,))
        worker.start()
        worker.join()
        return {"n": step(n)}

    result = evaluate(
        answer,
        dataset=[{"inputs": {"n": i}} for i in range(12)],
        server_url=local.url,
        max_workers=4,
        print_results=False,
    )
    assert [p.error for p in result.datapoints] == [None] * 12
    for point in result.datapoints:
        n = point.inputs["n"]
        stored = _session(local.url, point.session_id)
        assert stored["session"]["metadata"]["mine"] == n
        assert stored["session"]["metadata"]["datapoint_id"] == point.datapoint_id
        assert [e.get("name") for e in stored["events"]] == [f"event {n}"], stored["events"]
        names = sorted(span["name"].rsplit(".", 1)[-1] for span in stored["spans"])
        assert names == ["answer", "step", "step"], names
        for span in stored["spans"]:
            assert span["attributes"]["honeyhive_metadata.datapoint_id"] == point.datapoint_id


def test_honeyhive_runs_lists_shows_and_compares(local: RunningCollector, db_path: Any) -> None:
    import subprocess
    import sys

    from support.local_collector import clean_env

    def exact(outputs: Any, inputs: Any, ground_truth: Any) -> float:
        return float(outputs == ground_truth["n"])

    data = _dataset(3)
    old = evaluate(
        lambda dp: dp["inputs"]["n"] * 2,
        dataset=data,
        evaluators=[exact],
        server_url=local.url,
        name="good",
        print_results=False,
    )
    new = evaluate(
        lambda dp: 0,
        dataset=data,
        evaluators=[exact],
        server_url=local.url,
        name="worse",
        print_results=False,
    )

    def runs(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "honeyhive", "runs", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    listing = runs("--url", local.url).splitlines()
    assert listing[2].split()[:5] == [new.run_id[:8], "worse", "completed", "3", "0"]
    assert "exact=0.333" in listing[2]
    assert "exact=1.000" in listing[3]
    shown = runs("--db", str(db_path), new.run_id[:8])  # from the database, by prefix
    assert f"worse ({new.run_id}): completed, 3 passed, 0 failed" in shown
    assert "EXT-q0" in shown
    assert "EXT-q2" in shown
    compared = runs("--url", local.url, new.run_id, "--compare", old.run_id)
    assert "2 regressed" in compared
    assert "1 unchanged" in compared
    assert any(
        line.split() == ["EXT-q1", "-1.000", "regressed", "-"] for line in compared.splitlines()
    )


def test_the_example_works_as_written(local: RunningCollector) -> None:
    """``examples/experiment.py``, on its own collector and on one named by ``HH_API_URL``."""
    import subprocess
    import sys
    from pathlib import Path

    from support.local_collector import clean_env

    example = Path(__file__).resolve().parents[1] / "examples" / "experiment.py"
    alone = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=120, env=clean_env()
    )
    assert alone.returncode == 0, alone.stderr
    assert "6 datapoints in both; 0 improved, 5 regressed, 1 mixed" in alone.stdout
    shared = subprocess.run(
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(HH_API_URL=local.url),
    )
    assert shared.returncode == 0, shared.stderr
    runs = httpx.get(f"{local.url}/api/runs", timeout=10).json()["runs"]
    assert [r["name"] for r in runs] == ["capitals: second version", "capitals: first version"]
    means = {m["metric_name"]: m["mean"] for m in runs[1]["metrics"]}
    assert means["correct"] == pytest.approx(4 / 6)


def test_a_version_2_database_is_upgraded_and_its_sessions_join_their_run(
    db_path: Any, tmp_path: Any
) -> None:
    """Sessions stored before runs existed (by the published SDK, say) belong to their run."""
    import sqlite3

    from honeyhive.collector import start

    with start(port=0, db_path=db_path) as running:
        result = evaluate(
            lambda dp: {"n": dp["inputs"]["n"]},
            dataset=_dataset(3),
            evaluators=[lambda outputs: outputs["n"]],
            server_url=running.url,
            print_results=False,
        )
    # Back to version 2: no run_id column, no experiment tables.
    db = sqlite3.connect(db_path)
    db.executescript(
        "DROP INDEX sessions_by_run; ALTER TABLE sessions DROP COLUMN run_id; DROP TABLE runs; "
        "DROP TABLE datasets; DROP TABLE datapoints; "
        "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
    )
    db.close()
    with start(port=0, db_path=db_path) as running:
        assert httpx.get(f"{running.url}/v1/runs").json()["evaluations"] == []
        created = httpx.post(
            f"{running.url}/v1/runs", json={"run_id": result.run_id, "name": "again"}
        )
        assert created.status_code == 200, created.text
        rows = _result(running.url, result.run_id)["rows"]
        assert sorted(r["session_id"] for r in rows) == sorted(
            p.session_id for p in result.datapoints
        )
        assert sorted(r["metrics"]["<lambda>"] for r in rows) == [0, 1, 2]
    version = sqlite3.connect(db_path).execute("SELECT value FROM meta").fetchall()
    assert ("3",) in version


def test_the_client_says_what_went_wrong(local: RunningCollector) -> None:
    from honeyhive import MissingApiKeyError
    from honeyhive.experiments import APIError

    with HoneyHive(server_url=local.url) as client:
        with pytest.raises(APIError) as caught:
            client.experiments.get_run("no-such-run")
        assert caught.value.status_code == 404
        assert "getRun failed with status code 404: no run 'no-such-run'" in str(caught.value)
        with pytest.raises(APIError, match="status must be one of"):
            client.experiments.create_run({"status": "sideways"})
    with pytest.raises(MissingApiKeyError, match="HH_API_KEY"):
        HoneyHive(server_url="https://api.example.invalid").datasets.list()
    with pytest.raises(ValueError, match="base_url must be an http"):
        HoneyHive(server_url="api.honeyhive.ai")
    secret = "hh_secret_value_1234567890"
    assert secret not in repr(HoneyHive(api_key=secret, server_url=local.url))


def test_instrumentors_serve_the_run_and_are_undone(local: RunningCollector) -> None:
    """``instrumentors=`` factories are instrumented with the run's tracer, for the run only;
    what they trace lands in each datapoint's own session."""
    from opentelemetry.sdk.trace import TracerProvider

    given: list[Any] = []

    class FakeInstrumentor:
        provider: Any = None

        def instrument(self, tracer_provider: Any = None) -> None:
            FakeInstrumentor.provider = tracer_provider
            given.append(tracer_provider)

        def uninstrument(self) -> None:
            FakeInstrumentor.provider = None

    def call_model(datapoint: dict[str, Any]) -> str:
        provider = FakeInstrumentor.provider
        assert isinstance(provider, TracerProvider)
        with provider.get_tracer("fake-llm").start_as_current_span("chat gpt-4o"):
            return "ok"

    result = evaluate(
        call_model,
        dataset=_dataset(3),
        instrumentors=[FakeInstrumentor],
        server_url=local.url,
        max_workers=3,
        print_results=False,
    )
    assert len(given) == 1
    assert FakeInstrumentor.provider is None  # undone when the run ended
    assert result.failed == []
    for point in result.datapoints:
        spans = _session(local.url, point.session_id)["spans"]
        assert sorted(s["name"] for s in spans) == ["call_model", "chat gpt-4o"]
        chat = next(s for s in spans if s["name"] == "chat gpt-4o")
        assert chat["attributes"]["honeyhive_metadata.datapoint_id"] == point.datapoint_id


def test_the_experiment_routes_refuse_what_the_others_refuse(local: RunningCollector) -> None:
    run_id = httpx.post(f"{local.url}/v1/runs", json={"name": "kept"}).json()["run_id"]
    cross_site = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert httpx.delete(f"{local.url}/v1/runs/{run_id}", headers=cross_site).status_code == 403
    text = {"Content-Type": "text/plain"}  # what a form on another page could send
    assert httpx.post(f"{local.url}/v1/runs", content=b"{}", headers=text).status_code == 415
    bad = httpx.post(
        f"{local.url}/v1/runs", content=b'{"name":', headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("createRun: malformed JSON")
    wrong = httpx.put(f"{local.url}/v1/runs/{run_id}", json={"event_ids": "not a list"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == 'updateRun: event_ids must be a list, got "not a list"'
    assert httpx.get(f"{local.url}/v1/runs/{run_id}").json()["evaluation"]["name"] == "kept"
    assert httpx.delete(f"{local.url}/v1/runs/{run_id}").status_code == 200
    assert httpx.get(f"{local.url}/v1/runs/{run_id}").status_code == 404


def test_creating_a_run_that_exists_is_refused_and_the_run_kept(local: RunningCollector) -> None:
    """POST /v1/runs with the id of a stored run used to replace it silently: its name,
    status and results gone. It is a 409 saying how to change a run, and the run stays."""
    result = evaluate(
        lambda dp: {"n": dp["inputs"]["n"]},
        dataset=_dataset(2),
        evaluators=[lambda outputs: outputs["n"]],
        server_url=local.url,
        name="first",
        print_results=False,
    )
    before = httpx.get(f"{local.url}/v1/runs/{result.run_id}", timeout=10).json()["evaluation"]
    again = httpx.post(
        f"{local.url}/v1/runs",
        json={"run_id": result.run_id, "name": "second", "status": "pending"},
        timeout=10,
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"] == (
        f"createRun: a run with run_id {result.run_id!r} already exists; update it with "
        f"PUT /v1/runs/{result.run_id}, or create a run with another run_id"
    )
    after = httpx.get(f"{local.url}/v1/runs/{result.run_id}", timeout=10).json()["evaluation"]
    assert after == before
    assert after["name"] == "first"
    assert after["status"] == "completed"
    assert len(_result(local.url, result.run_id)["rows"]) == 2
    # evaluate() with a run id already taken says so, and changes nothing.
    with pytest.raises(APIError, match=r"createRun failed with status code 409: .*already exists"):
        evaluate(
            lambda dp: dp["inputs"],
            dataset=_dataset(2),
            server_url=local.url,
            run_id=result.run_id,
            print_results=False,
        )
    assert httpx.get(f"{local.url}/v1/runs/{result.run_id}", timeout=10).json()["evaluation"] == (
        before
    )


def test_a_body_that_could_not_be_answered_again_is_refused(local: RunningCollector) -> None:
    """NaN, an infinity, ids that are not strings, nesting too deep: each a 400 naming it, and
    the runs already stored still answer (one such run used to make every read of it a 500)."""
    kept = httpx.post(f"{local.url}/v1/runs", json={"name": "kept"}).json()["run_id"]
    json_type = {"Content-Type": "application/json"}
    refused = {
        b'{"name": "x", "configuration": {"temperature": NaN}}': "NaN is not JSON",
        b'{"name": "x", "metadata": {"score": Infinity}}': "Infinity is not JSON",
        b'{"name": "x", "results": {"big": 1e999}}': "out of range",
        b'{"name": "x", "datapoint_ids": [{"id": 1}]}': "datapoint_ids must hold strings",
        b'{"name": "x", "event_ids": ["ok", 7]}': "event_ids must hold strings",
        b'{"name": "x", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": "nested",
    }
    for body, says in refused.items():
        answer = httpx.post(f"{local.url}/v1/runs", content=body, headers=json_type, timeout=10)
        assert answer.status_code == 400, (body[:60], answer.text[:200])
        assert says in answer.json()["error"], answer.json()
    points = httpx.post(f"{local.url}/v1/datapoints", json={"inputs": {}, "linked_datasets": [1]})
    assert points.status_code == 400, points.text
    runs = httpx.get(f"{local.url}/api/runs", timeout=10)
    assert runs.status_code == 200, runs.text
    assert [run["run_id"] for run in runs.json()["runs"]] == [kept]
    for path in (f"/v1/runs/{kept}", f"/v1/runs/{kept}/result", f"/api/runs/{kept}"):
        assert httpx.get(local.url + path, timeout=10).status_code == 200, path


def test_the_printed_table(local: RunningCollector, capsys: pytest.CaptureFixture[str]) -> None:
    def half(datapoint: dict[str, Any]) -> float:
        if datapoint["inputs"]["n"] == 1:
            raise ValueError("odd one out")
        return float(datapoint["inputs"]["n"]) / 2

    def value(outputs: float) -> float:
        return outputs

    result = evaluate(
        half, dataset=_dataset(3), evaluators=[value], server_url=local.url, name="halves"
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"Run halves ({result.run_id}): completed, 2 passed, 1 failed"
    assert printed[2].split() == ["metric", "mean", "min", "max", "count"]
    assert printed[4].split() == ["value", "0.5000", "0.0000", "1.0000", "2"]
    assert printed[6].split() == ["datapoint", "output", "value", "error"]
    assert printed[9].split() == ["EXT-q1", "-", "-", "ValueError:", "odd", "one", "out"]
    assert printed[-1] == f"{local.url}/?run={result.run_id}"  # where to see it

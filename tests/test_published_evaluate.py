"""The published ``honeyhive`` 1.7.0's ``evaluate()``, unchanged, against our collector.

It runs in an environment of its own (``support.published``; skipped, saying why, when the
package index cannot be reached). The collector must answer ``/v1/runs`` and its ``/result`` in
the shapes the published client validates, and file what it sends (sessions with the run's ids,
evaluator results on its chain spans, outputs by ``PUT /events``) as a run whose result the
viewer and ``honeyhive runs`` read. A run of the same dataset by this SDK compares with it
datapoint by datapoint: both SDKs give a dataset given in code the same ids.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from honeyhive import evaluate
from honeyhive.collector import RunningCollector

from support.local_collector import clean_env
from support.published import published_python_or_skip

SCRIPT = r"""
import json, os
from honeyhive import evaluate, evaluator

@evaluator
def exact(outputs, inputs, ground_truth):
    return outputs["answer"] == ground_truth["answer"]

def length(outputs, inputs, ground_truth):
    return len(outputs["answer"])

def shout(datapoint):
    if datapoint["inputs"]["q"] == "bad":
        raise ValueError("bad question")
    return {"answer": datapoint["inputs"]["q"].upper()}

questions = ["a", "bb", "bad", "ccc"]
data = [{"inputs": {"q": q}, "ground_truth": {"answer": q.upper()}} for q in questions]
result = evaluate(shout, dataset=data, evaluators=[exact, length], api_key="hh_published_test_key",
                  server_url=os.environ["COLLECTOR_URL"], name="published run", max_workers=2,
                  print_results=False)
print(json.dumps({"run_id": result.run_id, "status": result.status, "passed": result.passed,
                  "failed": result.failed, "metrics": result.metrics.list_metrics()}))
"""


@pytest.fixture(scope="module")
def python() -> Path:
    return published_python_or_skip()


def _get(url: str) -> Any:
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_published_evaluate_records_a_run_here(python: Path, local: RunningCollector) -> None:
    done = subprocess.run(
        [str(python), "-c", SCRIPT],
        env=clean_env(COLLECTOR_URL=local.url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = json.loads(done.stdout.strip().splitlines()[-1])
    # What the published client read back from /v1/runs/{id}/result.
    assert ran["status"] == "completed"
    assert len(ran["passed"]) == 3
    assert len(ran["failed"]) == 1
    assert ran["metrics"] == ["exact", "length"]

    stored = _get(f"{local.url}/api/runs/{ran['run_id']}")
    assert stored["run_object"]["name"] == "published run"
    rows = stored["rows"]
    assert [r["inputs"] for r in rows] == [{"q": q} for q in ["a", "bb", "bad", "ccc"]]
    assert [r["metrics"] for r in rows] == [
        {"exact": True, "length": 1},
        {"exact": True, "length": 2},
        {},
        {"exact": True, "length": 3},
    ]
    assert rows[1]["outputs"] == {"answer": "BB"}
    assert rows[1]["ground_truth"] == {"answer": "BB"}
    assert "bad question" in rows[2]["error"]
    assert [r["passed"] for r in rows] == [True, True, False, True]

    # This SDK's run of the same dataset has the same datapoint ids: the two runs compare.
    def lower(datapoint: dict[str, Any]) -> dict[str, str]:
        return {"answer": str(datapoint["inputs"]["q"])}

    def exact(outputs: Any, inputs: Any, ground_truth: Any) -> bool:
        return bool(outputs["answer"] == ground_truth["answer"])

    data = [
        {"inputs": {"q": q}, "ground_truth": {"answer": q.upper()}}
        for q in ["a", "bb", "bad", "ccc"]
    ]
    ours = evaluate(
        lower, dataset=data, evaluators=[exact], server_url=local.url, print_results=False
    )
    compared = _get(f"{local.url}/api/runs/{ours.run_id}/compare/{ran['run_id']}")
    assert compared["commonDatapoints"] == [r["datapoint_id"] for r in rows]
    assert compared["counts"]["regressed"] == 3  # exact: True -> False, where the old run had it

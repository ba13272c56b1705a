"""An experiment: two versions of a small answering function, judged on the same dataset.

Run it with ``.venv/bin/python examples/experiment.py``. Nothing leaves this machine: with
``HH_API_URL`` set (say ``http://127.0.0.1:8318`` while ``honeyhive serve`` runs) the runs go
to that collector and stay in its viewer's Runs page; without it, a collector is started in a
background thread on a temporary database for the length of the script. ``evaluate`` is the
same call that records runs in HoneyHive (``HH_API_KEY`` and the default ``HH_API_URL``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from honeyhive import evaluate, evaluator, trace

CAPITALS = {"France": "Paris", "Peru": "Lima", "Japan": "Tokyo", "Kenya": "Nairobi"}
DATASET = [
    {"id": country.lower(), "inputs": {"country": country}, "ground_truth": {"capital": capital}}
    for country, capital in [*CAPITALS.items(), ("Canada", "Ottawa"), ("Australia", "Canberra")]
]


@trace(event_type="model")
def lookup(country: str, careful: bool) -> str:
    """A stand-in for a model call (no network): the careful version knows more capitals."""
    known = {**CAPITALS, "Canada": "Ottawa"} if careful else CAPITALS
    return known.get(country, "I don't know")


def first_version(datapoint: dict[str, Any]) -> dict[str, str]:
    """The function under test gets the datapoint: its ``inputs`` and ``ground_truth``."""
    return {"answer": lookup(datapoint["inputs"]["country"], careful=False)}


def second_version(datapoint: dict[str, Any]) -> dict[str, str]:
    country = datapoint["inputs"]["country"]
    return {"answer": f"The capital of {country} is {lookup(country, careful=True)}."}


@evaluator
def correct(outputs: dict[str, str], inputs: dict[str, str], ground_truth: dict[str, str]) -> bool:
    """Does the answer name the right capital?"""
    return ground_truth["capital"] in outputs["answer"]


@evaluator
def brevity(outputs: dict[str, str], inputs: dict[str, str]) -> dict[str, Any]:
    """Shorter is better: 1.0 for a word, less for each word more (a score and an explanation)."""
    words = len(outputs["answer"].split())
    return {"score": round(1 / words, 3), "explanation": f"{words} words"}


def main() -> int:
    with ExitStack() as stack:
        url = os.environ.get("HH_API_URL")
        if not url:
            from honeyhive.collector import start

            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = stack.enter_context(start(db_path=Path(folder) / "traces.db")).url
            print(f"local collector listening on {url}\n")
        runs = []
        for name, function in (("first", first_version), ("second", second_version)):
            result = evaluate(
                function,
                dataset=DATASET,
                evaluators=[correct, brevity],
                name=f"capitals: {name} version",
                server_url=url,
                max_workers=2,
            )
            runs.append(result.run_id)
            print()
        # The two runs compared, as `honeyhive runs NEW --compare OLD` prints it.
        command = [sys.executable, "-m", "honeyhive", "runs", "--url", url]
        done = subprocess.run([*command, runs[1], "--compare", runs[0]], check=False)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())

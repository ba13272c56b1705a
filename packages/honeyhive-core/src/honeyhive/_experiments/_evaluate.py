"""``evaluate()``: run a function over a dataset, judge each output, record it all as a run.

1. The datapoints: ``dataset=[...]`` (ids as the published SDK makes them) or ``dataset_id=``
   (fetched through the API).
2. The run: ``POST /v1/runs`` (``pending``, the configuration, the datapoint ids).
3. The datapoints, at most ``max_workers`` at a time, each in its own session (see ``_run``),
   all through one tracer (sessions, spans and enrichments go out batched, in the background).
4. What the datapoints sent, delivered (``_deliver``), then ``PUT /v1/runs/{id}``: the status,
   and the sessions in dataset order. ``completed``; ``failed`` when the function raised on
   every datapoint; ``cancelled`` after Ctrl-C.
5. The result, computed here (see ``_result``), with what did not reach the backend in
   ``not_recorded``; printed as a table when ``print_results``.

Ctrl-C (``KeyboardInterrupt`` in the calling thread) stops handing out datapoints (or the
wait for delivery), keeps what finished, marks the run ``cancelled``, flushes, and raises
``KeyboardInterrupt`` again.
Datapoints already running are abandoned: their threads are daemons, so they do not hold up
the exit.
"""

from __future__ import annotations

import contextvars
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from honeyhive._diagnostics import logger
from honeyhive._experiments._client import APIError, HoneyHive
from honeyhive._experiments._dataset import Dataset, external_dataset, fetch_dataset
from honeyhive._experiments._evaluators import Judge
from honeyhive._experiments._result import (
    DatapointResult,
    ExperimentResultSummary,
    summarize,
)
from honeyhive._experiments._run import Call, RunSpec, run_datapoint
from honeyhive._experiments._stats import AGGREGATES
from honeyhive._http import redact_url
from honeyhive._settings import is_loopback_url

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = ["evaluate"]

_UNSET: Any = object()


def _git() -> Optional[dict[str, str]]:
    """The commit and branch the run was made from, when inside a git work tree."""
    try:

        def git(*args: str) -> str:
            # A fixed command, no shell: the repository the run was made from, as published.
            command = ["git", *args]
            done = subprocess.run(  # noqa: S603
                command, capture_output=True, text=True, timeout=2, check=True
            )
            return str(done.stdout).strip()

        return {
            "commit_hash": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "repo": Path(git("rev-parse", "--show-toplevel")).name,
        }
    except (OSError, subprocess.SubprocessError):
        return None


def _instrumentors(factories: Any) -> list[Any]:
    """``instrumentors=``: zero-argument factories (an instrumentor class, say), as published;
    one that fails is named in a WARNING and left out."""
    if isinstance(factories, (str, bytes)) or not isinstance(factories, Sequence):
        raise ValueError(f"instrumentors must be a list of factories, got {factories!r:.80}")
    made = []
    for factory in factories:
        if not callable(factory):
            raise ValueError(f"instrumentors must hold factories (callables), got {factory!r:.80}")
        try:
            made.append(factory())
        except Exception as exc:
            logger.warning("evaluate: instrumentor factory %r raised %r; left out", factory, exc)
    return made


def _check_workers(max_workers: Any) -> int:
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a positive integer, got {max_workers!r}")
    return max_workers


class _Pool:
    """``workers`` daemon threads running ``task`` over ``items``, each in a fresh context.

    Each worker stores its result in ``finished`` itself, so an interruption of the waiting
    thread (Ctrl-C) can never lose one that was done."""

    def __init__(self, task: Callable[[Any], DatapointResult], workers: int) -> None:
        self.task = task
        self.workers = workers
        self.todo: queue.SimpleQueue[Optional[tuple[int, Any]]] = queue.SimpleQueue()
        self.changed = threading.Condition()
        self.stopped = threading.Event()
        self.finished: dict[int, Any] = {}  # what finished, by index (kept on Ctrl-C)

    def _work(self) -> None:
        while not self.stopped.is_set():
            job = self.todo.get()
            if job is None or self.stopped.is_set():
                return
            index, item = job
            try:
                value: Any = contextvars.Context().run(self.task, item)
            except BaseException as exc:  # the task never raises; if it does, say so
                value = exc
            with self.changed:
                if not self.stopped.is_set():
                    self.finished[index] = value
                self.changed.notify()

    def run(self, items: Sequence[Any]) -> dict[int, Any]:
        """Results by index. On KeyboardInterrupt, no more items start, and what finished
        before it stays in ``finished``."""
        for index, item in enumerate(items):
            self.todo.put((index, item))
        for _ in range(min(self.workers, len(items))):
            self.todo.put(None)
            threading.Thread(target=self._work, name="honeyhive-evaluate", daemon=True).start()
        try:
            with self.changed:
                while len(self.finished) < len(items):
                    self.changed.wait()
        except BaseException:
            self.stopped.set()
            raise
        return self.finished


def _run_body(
    run_id: str,
    run_name: str,
    dataset: Dataset,
    judges: Sequence[Judge],
    workers: int,
    function_name: str,
    aggregate_function: str,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    git = _git()
    if git:
        metadata["git"] = git
    body: dict[str, Any] = {
        "run_id": run_id,
        "name": run_name,
        "status": "pending",
        "event_ids": [],
        "configuration": {
            "function": function_name,
            "evaluators": [judge.name for judge in judges],
            "max_workers": workers,
            "aggregate_function": aggregate_function,
        },
        "datapoint_ids": [point.id for point in dataset.datapoints],
    }
    if dataset.external:
        metadata["offline_dataset_id"] = dataset.id
    else:
        body["dataset_id"] = dataset.id
    body["metadata"] = metadata
    return body


def evaluate(
    function: Callable[..., Any],
    *,
    dataset: Optional[Sequence[dict[str, Any]]] = None,
    dataset_id: Optional[str] = None,
    evaluators: Optional[Sequence[Any]] = None,
    instrumentors: Optional[Sequence[Callable[[], Any]]] = None,
    api_key: Optional[str] = None,
    ingestion_api_key: Optional[str] = None,
    server_url: Optional[str] = None,
    project: Optional[str] = None,
    name: Optional[str] = None,
    run_id: Optional[str] = None,
    max_workers: int = 10,
    aggregate_function: str = "average",
    verbose: bool = False,
    print_results: bool = True,
) -> ExperimentResultSummary:
    """Run ``function`` on every datapoint, judge each output with ``evaluators``, and record
    the whole as an experiment run; returns the run's result.

    ``function`` gets the datapoint (``{"inputs", "ground_truth", "id"}``), and ``tracer=``
    when it has that parameter; with parameters named ``inputs`` and ``ground_truth`` it gets
    those instead. It may be ``async``. Each evaluator gets ``(outputs, inputs, ground_truth)``
    (see ``honeyhive.evaluator``) and its result becomes that datapoint's session's metrics.
    A datapoint or evaluator that raises is recorded and the run goes on. ``max_workers``
    datapoints run at once. ``api_key``/``server_url`` (else ``HH_API_KEY``/``HH_API_URL``)
    reach the API or a local collector (``honeyhive serve``); ``ingestion_api_key`` is the
    tracer's key, when it differs. ``instrumentors``: factories of OpenTelemetry
    instrumentors, instrumented with the run's tracer for the run.
    """
    call = Call(function)
    if dataset is None and dataset_id is None:
        raise ValueError("Must provide either 'dataset' or 'dataset_id'")
    if dataset is not None and dataset_id is not None:
        raise ValueError("Cannot provide both 'dataset' and 'dataset_id'")
    judges = [Judge(item) for item in (evaluators or [])]
    names = [judge.name for judge in judges]
    if len(set(names)) != len(names):
        raise ValueError(f"evaluators must have different names, got {names}")
    workers = _check_workers(max_workers)
    if aggregate_function not in AGGREGATES:
        raise ValueError(
            f"aggregate_function must be one of {', '.join(AGGREGATES)}, got {aggregate_function!r}"
        )
    if run_id is not None and (not isinstance(run_id, str) or not run_id.strip()):
        raise ValueError(f"run_id must be a non-empty string, got {run_id!r}")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"name must be a string, got {type(name).__name__}")

    from honeyhive._tracer import HoneyHiveTracer

    client = HoneyHive(api_key=api_key, server_url=server_url)
    tracer_kwargs: dict[str, Any] = {"server_url": client.server_url, "source": "evaluation"}
    if verbose:
        tracer_kwargs["verbose"] = True
    key = ingestion_api_key or api_key  # else the tracer's own: HH_INGESTION_API_KEY, HH_API_KEY
    if key:
        tracer_kwargs["api_key"] = key
    if project is not None:
        tracer_kwargs["project"] = project
    if instrumentors:
        tracer_kwargs["instrumentors"] = _instrumentors(instrumentors)
    try:
        points = (
            external_dataset(dataset)
            if dataset is not None
            else fetch_dataset(client, str(dataset_id))
        )
        run_id = run_id or str(uuid.uuid4())
        run_name = (name or "").strip() or f"experiment-{run_id[:8]}"
        # Built before the run exists: a bad setting raises with nothing left half made.
        tracer = HoneyHiveTracer(session_name=run_name, **tracer_kwargs)
        try:
            body = _run_body(
                run_id, run_name, points, judges, workers, call.name, aggregate_function
            )
            created = client.experiments.create_run(body)
            run_id = str(created.get("run_id") or run_id)
            spec = RunSpec(tracer, call, judges, run_id, run_name, points.id)
            interrupted: Optional[BaseException] = None
            pool = _Pool(lambda point: run_datapoint(spec, point), workers)
            try:
                finished = pool.run(points.datapoints)
            except KeyboardInterrupt as exc:
                interrupted = exc
                with pool.changed:  # nothing more is added once stopped
                    finished = dict(pool.finished)
            results = _in_order(points, finished, run_id)
            try:
                _deliver(tracer)
            except KeyboardInterrupt as exc:  # Ctrl-C while waiting: as during the datapoints
                interrupted = interrupted or exc
            summary = _summary(
                results, run_id, run_name, points, call, aggregate_function, interrupted
            )
            problem = _update_run(client, run_id, run_name, summary, points)
            if problem:
                summary.not_recorded.append(problem)
        finally:
            tracer.close()
        summary.not_recorded += _undelivered(tracer)
        if summary.not_recorded:
            logger.warning(
                "evaluate: run %s at %s is incomplete: %s",
                run_id,
                redact_url(client.server_url),
                "; ".join(summary.not_recorded),
            )
    finally:
        client.close()
    if is_loopback_url(client.server_url):
        summary.url = f"{client.server_url}/?run={run_id}"
    if print_results:
        summary.print_table()
    if interrupted is not None:
        raise interrupted
    return summary


def _in_order(points: Dataset, finished: dict[int, Any], run_id: str) -> list[DatapointResult]:
    results = []
    for index, point in enumerate(points.datapoints):
        value = finished.get(index)
        if isinstance(value, DatapointResult):
            results.append(value)
            continue
        if isinstance(value, BaseException):  # the run's own machinery failed: say it
            logger.warning("evaluate: datapoint %s of run %s: %r", point.id, run_id, value)
            error = f"{type(value).__name__}: {value}"
            status = "failed"
        else:
            error, status = "cancelled before it finished (Ctrl-C)", "cancelled"
        results.append(
            DatapointResult(
                datapoint_id=point.id,
                session_id="",
                inputs=point.inputs,
                ground_truth=point.ground_truth,
                error=error,
                status=status,
            )
        )
    return results


def _summary(
    results: list[DatapointResult],
    run_id: str,
    run_name: str,
    points: Dataset,
    call: Call,
    aggregate_function: str,
    interrupted: Optional[BaseException],
) -> ExperimentResultSummary:
    ran = [r for r in results if r.session_id]
    if interrupted is not None:
        status = "cancelled"
    elif ran and all(r.error is not None for r in ran):
        status = "failed"
    else:
        status = "completed"
    passed = [r.datapoint_id for r in results if r.passed]
    failed = [r.datapoint_id for r in results if not r.passed]
    return ExperimentResultSummary(
        run_id=run_id,
        status=status,
        success=status == "completed" and not failed,
        passed=passed,
        failed=failed,
        metrics=summarize(results, aggregate_function, call.name),
        datapoints=results,
        name=run_name,
        dataset_id=points.id,
    )


def _update_run(
    client: HoneyHive,
    run_id: str,
    run_name: str,
    summary: ExperimentResultSummary,
    points: Dataset,
) -> Optional[str]:
    """``PUT /v1/runs/{id}``; what went wrong, in words, or None."""
    body: dict[str, Any] = {
        "name": run_name,
        "status": summary.status,
        "event_ids": [r.session_id for r in summary.datapoints if r.session_id],
    }
    if points.external:
        body["metadata"] = {"offline_dataset_id": points.id}
    try:
        client.experiments.update_run(run_id, body)
    except (APIError, ValueError) as exc:
        # The sessions are recorded; only the run's status is not. Say so, and go on.
        return f"the run's status and sessions (PUT /v1/runs/{run_id}): {exc}"
    return None


#: How long ``_deliver`` keeps waiting for a backend that accepts everything, only slowly.
DELIVERY_BUDGET_SECONDS = 120.0


def _deliver(tracer: HoneyHiveTracer) -> None:
    """Wait until what the run sent is delivered, before the run is updated and the tracer
    closed (closing waits only a few seconds, and a large run can have thousands of session
    enrichments still queued). One flush round (the tracer's export timeout) after another,
    as long as the backend takes it: a round that loses anything (the backend is failing)
    ends the wait, and so does ``DELIVERY_BUDGET_SECONDS``; what is lost is counted."""
    deadline = time.monotonic() + DELIVERY_BUDGET_SECONDS
    while True:
        lost = _lost(tracer)
        if tracer.flush():
            return
        if _lost(tracer) != lost or time.monotonic() >= deadline:
            return


def _lost(tracer: HoneyHiveTracer) -> tuple[int, int]:
    return sum(tracer.dropped_api_calls.values()), sum(tracer.dropped.values())


def _undelivered(tracer: HoneyHiveTracer) -> list[str]:
    """What the run's tracer lost, in words (it served this run only, so all of it is the
    run's)."""
    calls, spans = _lost(tracer)
    said = []
    if calls:
        said.append(f"{calls} session starts and enrichments (outputs, metrics) not delivered")
    if spans:
        said.append(f"{spans} spans not delivered")
    return said

"""One datapoint of a run, in its own session: the function, then the evaluators.

Each datapoint runs in a fresh, empty context (``contextvars.Context()``) on a worker thread,
so nothing of one datapoint (its session, its spans, whatever the function set in a context
variable) is seen by the next on the same thread. In it, a new session is started and made
current, stamped with the run, dataset and datapoint ids (session metadata, and on every span
through the context's baggage); the function runs inside a ``chain`` span named after it, and
the evaluators after it, inside the same span. What came out is sent as the session's
``outputs``, ``feedback.ground_truth`` and ``metrics`` (one ``PUT /events``, batched like every
other API call) and kept for the result.

A function or an evaluator that is ``async`` makes the whole datapoint run in one event loop
(``asyncio.run`` on the worker thread): the function and the evaluators share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from opentelemetry import context as context_api

from honeyhive import _sessions
from honeyhive._diagnostics import logger
from honeyhive._experiments._dataset import Datapoint
from honeyhive._experiments._evaluators import Judge, metrics_of
from honeyhive._experiments._result import DatapointMetric, DatapointResult

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = ["Call", "RunSpec", "run_datapoint"]


class Call:
    """How the user function is called, decided once from its signature.

    As published: ``function(datapoint)`` (the whole dict: ``inputs``, ``ground_truth``, ``id``),
    plus ``tracer=`` when it has a parameter of that name. The published docstring's form,
    ``function(inputs, ground_truth)``, when (and only when) it has parameters named both
    ``inputs`` and ``ground_truth``.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        if not callable(function):
            raise ValueError(f"function must be callable, got {function!r:.80}")
        self.function = function
        self.name = getattr(function, "__name__", None) or type(function).__name__
        try:
            names = set(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            names = set()
        self.pass_tracer = "tracer" in names
        self.split = {"inputs", "ground_truth"} <= names
        # An object whose __call__ is a coroutine function is async too.
        method = None if inspect.isroutine(function) else type(function).__call__
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(method)

    def __call__(self, datapoint: Datapoint, tracer: HoneyHiveTracer) -> Any:
        extra = {"tracer": tracer} if self.pass_tracer else {}
        if self.split:
            return self.function(
                inputs=datapoint.inputs, ground_truth=datapoint.ground_truth, **extra
            )
        return self.function(dict(datapoint.item), **extra)


@dataclass(frozen=True)
class RunSpec:
    """What every datapoint of a run shares."""

    tracer: HoneyHiveTracer
    call: Call
    judges: Sequence[Judge]
    run_id: str
    run_name: str
    dataset_id: str

    @property
    def is_async(self) -> bool:
        return self.call.is_async or any(judge.is_async for judge in self.judges)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _as_outputs(value: Any) -> Optional[dict[str, Any]]:
    """The session's ``outputs``: a dict as it is, anything else under ``result``."""
    if value is None:
        return None
    return dict(value) if isinstance(value, dict) else {"result": value}


class _Outcome:
    def __init__(self, datapoint: Datapoint, session_id: str) -> None:
        self.result = DatapointResult(
            datapoint_id=datapoint.id,
            session_id=session_id,
            inputs=datapoint.inputs,
            ground_truth=datapoint.ground_truth,
        )
        self.metrics: dict[str, Any] = {}

    def judged(self, judge: Judge, value: Any) -> None:
        metrics, problem = metrics_of(judge.name, value)
        self.metrics.update(metrics)
        if problem:
            self.result.evaluator_errors[judge.name] = problem

    def failed_judge(self, judge: Judge, exc: BaseException) -> None:
        self.result.evaluator_errors[judge.name] = _describe(exc)
        logger.warning("evaluate: evaluator %s raised %s", judge.name, _describe(exc))


def _start(spec: RunSpec, datapoint: Datapoint) -> tuple[_Outcome, object]:
    evaluation = {
        "run_id": spec.run_id,
        "dataset_id": spec.dataset_id,
        "datapoint_id": datapoint.id,
    }
    inputs = datapoint.inputs if isinstance(datapoint.inputs, dict) else None
    session_id, token = _sessions.new_session(
        spec.tracer,
        "evaluate",
        session_name=spec.run_name,
        inputs=inputs,
        evaluation=evaluation,
    )
    return _Outcome(datapoint, session_id), token


def _finish(spec: RunSpec, outcome: _Outcome, token: object) -> DatapointResult:
    result = outcome.result
    result.metrics = [
        DatapointMetric(name, value, spec.call.name, "chain")
        for name, value in outcome.metrics.items()
    ]
    metadata: dict[str, Any] = {}
    if result.error is not None:
        metadata["error"] = result.error
    if result.evaluator_errors:
        metadata["evaluator_errors"] = dict(result.evaluator_errors)
    feedback = {"ground_truth": result.ground_truth} if result.ground_truth is not None else None
    spec.tracer.enrich_session(
        session_id=result.session_id,
        outputs=_as_outputs(result.outputs),
        feedback=feedback,
        metrics=outcome.metrics or None,
        metadata=metadata or None,
    )
    context_api.detach(token)  # type: ignore[arg-type]
    return result


def _record_on_span(spec: RunSpec, outcome: _Outcome) -> None:
    outputs = _as_outputs(outcome.result.outputs)
    spec.tracer.enrich_span(outputs=outputs, metrics=outcome.metrics or None)


def _steps(spec: RunSpec, datapoint: Datapoint, outcome: _Outcome) -> Generator[Any, Any, None]:
    """A datapoint's work, written once for both drivers: each ``yield`` hands over what the
    function or an evaluator returned and takes back its value (the async driver awaits it
    first, and throws in what the await raised, so it lands where a sync call's would)."""
    try:
        with spec.tracer.trace(spec.call.name, event_type="chain"):
            outcome.result.outputs = yield spec.call(datapoint, spec.tracer)
            for judge in spec.judges:
                try:
                    outcome.judged(judge, (yield judge.invoke(*_judge_args(outcome))))
                except Exception as exc:
                    outcome.failed_judge(judge, exc)
            _record_on_span(spec, outcome)
    except Exception as exc:
        outcome.result.error = _describe(exc)
        outcome.result.status = "failed"


def run_datapoint(spec: RunSpec, datapoint: Datapoint) -> DatapointResult:
    """Run one datapoint (call it in a fresh context); never raises for the user's code."""
    if spec.is_async:
        return asyncio.run(_run_async(spec, datapoint))
    outcome, token = _start(spec, datapoint)
    steps = _steps(spec, datapoint, outcome)
    with contextlib.suppress(StopIteration):
        value = next(steps)
        while True:  # a sync function's value is its result: handed straight back
            value = steps.send(value)
    return _finish(spec, outcome, token)


def _judge_args(outcome: _Outcome) -> tuple[Any, Any, Any]:
    result = outcome.result
    return result.outputs, result.inputs, result.ground_truth


async def _run_async(spec: RunSpec, datapoint: Datapoint) -> DatapointResult:
    outcome, token = _start(spec, datapoint)
    steps = _steps(spec, datapoint, outcome)
    with contextlib.suppress(StopIteration):
        step = next(steps)
        while True:
            try:
                value = await step if inspect.isawaitable(step) else step
            except BaseException as exc:  # Ctrl-C and cancellation too: the span records them
                step = steps.throw(exc)
            else:
                step = steps.send(value)
    return _finish(spec, outcome, token)

"""Experiments: run a function over a dataset, judge each output, record the run.

>>> from honeyhive import evaluate, evaluator
>>> @evaluator
... def exact(outputs, inputs, ground_truth):
...     return outputs == ground_truth["answer"]
>>> result = evaluate(answer, dataset=[{"inputs": {...}, "ground_truth": {...}}],
...                   evaluators=[exact], server_url="http://127.0.0.1:8318")  # doctest: +SKIP

The published ``honeyhive.experiments`` names that ``evaluate`` uses are here; see
docs/experiments.md for what each does and what differs from the published SDK.
"""

from honeyhive._experiments import (
    AggregatedMetrics,
    APIError,
    BaseEvaluator,
    DatapointMetric,
    DatapointResult,
    EvalResult,
    ExperimentResultSummary,
    ExperimentRun,
    HoneyHive,
    MetricDetail,
    aevaluator,
    evaluate,
    evaluator,
)

__all__ = [
    "APIError",
    "AggregatedMetrics",
    "BaseEvaluator",
    "DatapointMetric",
    "DatapointResult",
    "EvalResult",
    "ExperimentResultSummary",
    "ExperimentRun",
    "HoneyHive",
    "MetricDetail",
    "aevaluator",
    "evaluate",
    "evaluator",
]

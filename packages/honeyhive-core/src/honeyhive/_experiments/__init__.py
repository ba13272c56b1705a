"""The experiments wing: ``evaluate()`` and what it needs.

``evaluate`` runs a function over a dataset, one session per datapoint (stamped with the run,
dataset and datapoint ids), judges each output with evaluators and records the whole as an
experiment run through the HoneyHive API (``/v1/runs``), or a local collector's. Modules:

* ``_evaluate``: ``evaluate`` itself: the run's life, the worker threads, Ctrl-C.
* ``_run``: one datapoint in its own session and context: the function, then the evaluators.
* ``_evaluators``: ``evaluator``, ``aevaluator``, ``BaseEvaluator``; how each is called and
  what it returns becomes metrics.
* ``_dataset``: datapoints given in code (with the published SDK's ids) or fetched.
* ``_result``: the result object, per-metric summaries, the printed table.
* ``_client``: ``HoneyHive``, the REST client's datasets, datapoints and runs, on httpx.
* ``_stats``: a metric as a number, aggregates, text tables (the collector and the CLI use them).

Importing ``honeyhive`` does not import this wing; its names load on first use.
"""

from honeyhive._experiments._client import APIError, HoneyHive
from honeyhive._experiments._evaluate import evaluate
from honeyhive._experiments._evaluators import BaseEvaluator, EvalResult, aevaluator, evaluator
from honeyhive._experiments._result import (
    AggregatedMetrics,
    DatapointMetric,
    DatapointResult,
    ExperimentResultSummary,
    ExperimentRun,
    MetricDetail,
)
from honeyhive._experiments._stats import (
    AGGREGATES,
    aggregate,
    as_number,
    cell,
    metric_type,
    text_table,
)

__all__ = [
    "AGGREGATES",
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
    "aggregate",
    "as_number",
    "cell",
    "evaluate",
    "evaluator",
    "metric_type",
    "text_table",
]

"""What ``evaluate()`` returns: every datapoint's output, metrics and errors, and each metric's
summary over the run, under the published names (``ExperimentResultSummary``,
``AggregatedMetrics``, ``MetricDetail``, ``DatapointResult``, ``DatapointMetric``).

Computed here from what the run did, not fetched back from the API: the result is complete
when ``evaluate()`` returns, whatever the backend has aggregated by then.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO, Union

__all__ = [
    "AGGREGATES",
    "AggregatedMetrics",
    "DatapointMetric",
    "DatapointResult",
    "ExperimentResultSummary",
    "ExperimentRun",
    "MetricDatapoints",
    "MetricDetail",
    "aggregate",
]

Scalar = Union[int, float, bool, str]
#: ``aggregate_function`` values, and how each reduces a metric's numbers.
AGGREGATES = ("average", "sum", "min", "max", "median")


def aggregate(function: str, numbers: Sequence[float]) -> Optional[float]:
    """``numbers`` reduced by ``function`` (one of :data:`AGGREGATES`); None when empty."""
    if not numbers:
        return None
    if function == "sum":
        return float(math.fsum(numbers))
    if function == "min":
        return float(min(numbers))
    if function == "max":
        return float(max(numbers))
    if function == "median":
        return float(statistics.median(numbers))
    return float(math.fsum(numbers) / len(numbers))


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


@dataclass
class DatapointMetric:
    """One metric of one datapoint."""

    name: str
    value: Scalar
    event_name: Optional[str] = None
    event_type: Optional[str] = None
    passed: Optional[bool] = None


@dataclass
class DatapointResult:
    """One datapoint's run: its session, what went in, what came out, and how it was judged.

    ``passed`` is True when the function returned and every evaluator ran; ``error`` is the
    function's exception (``"ValueError: ..."``), ``evaluator_errors`` each failed evaluator's.
    """

    datapoint_id: str
    session_id: str
    inputs: Any = None
    ground_truth: Any = None
    outputs: Any = None
    error: Optional[str] = None
    evaluator_errors: dict[str, str] = field(default_factory=dict)
    metrics: list[DatapointMetric] = field(default_factory=list)
    status: str = "success"

    @property
    def passed(self) -> bool:
        return self.error is None and not self.evaluator_errors and self.status == "success"

    @property
    def scores(self) -> dict[str, Scalar]:
        """The metrics as ``{name: value}``."""
        return {metric.name: metric.value for metric in self.metrics}


@dataclass
class MetricDatapoints:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass
class MetricDetail:
    """One metric over the run: ``aggregate`` (by the run's ``aggregate_function``) and the
    summary ``mean``, ``min``, ``max`` and ``count`` (booleans count as 0 and 1; a text
    metric has a count only)."""

    metric_name: str
    metric_type: str
    aggregate: Optional[float]
    values: list[Scalar]
    mean: Optional[float]
    min: Optional[float]
    max: Optional[float]
    count: int
    event_name: Optional[str] = None
    event_type: Optional[str] = None
    datapoints: MetricDatapoints = field(default_factory=MetricDatapoints)


@dataclass
class AggregatedMetrics:
    aggregation_function: str = "average"
    details: list[MetricDetail] = field(default_factory=list)

    def get_metric(self, name: str) -> Optional[MetricDetail]:
        return next((d for d in self.details if d.metric_name == name), None)

    def list_metrics(self) -> list[str]:
        return [detail.metric_name for detail in self.details]

    def get_all_metrics(self) -> dict[str, MetricDetail]:
        return {detail.metric_name: detail for detail in self.details}


def _metric_type(values: Sequence[Scalar]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(_number(v) is not None for v in values):
        return "numeric"
    return "string"


def summarize(
    datapoints: Sequence[DatapointResult], function: str, event_name: Optional[str]
) -> AggregatedMetrics:
    """Each metric over ``datapoints`` (in the order metrics first appear)."""
    by_name: dict[str, list[tuple[str, Scalar]]] = {}
    for point in datapoints:
        for metric in point.metrics:
            by_name.setdefault(metric.name, []).append((point.datapoint_id, metric.value))
    details = []
    for name, pairs in by_name.items():
        values = [value for _, value in pairs]
        numbers = [n for n in map(_number, values) if n is not None]
        split = MetricDatapoints()
        for datapoint_id, value in pairs:
            (split.failed if value is False else split.passed).append(datapoint_id)
        details.append(
            MetricDetail(
                metric_name=name,
                metric_type=_metric_type(values),
                aggregate=aggregate(function, numbers),
                values=values,
                mean=aggregate("average", numbers),
                min=min(numbers) if numbers else None,
                max=max(numbers) if numbers else None,
                count=len(values),
                event_name=event_name,
                event_type="chain",
                datapoints=split,
            )
        )
    return AggregatedMetrics(aggregation_function=function, details=details)


def _cell(value: Any, width: int = 40) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]


@dataclass
class ExperimentResultSummary:
    """The run: ``run_id``, ``status`` (``completed``, ``failed`` when no datapoint passed,
    ``cancelled`` on Ctrl-C), ``success``, the ``passed`` and ``failed`` datapoint ids,
    ``metrics`` (per-metric aggregates and summaries) and ``datapoints`` (in dataset order)."""

    run_id: str
    status: str
    success: bool
    passed: list[str]
    failed: list[str]
    metrics: AggregatedMetrics
    datapoints: list[DatapointResult]
    name: Optional[str] = None
    dataset_id: Optional[str] = None
    url: Optional[str] = None

    def summary(self) -> dict[str, dict[str, Optional[float]]]:
        """``{metric: {"mean", "min", "max", "count"}}``."""
        return {
            d.metric_name: {"mean": d.mean, "min": d.min, "max": d.max, "count": d.count}
            for d in self.metrics.details
        }

    def table(self, max_rows: int = 20) -> str:
        """The run as text: its summary per metric, then the first ``max_rows`` datapoints."""
        lines = [
            f"Run {self.name or ''} ({self.run_id}): {self.status}, "
            f"{len(self.passed)} passed, {len(self.failed)} failed"
        ]
        numeric = [d for d in self.metrics.details if d.metric_type != "string"]
        if numeric:
            rows = [
                [d.metric_name, _cell(d.mean), _cell(d.min), _cell(d.max), str(d.count)]
                for d in numeric
            ]
            lines += ["", *_table(["metric", "mean", "min", "max", "count"], rows)]
        names = self.metrics.list_metrics()
        rows = []
        for point in self.datapoints[:max_rows]:
            scores = point.scores
            problem = point.error or "; ".join(
                f"{k}: {v}" for k, v in point.evaluator_errors.items()
            )
            rows.append(
                [
                    _cell(point.datapoint_id, 24),
                    _cell(point.outputs, 30),
                    *(_cell(scores.get(n), 12) for n in names),
                    _cell(problem or None, 40),
                ]
            )
        lines += ["", *_table(["datapoint", "output", *names, "error"], rows)]
        if len(self.datapoints) > max_rows:
            lines.append(f"... and {len(self.datapoints) - max_rows} more datapoints")
        if self.url:
            lines.append(f"\n{self.url}")
        return "\n".join(lines)

    def print_table(self, run_name: Optional[str] = None, file: Optional[TextIO] = None) -> None:
        """Print :meth:`table` (to stdout)."""
        if run_name is not None:
            self.name = run_name
        print(self.table(), file=file or sys.stdout)


#: The published alias.
ExperimentRun = ExperimentResultSummary

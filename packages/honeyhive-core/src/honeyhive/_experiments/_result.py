"""What ``evaluate()`` returns: every datapoint's output, metrics and errors, and each metric's
summary over the run, under the published names (``ExperimentResultSummary``,
``AggregatedMetrics``, ``MetricDetail``, ``DatapointResult``, ``DatapointMetric``).

Computed here from what the run did, not fetched back from the API: the result is complete
when ``evaluate()`` returns, whatever the backend has aggregated by then.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO, Union

from honeyhive._experiments._stats import aggregate, as_number, cell, metric_type, text_table

__all__ = [
    "AggregatedMetrics",
    "DatapointMetric",
    "DatapointResult",
    "ExperimentResultSummary",
    "ExperimentRun",
    "MetricDatapoints",
    "MetricDetail",
    "summarize",
]

Scalar = Union[int, float, bool, str]


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
        numbers = [n for n in map(as_number, values) if n is not None]
        split = MetricDatapoints()
        for datapoint_id, value in pairs:
            (split.failed if value is False else split.passed).append(datapoint_id)
        details.append(
            MetricDetail(
                metric_name=name,
                metric_type=metric_type(values),
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
    #: What of the run did not reach the backend (empty when all of it did), in words.
    not_recorded: list[str] = dataclasses.field(default_factory=list)

    def model_dump(self) -> dict[str, Any]:
        """The whole result as plain data (the published result is a pydantic model)."""
        data = dataclasses.asdict(self)
        for point, dumped in zip(self.datapoints, data["datapoints"]):
            dumped["passed"] = point.passed
        return data

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
                [d.metric_name, cell(d.mean), cell(d.min), cell(d.max), str(d.count)]
                for d in numeric
            ]
            lines += ["", *text_table(["metric", "mean", "min", "max", "count"], rows)]
        names = self.metrics.list_metrics()
        rows = []
        for point in self.datapoints[:max_rows]:
            scores = point.scores
            problem = point.error or "; ".join(
                f"{k}: {v}" for k, v in point.evaluator_errors.items()
            )
            rows.append(
                [
                    cell(point.datapoint_id, 24),
                    cell(point.outputs, 30),
                    *(cell(scores.get(n), 12) for n in names),
                    cell(problem or None, 40),
                ]
            )
        lines += ["", *text_table(["datapoint", "output", *names, "error"], rows)]
        if len(self.datapoints) > max_rows:
            lines.append(f"... and {len(self.datapoints) - max_rows} more datapoints")
        if self.not_recorded:
            lines += ["", "NOT RECORDED:", *(f"  {problem}" for problem in self.not_recorded)]
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

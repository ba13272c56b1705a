"""Numbers and text shared by the result, the collector's run results and ``honeyhive runs``:
a metric's value as a number, its kind, an aggregate, and a plain-text table."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any, Optional

__all__ = ["AGGREGATES", "aggregate", "as_number", "cell", "metric_type", "text_table"]

#: ``aggregate_function`` values.
AGGREGATES = ("average", "sum", "min", "max", "median")


def as_number(value: Any) -> Optional[float]:
    """A metric value as a number (a bool is 0 or 1); None for text and the like."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def aggregate(function: str, numbers: Sequence[float]) -> Optional[float]:
    """``numbers`` reduced by ``function`` (one of :data:`AGGREGATES`); None when empty."""
    if not numbers:
        return None
    if function == "sum":
        return math.fsum(numbers)
    if function == "min":
        return min(numbers)
    if function == "max":
        return max(numbers)
    if function == "median":
        return float(statistics.median(numbers))
    return math.fsum(numbers) / len(numbers)


def metric_type(values: Sequence[Any]) -> str:
    """``boolean``, ``numeric`` or ``string`` (a metric with any text is text)."""
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    return "numeric" if all(as_number(v) is not None for v in values) else "string"


def cell(value: Any, width: int = 32, digits: int = 4) -> str:
    """One table cell: ``-`` for nothing, floats to ``digits`` places, the rest on one line."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(value.split())
    return text if len(text) <= width else text[: width - 1] + "~"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns under a header and a rule."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]

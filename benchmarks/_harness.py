"""Shared measurement machinery for the benchmark modules (not a benchmark itself).

Every benchmark compares contenders *in the same process run*, interleaved: each round runs
every contender once, in an order that rotates from round to round, so that whatever the
machine does meanwhile (other jobs, frequency changes, a noisy neighbour) hits all of them
alike. A benchmark reports the median per-op time of each contender and, for the pairs that
matter, the ratio ours/theirs computed round by round (the two ran seconds apart) and then
summarised by its median.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

__all__ = [
    "Contender",
    "Report",
    "Row",
    "Timings",
    "interleave",
    "quantile",
    "ratio_row",
]


@dataclass
class Contender:
    """One way of doing the operation under test.

    ``run(n)`` performs the operation ``n`` times (the loop lives inside the contender so the
    harness adds nothing per op). ``settle()``, when given, runs after the timed block and
    outside the timer: it drains background work (an export queue) so that it cannot spill
    into the next contender's timing. Its duration is recorded separately.
    """

    name: str
    run: Callable[[int], Any]
    settle: Optional[Callable[[], Any]] = None


@dataclass
class Timings:
    """Per-op seconds, one entry per round, for every contender (and settle times)."""

    per_op: dict[str, list[float]]
    settle_per_op: dict[str, list[float]]
    rounds: int
    iterations: int

    def series(self, name: str, *, with_settle: bool = False) -> list[float]:
        """Per-op seconds of each round (plus the drain after it, if ``with_settle``)."""
        if not with_settle:
            return self.per_op[name]
        return [a + b for a, b in zip(self.per_op[name], self.settle_per_op[name])]

    def median_us(self, name: str, *, with_settle: bool = False) -> float:
        return statistics.median(self.series(name, with_settle=with_settle)) * 1e6

    def ratios(self, ours: str, theirs: str, *, with_settle: bool = False) -> list[float]:
        """ours/theirs for each round (the two were measured within the same round)."""
        return [
            a / b
            for a, b in zip(
                self.series(ours, with_settle=with_settle),
                self.series(theirs, with_settle=with_settle),
            )
        ]


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    contender: str
    median: Optional[float]  # per op, in ``unit``
    baseline: Optional[str] = None
    ratio: Optional[float] = None
    ratio_iqr: Optional[tuple[float, float]] = None
    ratio_of_medians: Optional[float] = None
    target: Optional[float] = None
    status: str = ""  # PASS, MISS, info, skipped, error
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    unit: str = "us"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (``q`` in [0, 1]) of a non-empty sequence."""
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = q * (len(data) - 1)
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def interleave(
    contenders: Sequence[Contender],
    *,
    rounds: int,
    iterations: int,
    warmup_rounds: int = 2,
    progress: Optional[Callable[[int], None]] = None,
) -> Timings:
    """Time every contender ``rounds`` times, rotating the order each round.

    Before each timed block: ``gc.collect()`` (so no contender inherits another's garbage).
    The garbage collector stays enabled while timing: allocation-driven collections are part
    of what an operation costs. Warm-up rounds run the same schedule and are discarded.
    """
    names = [c.name for c in contenders]
    if len(set(names)) != len(names):
        raise ValueError("contender names must be unique")
    per_op: dict[str, list[float]] = {name: [] for name in names}
    settle_per_op: dict[str, list[float]] = {name: [] for name in names}
    order = list(contenders)
    for round_number in range(warmup_rounds + rounds):
        shift = round_number % len(order)
        timed = round_number >= warmup_rounds
        for contender in order[shift:] + order[:shift]:
            gc.collect()
            start = time.perf_counter()
            contender.run(iterations)
            elapsed = time.perf_counter() - start
            settled = 0.0
            if contender.settle is not None:
                start = time.perf_counter()
                contender.settle()
                settled = time.perf_counter() - start
            if timed:
                per_op[contender.name].append(elapsed / iterations)
                settle_per_op[contender.name].append(settled / iterations)
        if timed and progress is not None:
            progress(round_number - warmup_rounds + 1)
    return Timings(per_op, settle_per_op, rounds, iterations)


def ratio_row(
    benchmark: str,
    timings: Timings,
    ours: str,
    theirs: str,
    *,
    target: Optional[float] = None,
    label: Optional[str] = None,
    note: str = "",
    with_settle: bool = False,
) -> Row:
    """A table row for ``ours`` with its ratio against ``theirs`` (PASS/MISS if a target).

    ``with_settle`` counts the drain after each timed block too (background export work).
    """
    ratios = timings.ratios(ours, theirs, with_settle=with_settle)
    ratio = statistics.median(ratios)
    status = "info" if target is None else ("PASS" if ratio <= target else "MISS")
    ours_us = timings.median_us(ours, with_settle=with_settle)
    return Row(
        benchmark=benchmark,
        contender=label or ours,
        median=ours_us,
        baseline=theirs,
        ratio=ratio,
        ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
        ratio_of_medians=ours_us / timings.median_us(theirs, with_settle=with_settle),
        target=target,
        status=status,
        note=note,
        extra={"contender_id": ours, "with_settle": with_settle},
    )


@dataclass
class Report:
    """What one benchmark module returns to ``run.py``."""

    name: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)  # per-round values

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": [row.as_dict() for row in self.rows],
            "notes": list(self.notes),
            "checks": dict(self.checks),
            "settings": dict(self.settings),
            "samples": {name: list(values) for name, values in self.samples.items()},
        }

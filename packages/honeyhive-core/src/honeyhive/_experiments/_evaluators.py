"""Evaluators: what judges one output. Plain functions, ``@evaluator``, ``@aevaluator`` and
``BaseEvaluator`` subclasses, all called one way by :class:`Judge` and turned into metrics.

How each is called (the published SDK's conventions, with its two slips fixed):

* a plain function or ``@evaluator``/``@aevaluator``: positionally ``(outputs, inputs,
  ground_truth)``, cut to the number of positional parameters it takes (so ``def f(outputs)``
  and ``def f(outputs, inputs)`` work too, with or without a ground truth);
* a ``BaseEvaluator``: ``evaluate(inputs=..., outputs=..., ground_truth=...)`` by keyword, the
  order its own signature has (the published ``evaluate()`` swapped inputs and outputs);
* a coroutine (``@aevaluator``, ``async def``, an ``async`` ``evaluate``) is awaited (the
  published ``evaluate()`` never awaited ``@aevaluator`` objects and lost their metrics).

What an evaluator returns becomes metrics under its name: a number, bool or string is the
metric; a dict gives ``name`` from its ``score`` and ``name_<key>`` from its other scalar keys
(``explanation`` too); a one-element list or tuple is unwrapped; ``None`` is no metric.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Awaitable, Mapping
from typing import Any, Callable, Optional, TypeVar, Union, overload

__all__ = [
    "BaseEvaluator",
    "EvalResult",
    "Judge",
    "aevaluator",
    "evaluator",
    "metrics_of",
]

#: Settings of the published decorator that ran user strings through ``eval()``: refused.
_REFUSED_SETTINGS = (
    "wraps",
    "weight",
    "asserts",
    "repeat",
    "transform",
    "aggregate",
    "checker",
    "target",
    "evaluate",
)
Scalar = Union[int, float, bool, str]
E = TypeVar("E", bound="evaluator")


class EvalResult:
    """A score with metadata (the published ``EvalResult``): its metrics are ``name`` = score and
    ``name_<key>`` for each scalar in the metadata."""

    def __init__(self, score: Any, init_method: Optional[str] = None, **metadata: Any) -> None:
        self.score = score
        self.init_method = init_method
        self.metadata = metadata

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, **self.metadata}

    def __repr__(self) -> str:
        return f"EvalResult(score={self.score!r}, metadata={self.metadata!r})"


class BaseEvaluator:
    """Subclass and implement ``evaluate(inputs, outputs, ground_truth=None, **kwargs)``
    (sync or ``async``); ``name`` is the metric's name."""

    def __init__(self, name: Optional[str] = None, **kwargs: Any) -> None:
        self.name = name or type(self).__name__
        self.__name__ = self.name
        self.config = kwargs

    def evaluate(self, inputs: Any, outputs: Any, ground_truth: Any = None, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement evaluate()")

    def __call__(self, inputs: Any, outputs: Any, ground_truth: Any = None, **kwargs: Any) -> Any:
        return self.evaluate(inputs, outputs, ground_truth, **kwargs)


class evaluator:
    """``@evaluator`` / ``@evaluator(**defaults)``: a function judging one output.

    ``evaluate()`` calls it as ``fn(outputs, inputs, ground_truth)`` (see the module). Keyword
    arguments given to the decorator are passed to every call. The published settings that
    evaluated strings with ``eval()`` (``checker``, ``transform``, ...) are refused.
    """

    is_async = False

    @overload
    def __new__(cls: type[E], func: Callable[..., Any], /, **defaults: Any) -> E: ...

    @overload
    def __new__(  # type: ignore[misc]  # @evaluator(**defaults) is a decorator factory
        cls: type[E], func: None = None, /, **defaults: Any
    ) -> Callable[[Callable[..., Any]], E]: ...

    def __new__(cls, func: Any = None, /, **defaults: Any) -> Any:
        if func is None:  # @evaluator(**defaults)
            return lambda f: cls(f, **defaults)
        return super().__new__(cls)

    def __init__(self, func: Callable[..., Any], /, **defaults: Any) -> None:
        refused = sorted(set(defaults) & set(_REFUSED_SETTINGS))
        if refused:
            raise ValueError(
                f"@{type(self).__name__}({', '.join(refused)}=...) is not supported: the "
                "published SDK evaluated these settings as Python expressions; compute the "
                "value in the evaluator instead (see docs/experiments.md)"
            )
        if not callable(func):
            raise ValueError(f"@{type(self).__name__} decorates a function, got {func!r:.80}")
        if inspect.iscoroutinefunction(func) and not self.is_async:
            raise ValueError(f"{func!r:.80} is async: decorate it with @aevaluator")
        self.func = func
        self.kwargs = defaults
        self.name: str = getattr(func, "__name__", type(func).__name__)
        self.__name__ = self.name
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **{**self.kwargs, **kwargs})

    def raw(self, *args: Any, **kwargs: Any) -> Any:
        """The function itself, without the decorator's defaults."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class aevaluator(evaluator):
    """``@aevaluator``: an ``async`` evaluator; ``evaluate()`` awaits it."""

    is_async = True

    def __init__(self, func: Callable[..., Any], /, **defaults: Any) -> None:
        super().__init__(func, **defaults)
        if not inspect.iscoroutinefunction(func):
            raise ValueError(f"{func!r:.80} is not async: decorate it with @evaluator")

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return await self.func(*args, **{**self.kwargs, **kwargs})


def _name_of(judge: Any) -> str:
    name = getattr(judge, "name", None) or getattr(judge, "__name__", None)
    return str(name) if name else type(judge).__name__


def _positional_count(func: Callable[..., Any]) -> int:
    """How many of ``(outputs, inputs, ground_truth)`` ``func`` takes (3 with ``*args``)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 3
    count = 0
    for parameter in parameters:
        if parameter.kind is parameter.VAR_POSITIONAL:
            return 3
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return min(count, 3)


class Judge:
    """One evaluator, checked once (when ``evaluate()`` starts) and called on each output."""

    def __init__(self, item: Any) -> None:
        if not callable(item):
            raise ValueError(f"evaluators must be callables, got {item!r:.80}")
        self.item = item
        self.name = _name_of(item)
        if isinstance(item, BaseEvaluator):
            self.call: Callable[..., Any] = item.evaluate
            self.by_keyword = True
            self.is_async = inspect.iscoroutinefunction(item.evaluate)
        else:
            self.call = item
            self.by_keyword = False
            target = item.func if isinstance(item, evaluator) else item
            self.count = _positional_count(target)
            # An object whose __call__ is async counts too.
            method = None if inspect.isroutine(item) else type(item).__call__
            self.is_async = (
                isinstance(item, aevaluator)
                or inspect.iscoroutinefunction(item)
                or inspect.iscoroutinefunction(method)
            )

    def invoke(self, outputs: Any, inputs: Any, ground_truth: Any) -> Union[Any, Awaitable[Any]]:
        """Call it (the caller awaits what an async one returns)."""
        if self.by_keyword:
            return self.call(inputs=inputs, outputs=outputs, ground_truth=ground_truth)
        return self.call(*(outputs, inputs, ground_truth)[: self.count])


def _scalar(value: Any) -> Optional[Scalar]:
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def metrics_of(name: str, value: Any) -> tuple[dict[str, Scalar], Optional[str]]:
    """The metrics an evaluator named ``name`` gave by returning ``value`` (see the module),
    and what of it could not be a metric (recorded as the evaluator's error, never dropped
    silently), else None."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if value is None:
        return {}, None
    if isinstance(value, EvalResult):
        value = value.to_dict()
    scalar = _scalar(value)
    if scalar is not None:
        return {name: scalar}, None
    if isinstance(value, Mapping):
        metrics: dict[str, Scalar] = {}
        skipped = []
        for key, item in value.items():
            metric = name if key == "score" else f"{name}_{key}"
            if key == "explanation" and item is not None:
                metrics[metric] = str(item)
                continue
            if (scalar := _scalar(item)) is not None:
                metrics[metric] = scalar
            elif item is not None:
                skipped.append(str(key))
        problem = None
        if skipped:
            problem = f"{', '.join(skipped)}: not a finite number, a bool or a string"
        return metrics, problem
    if isinstance(value, float):  # NaN or an infinity: no metric can hold it
        return {}, f"returned {value!r}, not a finite number"
    return {}, (
        f"returned a {type(value).__name__}; an evaluator returns a number, a bool, a string, "
        "a dict with a 'score', or None"
    )

"""What a model call costs: a small table of list prices that the user can extend.

Prices are US dollars per million tokens, ``(input, output)``. A model is found by its exact
name, else by the longest name in the table that it starts with (``gpt-4o-mini-2024-07-18`` is
priced as ``gpt-4o-mini``, not as ``gpt-4o``). A model the table does not know has no cost: the
viewer shows its tokens only, never a guess.

The built-in table holds a few common models at the providers' published list prices (2025);
prices change, so check them, and extend or override the table with a JSON file
(``honeyhive serve --prices FILE`` or ``HH_COLLECTOR_PRICES``)::

    {"my-finetune": {"input": 0.3, "output": 1.2}, "gpt-4o": {"input": 2.5, "output": 10}}

Costs are computed when spans are read, so a price added later applies to what is stored.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional, Union

__all__ = ["BUILT_IN_PRICES", "PriceTable", "load_prices"]

#: USD per million tokens, (input, output).
BUILT_IN_PRICES: Mapping[str, tuple[float, float]] = {
    # OpenAI
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    # Anthropic
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-opus": (15.00, 75.00),
    # Google
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-1.5-flash": (0.075, 0.30),
    "gemini-1.5-pro": (1.25, 5.00),
}


class PriceTable:
    """Model name -> (input, output) USD per million tokens; see the module docstring.

    ``prices`` extends or overrides the built-in table; names are matched without regard to
    case, and a price that is not two numbers of 0 or more is a ValueError.
    """

    def __init__(self, prices: Optional[Mapping[str, tuple[float, float]]] = None) -> None:
        self._prices: dict[str, tuple[float, float]] = dict(BUILT_IN_PRICES)
        for name, price in (prices or {}).items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"prices: a model name must be a non-empty string, got {name!r}")
            if (
                isinstance(price, (str, bytes))
                or not isinstance(price, Sequence)
                or len(price) != 2
            ):
                raise ValueError(
                    f"prices: the price of {name!r} must be (input, output), USD per million "
                    f"tokens, got {price!r}"
                )
            self._prices[name.lower()] = (
                _number(price[0], name, "input", "prices"),
                _number(price[1], name, "output", "prices"),
            )
        self._names = sorted(self._prices, key=len, reverse=True)
        self._found: dict[str, Optional[tuple[float, float]]] = {}

    def price(self, model: Optional[str]) -> Optional[tuple[float, float]]:
        """The model's (input, output) price per million tokens, or None."""
        if not model:
            return None
        if model in self._found:
            return self._found[model]
        name = model.lower()
        if "/" in name:  # openai/gpt-4o, models/gemini-1.5-pro
            name = name.rsplit("/", 1)[1]
        found = self._prices.get(name)
        if found is None:
            for known in self._names:
                if name.startswith(known) and name[len(known) : len(known) + 1] in ("-", "@", ":"):
                    found = self._prices[known]
                    break
        if len(self._found) < 4096:
            self._found[model] = found
        return found

    def cost(
        self, model: Optional[str], prompt_tokens: Optional[int], completion_tokens: Optional[int]
    ) -> Optional[float]:
        """USD for a call, or None when the model has no price or no tokens were counted."""
        price = self.price(model)
        if price is None or (prompt_tokens is None and completion_tokens is None):
            return None
        return ((prompt_tokens or 0) * price[0] + (completion_tokens or 0) * price[1]) / 1e6

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {name: {"input": i, "output": o} for name, (i, o) in sorted(self._prices.items())}


def _number(number: Any, name: str, side: str, where: str) -> float:
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ValueError(f"{where}: {name!r} {side} price must be a number, got {number!r}")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: {name!r} {side} price must be 0 or more, got {number!r}")
    return float(number)


def _price(value: Any, name: str, where: str) -> tuple[float, float]:
    if not isinstance(value, dict) or set(value) - {"input", "output"} or not value:
        raise ValueError(
            f"{where}: the price of {name!r} must be an object like "
            '{"input": 2.5, "output": 10} (USD per million tokens)'
        )
    return (
        _number(value.get("input", 0.0), name, "input", where),
        _number(value.get("output", 0.0), name, "output", where),
    )


def load_prices(path: Union[str, os.PathLike[str]]) -> dict[str, tuple[float, float]]:
    """Read a prices file (see the module docstring); ValueError says what is wrong."""
    where = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the prices file {where}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"the prices file {where} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: the prices file must be a JSON object of model -> price")
    return {str(name).lower(): _price(value, str(name), where) for name, value in doc.items()}

"""``DotDict``: a dict whose keys read as attributes, whose dotted keys reach into nested dicts."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

__all__ = ["DotDict"]


class DotDict(dict):  # type: ignore[type-arg]
    """``d.a`` is ``d["a"]``, ``d["a.b"]`` is ``d["a"]["b"]``; nested dicts become DotDicts.

    >>> d = DotDict({"session": {"name": "nightly"}})
    >>> d.session.name, d["session.name"], d.get("session.missing", 0)
    ('nightly', 'nightly', 0)
    """

    def __init__(
        self, data: Union[Mapping[str, Any], Iterable[tuple[str, Any]], None] = None, **kw: Any
    ) -> None:
        super().__init__()
        self.update(data, **kw)

    # -- attribute access ---------------------------------------------------------------------

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {key!r}"
            ) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {key!r}"
            ) from None

    # -- dotted keys --------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str) and "." in key and not super().__contains__(key):
            value: Any = self
            for part in key.split("."):
                if not isinstance(value, dict):
                    raise KeyError(key)
                value = dict.__getitem__(value, part)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, dict) and not isinstance(value, DotDict):
            value = DotDict(value)
        if isinstance(key, str) and "." in key:
            *path, last = key.split(".")
            self._parent(path)[last] = value
            return
        super().__setitem__(key, value)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def _parent(self, path: list[str]) -> DotDict:
        """The DotDict at ``path``, made on the way where missing."""
        target: DotDict = self
        for part in path:
            child = dict.get(target, part)
            if not isinstance(child, DotDict):
                child = DotDict(child) if isinstance(child, dict) else DotDict()
                dict.__setitem__(target, part, child)
            target = child
        return target

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(  # type: ignore[override]
        self, other: Union[Mapping[str, Any], Iterable[tuple[str, Any]], None] = None, /, **kw: Any
    ) -> None:
        """Like ``dict.update``, each key set as ``d[key] = value`` is (dotted keys included)."""
        if other is not None:
            items = other.items() if isinstance(other, Mapping) else other
            for key, value in items:
                self[key] = value
        for key, value in kw.items():
            self[key] = value

    # -- copies -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts all the way down."""
        return {k: v.to_dict() if isinstance(v, DotDict) else v for k, v in self.items()}

    def copy(self) -> DotDict:
        """A shallow copy."""
        return DotDict(dict(self))

    def deepcopy(self) -> DotDict:
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: Optional[dict[int, Any]] = None) -> DotDict:
        return DotDict({k: copy.deepcopy(v, memo) for k, v in self.items()})

    def __getstate__(self) -> dict[str, Any]:
        return dict(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.update(state)

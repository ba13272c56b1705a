"""``MissingApiKeyError``: a setting names no API key where one is needed."""

from __future__ import annotations

from typing import Literal

__all__ = ["KeyKind", "MissingApiKeyError"]

KeyKind = Literal["project", "ingestion", "data_plane"]

_HINTS: dict[str, tuple[str, str, str]] = {
    # kind: (what, argument, environment variable)
    "project": ("project API key", "api_key", "HH_API_KEY"),
    "ingestion": ("ingestion API key", "ingestion_api_key", "HH_INGESTION_API_KEY"),
    "data_plane": ("data plane API key", "data_plane_api_key", "HH_DATA_PLANE_API_KEY"),
}


class MissingApiKeyError(ValueError):
    """No API key of the kind needed (``key_kind``: ``project``, ``ingestion`` or
    ``data_plane``) was given, so nothing was sent. A ``ValueError``, as every configuration
    error is; ``detail`` (optional) says where the key was needed."""

    def __init__(self, key_kind: KeyKind, detail: str = "") -> None:
        if key_kind not in _HINTS:
            raise ValueError(f"key_kind must be one of {sorted(_HINTS)}, got {key_kind!r}")
        what, argument, variable = _HINTS[key_kind]
        message = f"Missing {what}: provide {argument} or set the {variable} environment variable"
        super().__init__(f"{message}{detail}")
        self.key_kind: KeyKind = key_kind

"""The datapoints of a run: given in code (``dataset=[...]``) or fetched from the API
(``dataset_id=``), each with a stable id.

Ids of a dataset given in code are the published SDK's, so runs of the same list compare
across both SDKs: the dataset is ``EXT-`` and 16 hex digits of the SHA-256 of its JSON (keys
sorted); a datapoint is ``EXT-<its id>`` when it has an ``id`` (or ``datapoint_id``), else
``EXT-`` and 16 hex digits of the SHA-256 of its JSON followed by its index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from honeyhive._diagnostics import logger
from honeyhive._experiments._client import APIError, HoneyHive
from honeyhive._http import redact_url

__all__ = ["Datapoint", "Dataset", "external_dataset", "fetch_dataset"]


@dataclass(frozen=True)
class Datapoint:
    id: str
    item: dict[str, Any]  # what the function is given: inputs, ground_truth (and id)

    @property
    def inputs(self) -> Any:
        return self.item.get("inputs")

    @property
    def ground_truth(self) -> Any:
        return self.item.get("ground_truth")


@dataclass(frozen=True)
class Dataset:
    id: str
    external: bool  # given in code (its id is not a HoneyHive dataset's)
    datapoints: list[Datapoint]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def external_dataset(dataset: Any) -> Dataset:
    """``dataset=[...]``: a list of dicts with ``inputs`` (and ``ground_truth``, ``id``)."""
    if isinstance(dataset, (str, bytes)) or not isinstance(dataset, Sequence):
        raise ValueError(f"dataset must be a list of dicts, got {type(dataset).__name__}")
    if not dataset:
        raise ValueError("dataset is empty: give at least one datapoint")
    points = []
    seen: set[str] = set()
    for index, item in enumerate(dataset):
        if not isinstance(item, Mapping):
            raise ValueError(f"dataset[{index}] must be a dict, got {type(item).__name__}")
        inputs = item.get("inputs")
        if inputs is not None and not isinstance(inputs, Mapping):
            raise ValueError(f"dataset[{index}]['inputs'] must be a dict, got {inputs!r:.60}")
        given = item.get("id") or item.get("datapoint_id")
        if given:
            text = str(given)
            point_id = text if text.startswith("EXT-") else f"EXT-{text}"
        else:
            point_id = f"EXT-{_digest(_json(dict(item)) + str(index))}"
        if point_id in seen:
            raise ValueError(f"dataset[{index}] has the id {point_id!r} of an earlier datapoint")
        seen.add(point_id)
        points.append(Datapoint(point_id, dict(item)))
    dataset_id = f"EXT-{_digest(_json([dict(i) for i in dataset]))}"
    return Dataset(dataset_id, True, points)


def fetch_dataset(client: HoneyHive, dataset_id: str) -> Dataset:
    """A HoneyHive dataset and its datapoints. One the API says does not exist (404: deleted
    since it was added) is skipped, with a WARNING; any other failure (the API down, 429, 5xx)
    raises ``APIError``: a run quietly smaller than its dataset would compare wrongly."""
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise ValueError(f"dataset_id must be a non-empty string, got {dataset_id!r}")
    answer = client.datasets.list(dataset_id=dataset_id)
    found = [d for d in answer.get("datasets") or [] if isinstance(d, Mapping)]
    if not found:
        raise ValueError(f"Dataset not found: {dataset_id!r} (at {redact_url(client.server_url)})")
    ids = [str(i) for i in found[0].get("datapoints") or []]
    points = []
    for point_id in ids:
        try:
            got = client.datapoints.get(point_id).get("datapoint") or []
        except APIError as exc:
            if exc.status_code != 404:
                raise
            logger.warning(
                "evaluate: datapoint %s of dataset %s skipped: %s", point_id, dataset_id, exc
            )
            continue
        record: Optional[Mapping[str, Any]] = got[0] if got else None
        if record is None:
            logger.warning("evaluate: datapoint %s of dataset %s not found", point_id, dataset_id)
            continue
        found_id = str(record.get("id") or point_id)
        item = {
            "inputs": dict(record.get("inputs") or {}),
            "ground_truth": record.get("ground_truth"),
            "id": found_id,
        }
        points.append(Datapoint(found_id, item))
    if not points:
        raise ValueError(f"Dataset {dataset_id!r} has no datapoint that could be fetched")
    return Dataset(dataset_id, False, points)

"""Datasets and datapoints in the collector, as the HoneyHive API has them.

A dataset is a name and an ordered list of datapoint ids; a datapoint is inputs, ground truth,
history and metadata, and may be in any number of datasets. Both are stored as JSON in their
own tables (schema version 3, see :mod:`.schema`); ids are made here.
"""

# ruff: noqa: S608 - the SQL text is built from this module's constants only; values are bound

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from honeyhive._collector.records import PayloadError
from honeyhive._collector.runs import iso_time
from honeyhive._collector.store import Store

__all__ = ["DATAPOINT_FIELDS", "DATASET_FIELDS", "Datasets"]

DATASET_FIELDS: dict[str, type] = {
    "dataset_id": str,
    "name": str,
    "description": str,
    "datapoints": list,
}
DATAPOINT_FIELDS: dict[str, type] = {
    "inputs": dict,
    "history": list,
    "ground_truth": dict,
    "metadata": dict,
    "linked_event": str,
    "linked_datasets": list,
}


class Datasets:
    """The dataset and datapoint tables of one collector database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _dataset(self, db: sqlite3.Connection, dataset_id: str) -> Optional[dict[str, Any]]:
        row = db.execute(
            "SELECT dataset_id, name, created_ns, updated_ns, body FROM datasets "
            "WHERE dataset_id = ?",
            (dataset_id,),
        ).fetchone()
        return _dataset_object(row) if row else None

    def create_dataset(self, body: dict[str, Any]) -> str:
        if not body.get("name"):
            raise PayloadError("createDataset: name is required")
        dataset_id = uuid.uuid4().hex[:24]
        now = time.time_ns()
        stored = {
            "description": body.get("description"),
            "datapoints": [str(p) for p in body.get("datapoints") or []],
        }
        with self.store.writing() as db:
            db.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, ?)",
                (dataset_id, body["name"], now, now, json.dumps(stored)),
            )
        return dataset_id

    def list_datasets(
        self, dataset_id: Optional[str] = None, name: Optional[str] = None
    ) -> list[dict[str, Any]]:
        where, args = ["1"], []
        if dataset_id:
            where.append("dataset_id = ?")
            args.append(dataset_id)
        if name:
            where.append("name = ?")
            args.append(name)
        rows = self.store.reading().execute(
            "SELECT dataset_id, name, created_ns, updated_ns, body FROM datasets "
            f"WHERE {' AND '.join(where)} ORDER BY created_ns DESC",
            args,
        )
        return [_dataset_object(row) for row in rows]

    def update_dataset(self, dataset_id: str, body: dict[str, Any]) -> Optional[dict[str, Any]]:
        with self.store.writing() as db:
            dataset = self._dataset(db, dataset_id)
            if dataset is None:
                return None
            for key in ("name", "description", "datapoints"):
                if key in body:
                    dataset[key] = body[key]
            _save_dataset(db, dataset)
            return self._dataset(db, dataset_id)

    def delete_dataset(self, dataset_id: str) -> bool:
        with self.store.writing() as db:
            cursor = db.execute("DELETE FROM datasets WHERE dataset_id = ?", (dataset_id,))
            return bool(cursor.rowcount == 1)

    def add_datapoints(self, dataset_id: str, body: dict[str, Any]) -> Optional[list[str]]:
        """``{"data": [rows], "mapping": {"inputs": [keys], "ground_truth": [keys], "history":
        [keys]}}``: one datapoint per row, each field the row's values under its keys."""
        data, mapping = body.get("data"), body.get("mapping") or {}
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise PayloadError("addDatapoints: data must be a list of objects")
        if not isinstance(mapping, dict):
            raise PayloadError("addDatapoints: mapping must be an object")
        with self.store.writing() as db:
            dataset = self._dataset(db, dataset_id)
            if dataset is None:
                return None
            ids = []
            for row in data:
                point: dict[str, Any] = {"linked_datasets": [dataset_id]}
                for field in ("inputs", "ground_truth"):
                    point[field] = {k: row[k] for k in mapping.get(field) or [] if k in row}
                history = [row[k] for k in mapping.get("history") or [] if k in row]
                point["history"] = history
                ids.append(_insert_datapoint(db, point))
            dataset["datapoints"] = [*dataset["datapoints"], *ids]
            _save_dataset(db, dataset)
            return ids

    def remove_datapoint(self, dataset_id: str, datapoint_id: str) -> bool:
        with self.store.writing() as db:
            dataset = self._dataset(db, dataset_id)
            if dataset is None or datapoint_id not in dataset["datapoints"]:
                return False
            dataset["datapoints"] = [p for p in dataset["datapoints"] if p != datapoint_id]
            _save_dataset(db, dataset)
            return True

    def create_datapoint(self, body: dict[str, Any]) -> str:
        with self.store.writing() as db:
            point_id = _insert_datapoint(db, body)
            for dataset_id in body.get("linked_datasets") or []:
                dataset = self._dataset(db, str(dataset_id))
                if dataset is not None:
                    dataset["datapoints"] = [*dataset["datapoints"], point_id]
                    _save_dataset(db, dataset)
            return point_id

    def get_datapoints(
        self, ids: Optional[Sequence[str]] = None, dataset_name: Optional[str] = None
    ) -> list[dict[str, Any]]:
        db = self.store.reading()
        if dataset_name:
            found = self.list_datasets(name=dataset_name)
            ids = [p for d in found for p in d["datapoints"]] + list(ids or [])
        if ids is None:
            rows = db.execute(
                "SELECT datapoint_id, created_ns, updated_ns, body FROM datapoints "
                "ORDER BY created_ns"
            ).fetchall()
            return [_datapoint_object(row) for row in rows]
        points = []
        for point_id in ids:
            point = self.get_datapoint(point_id)
            if point is not None:
                points.append(point)
        return points

    def get_datapoint(self, datapoint_id: str) -> Optional[dict[str, Any]]:
        row = (
            self.store.reading()
            .execute(
                "SELECT datapoint_id, created_ns, updated_ns, body FROM datapoints "
                "WHERE datapoint_id = ?",
                (datapoint_id,),
            )
            .fetchone()
        )
        return _datapoint_object(row) if row else None

    def update_datapoint(self, datapoint_id: str, body: dict[str, Any]) -> bool:
        with self.store.writing() as db:
            row = db.execute(
                "SELECT body FROM datapoints WHERE datapoint_id = ?", (datapoint_id,)
            ).fetchone()
            if row is None:
                return False
            stored = {**json.loads(row[0]), **body}
            db.execute(
                "UPDATE datapoints SET body = ?, updated_ns = ? WHERE datapoint_id = ?",
                (json.dumps(stored), time.time_ns(), datapoint_id),
            )
            return True

    def delete_datapoint(self, datapoint_id: str) -> bool:
        with self.store.writing() as db:
            cursor = db.execute("DELETE FROM datapoints WHERE datapoint_id = ?", (datapoint_id,))
            return bool(cursor.rowcount == 1)


def _dataset_object(row: Sequence[Any]) -> dict[str, Any]:
    dataset_id, name, created, updated, body = row
    stored = json.loads(body)
    return {
        "id": dataset_id,
        "name": name,
        "description": stored.get("description"),
        "datapoints": stored.get("datapoints") or [],
        "created_at": iso_time(created),
        "updated_at": iso_time(updated),
    }


def _save_dataset(db: sqlite3.Connection, dataset: dict[str, Any]) -> None:
    stored = {"description": dataset.get("description"), "datapoints": dataset["datapoints"]}
    db.execute(
        "UPDATE datasets SET name = ?, updated_ns = ?, body = ? WHERE dataset_id = ?",
        (dataset["name"], time.time_ns(), json.dumps(stored), dataset["id"]),
    )


def _insert_datapoint(db: sqlite3.Connection, body: Mapping[str, Any]) -> str:
    point_id = uuid.uuid4().hex[:24]
    now = time.time_ns()
    stored = {k: body.get(k) for k in DATAPOINT_FIELDS}
    db.execute(
        "INSERT INTO datapoints VALUES (?, ?, ?, ?)", (point_id, now, now, json.dumps(stored))
    )
    return point_id


def _datapoint_object(row: Sequence[Any]) -> dict[str, Any]:
    point_id, created, updated, body = row
    stored = json.loads(body)
    return {
        "id": point_id,
        "inputs": stored.get("inputs") or {},
        "history": stored.get("history") or [],
        "ground_truth": stored.get("ground_truth"),
        "metadata": stored.get("metadata") or {},
        "linked_event": stored.get("linked_event"),
        "linked_datasets": stored.get("linked_datasets") or [],
        "created_at": iso_time(created),
        "updated_at": iso_time(updated),
    }

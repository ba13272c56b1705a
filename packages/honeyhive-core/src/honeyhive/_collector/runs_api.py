"""The experiment routes: the HoneyHive API's ``/v1/runs``, ``/v1/datasets`` and
``/v1/datapoints`` (what ``evaluate()`` and the ``HoneyHive`` client call, ours and the
published one's), and the viewer's ``/api/runs``.

Bodies are parsed and stored by the ingest worker, like every other write; reads run in
Starlette's thread pool. An unknown run, dataset or datapoint is a 404 naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from typing import Any, Callable, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from honeyhive._collector.datasets import DATAPOINT_FIELDS, DATASET_FIELDS, Datasets
from honeyhive._collector.records import PayloadError
from honeyhive._collector.runs import AGGREGATES, RUN_FIELDS, Experiments, json_fields

__all__ = ["experiment_routes"]

T = TypeVar("T")
P = TypeVar("P")
Endpoint = Callable[[Request], Awaitable[Response]]

_ADD: dict[str, type] = {"data": list, "mapping": dict}


class Writer(Protocol):
    """The collector's write path: parse the JSON body, then store it, in the ingest worker."""

    async def __call__(
        self, request: Request, parse: Callable[[bytes], P], store: Callable[[P], T]
    ) -> T: ...


def _not_found(what: str, key: str) -> Response:
    return JSONResponse({"error": f"no {what} {key!r}"}, 404)


def _aggregate(request: Request) -> str:
    value = request.query_params.get("aggregate_function") or "average"
    if value not in AGGREGATES:
        raise PayloadError(f"aggregate_function must be one of {', '.join(AGGREGATES)}")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise PayloadError(f"{name} must be an integer, got {raw!r:.60}") from None
    return max(low, min(value, high))


def _list_param(request: Request, name: str) -> list[str]:
    """``name[]=a&name[]=b`` (the published client's form) or ``name=a&name=b``."""
    return [*request.query_params.getlist(f"{name}[]"), *request.query_params.getlist(name)]


def experiment_routes(
    experiments: Experiments,
    datasets_: Datasets,
    write: Writer,
    guard: Callable[[Endpoint], Endpoint],
) -> list[Route]:
    """The routes, bound to one database and one write path."""

    def parse(fields: dict[str, type], what: str) -> Callable[[bytes], dict[str, Any]]:
        return functools.partial(_parse, fields=fields, what=what)

    async def read(func: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(func, *args)

    # -- runs --------------------------------------------------------------------------------

    async def runs(request: Request) -> Response:
        if request.method == "POST":
            run = await write(request, parse(RUN_FIELDS, "createRun"), experiments.create_run)
            return JSONResponse({"run_id": run["run_id"], "evaluation": run})
        page = _int(request, "page", 1, 1, 10**9)
        limit = _int(request, "limit", 20, 1, 1000)
        found, total = await read(
            functools.partial(
                experiments.list_runs,
                limit,
                (page - 1) * limit,
                dataset_id=request.query_params.get("dataset_id"),
                name=request.query_params.get("name"),
                status=request.query_params.get("status"),
                run_ids=_list_param(request, "run_ids") or None,
            )
        )
        pages = max(1, -(-total // limit))
        return JSONResponse(
            {
                "evaluations": found,
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "total_unfiltered": total,
                    "total_pages": pages,
                    "has_next": page < pages,
                    "has_prev": page > 1,
                },
                "metrics": [],
            }
        )

    async def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if request.method == "PUT":

            def store(body: dict[str, Any]) -> Any:
                return experiments.update_run(run_id, body)

            updated = await write(request, parse(RUN_FIELDS, "updateRun"), store)
            if updated is None:
                return _not_found("run", run_id)
            return JSONResponse({"evaluation": updated})
        if request.method == "DELETE":
            deleted = await read(experiments.delete_run, run_id)
            if not deleted:
                return _not_found("run", run_id)
            return JSONResponse({"id": run_id, "deleted": True})
        found = await read(experiments.get_run, run_id)
        if found is None:
            return _not_found("run", run_id)
        return JSONResponse({"evaluation": found})

    async def result(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if request.url.path.startswith("/api/"):  # the viewer and the CLI: an id prefix will do
            run_id = await read(experiments.find_run, run_id) or run_id
        answer = await read(experiments.result, run_id, _aggregate(request))
        if answer is None:
            return _not_found("run", run_id)
        return JSONResponse(answer)

    async def metrics(request: Request) -> Response:
        """Each datapoint's session with its metrics (the API's ``/v1/runs/{id}/metrics``)."""
        run_id = request.path_params["run_id"]
        answer = await read(experiments.result, run_id)
        if answer is None:
            return _not_found("run", run_id)
        name = answer["run_object"]["configuration"].get("function") or "session"
        events = [
            {
                "event_name": name,
                "event_type": "chain",
                "session_id": row["session_id"],
                "metadata": {"datapoint_id": row["datapoint_id"]},
                "metrics": row["metrics"],
            }
            for row in answer["rows"]
        ]
        return JSONResponse({"events": events, "totalEvents": len(events)})

    async def compare(request: Request) -> Response:
        new, old = request.path_params["run_id"], request.path_params["old_run_id"]
        if request.url.path.startswith("/api/"):
            new = await read(experiments.find_run, new) or new
            old = await read(experiments.find_run, old) or old
        answer = await read(experiments.compare, new, old, _aggregate(request))
        if answer is None:
            return JSONResponse({"error": f"no run {new!r} or no run {old!r}"}, 404)
        return JSONResponse(answer)

    async def viewer_runs(request: Request) -> Response:
        limit = _int(request, "limit", 50, 1, 1000)
        offset = _int(request, "offset", 0, 0, 2**62)

        found = await read(experiments.summaries, limit, offset)
        return JSONResponse({"runs": found, "limit": limit, "offset": offset})

    # -- datasets ----------------------------------------------------------------------------

    async def datasets(request: Request) -> Response:
        params = request.query_params
        if request.method == "POST":
            dataset_id = await write(
                request, parse(DATASET_FIELDS, "createDataset"), datasets_.create_dataset
            )
            return JSONResponse({"inserted": True, "result": {"insertedId": dataset_id}})
        if request.method == "PUT":  # the legacy form: the id in the body
            body_id: dict[str, Any] = {}

            def store_legacy(body: dict[str, Any]) -> Any:
                body_id["id"] = str(body.get("dataset_id") or "")
                return datasets_.update_dataset(body_id["id"], body)

            updated = await write(request, parse(DATASET_FIELDS, "updateDataset"), store_legacy)
            if updated is None:
                return _not_found("dataset", body_id.get("id", ""))
            return JSONResponse({"result": updated})
        if request.method == "DELETE":
            dataset_id = params.get("dataset_id", "")
            if not await read(datasets_.delete_dataset, dataset_id):
                return _not_found("dataset", dataset_id)
            return JSONResponse({"result": {"id": dataset_id}})
        found = await read(datasets_.list_datasets, params.get("dataset_id"), params.get("name"))
        return JSONResponse({"datasets": found})

    async def dataset(request: Request) -> Response:
        dataset_id = request.path_params["dataset_id"]
        if request.method == "PUT":

            def store(body: dict[str, Any]) -> Any:
                return datasets_.update_dataset(dataset_id, body)

            updated = await write(request, parse(DATASET_FIELDS, "updateDataset"), store)
            if updated is None:
                return _not_found("dataset", dataset_id)
            return JSONResponse({"result": updated})
        if request.method == "DELETE":
            if not await read(datasets_.delete_dataset, dataset_id):
                return _not_found("dataset", dataset_id)
            return JSONResponse({"result": {"id": dataset_id}})
        found = await read(datasets_.list_datasets, dataset_id)
        if not found:
            return _not_found("dataset", dataset_id)
        return JSONResponse({"datasets": found})

    async def dataset_points(request: Request) -> Response:
        dataset_id = request.path_params["dataset_id"]
        if request.method == "GET":
            found = await read(datasets_.list_datasets, dataset_id)
            if not found:
                return _not_found("dataset", dataset_id)
            points = await read(datasets_.get_datapoints, found[0]["datapoints"])
            return JSONResponse({"datapoints": points})

        def store(body: dict[str, Any]) -> Any:
            return datasets_.add_datapoints(dataset_id, body)

        ids = await write(request, parse(_ADD, "addDatapoints"), store)
        if ids is None:
            return _not_found("dataset", dataset_id)
        return JSONResponse({"inserted": True, "datapoint_ids": ids})

    async def dataset_point(request: Request) -> Response:
        dataset_id, point_id = request.path_params["dataset_id"], request.path_params["point"]
        if not await read(datasets_.remove_datapoint, dataset_id, point_id):
            return JSONResponse({"error": f"no datapoint {point_id!r} in {dataset_id!r}"}, 404)
        return JSONResponse({"dereferenced": True, "message": "removed from the dataset"})

    # -- datapoints --------------------------------------------------------------------------

    async def datapoints(request: Request) -> Response:
        if request.method == "POST":
            point_id = await write(
                request, parse(DATAPOINT_FIELDS, "createDatapoint"), datasets_.create_datapoint
            )
            return JSONResponse({"inserted": True, "result": {"insertedIds": [point_id]}})
        ids = _list_param(request, "datapoint_ids") or None
        found = await read(datasets_.get_datapoints, ids, request.query_params.get("dataset_name"))
        return JSONResponse({"datapoints": found})

    async def datapoint(request: Request) -> Response:
        point_id = request.path_params["datapoint_id"]
        if request.method == "PUT":

            def store(body: dict[str, Any]) -> bool:
                return datasets_.update_datapoint(point_id, body)

            if not await write(request, parse(DATAPOINT_FIELDS, "updateDatapoint"), store):
                return _not_found("datapoint", point_id)
            return JSONResponse({"updated": True, "result": {"modifiedCount": 1}})
        if request.method == "DELETE":
            if not await read(datasets_.delete_datapoint, point_id):
                return _not_found("datapoint", point_id)
            return JSONResponse({"deleted": True})
        found = await read(datasets_.get_datapoint, point_id)
        if found is None:
            return _not_found("datapoint", point_id)
        return JSONResponse({"datapoint": [found]})

    every = ["GET", "PUT", "DELETE"]
    return [
        Route("/v1/runs", guard(runs), methods=["GET", "POST"]),
        Route("/v1/runs/{run_id}", guard(run), methods=every),
        Route("/v1/runs/{run_id}/result", guard(result), methods=["GET"]),
        Route("/v1/runs/{run_id}/summary", guard(result), methods=["GET"]),
        Route("/v1/runs/{run_id}/metrics", guard(metrics), methods=["GET"]),
        Route("/v1/runs/{run_id}/compare/{old_run_id}", guard(compare), methods=["GET"]),
        Route("/v1/runs/{run_id}/compare-with/{old_run_id}", guard(compare), methods=["GET"]),
        Route("/v1/datasets", guard(datasets), methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/v1/datasets/{dataset_id}", guard(dataset), methods=every),
        Route(
            "/v1/datasets/{dataset_id}/datapoints", guard(dataset_points), methods=["GET", "POST"]
        ),
        Route(
            "/v1/datasets/{dataset_id}/datapoints/{point}", guard(dataset_point), methods=["DELETE"]
        ),
        Route("/v1/datasets/{dataset_id}/{point}", guard(dataset_point), methods=["DELETE"]),
        Route("/v1/datapoints", guard(datapoints), methods=["GET", "POST"]),
        Route("/v1/datapoints/{datapoint_id}", guard(datapoint), methods=every),
        Route("/api/runs", guard(viewer_runs), methods=["GET"]),
        Route("/api/runs/{run_id}", guard(result), methods=["GET"]),
        Route("/api/runs/{run_id}/compare/{old_run_id}", guard(compare), methods=["GET"]),
    ]


def _parse(data: bytes, *, fields: dict[str, type], what: str) -> dict[str, Any]:
    return json_fields(data, fields, what)

"""``HoneyHive``: the part of the published REST client that experiments need, on httpx.

Three namespaces, with the published method names: ``datasets``, ``datapoints`` and
``experiments`` (also ``evaluations``). Answers are the API's JSON as :class:`DotDict` (``answer.
datasets[0].id`` and ``answer["datasets"][0]["id"]`` both work). One ``httpx.Client`` per client,
reused (keep-alive), closed by :meth:`HoneyHive.close` or ``with``. Any answer other than 2xx
raises :class:`APIError`, naming the call and the status; the API key never appears in it.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Optional
from urllib.parse import quote, urlsplit

import httpx

from honeyhive._compat import DotDict, MissingApiKeyError
from honeyhive._http import redact_url
from honeyhive._settings import is_loopback_url
from honeyhive._version import __version__

__all__ = ["APIError", "HoneyHive"]

DEFAULT_BASE_URL = "https://api.dp1.us.honeyhive.ai"
_KEY_VARS = ("HH_API_KEY", "HONEYHIVE_API_KEY")
_URL_VARS = ("HH_API_URL", "HONEYHIVE_SERVER_URL", "HH_SERVER_URL")
#: Published parameters that have no meaning here: accepted, and said to do nothing.
_NO_EFFECT = (
    "project",
    "cp_base_url",
    "rate_limit_calls",
    "rate_limit_window",
    "max_connections",
    "max_keepalive",
    "tracer_instance",
)


class APIError(Exception):
    """The API answered a call with an error status (or could not be reached: ``status_code``
    0). ``server_message`` is the answer's ``message`` or ``error``, when it had one."""

    def __init__(self, call: str, status_code: int, server_message: Optional[str] = None) -> None:
        text = f"{call} failed with status code {status_code}" if status_code else f"{call} failed"
        if server_message:
            text += f": {server_message}"
        super().__init__(text)
        self.status_code = status_code
        self.server_message = server_message


def _first_env(names: Sequence[str]) -> Optional[str]:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"base_url must be an http:// or https:// URL, got {url!r:.100} (set it with "
            "base_url=/server_url= or the HH_API_URL environment variable)"
        )
    return url.strip().rstrip("/")


class HoneyHive:
    """The HoneyHive REST client, as far as experiments need it.

    ``api_key`` (else ``HH_API_KEY``) is the project key; ``base_url`` or ``server_url`` (else
    ``HH_API_URL``) the API; ``timeout`` seconds per request (else ``HH_API_TIMEOUT``, default
    5). A local collector (a loopback URL) needs no key. The rest of the published client
    (events, sessions, metrics, configurations, charts) is not provided.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        project: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        server_url: Optional[str] = None,
        timeout: Optional[float] = None,
        **published: Any,
    ) -> None:
        unknown = sorted(set(published) - set(_NO_EFFECT))
        if unknown:
            raise TypeError(f"HoneyHive() got unexpected keyword arguments: {', '.join(unknown)}")
        given = {"project": project, **published}
        for name in _NO_EFFECT:
            if given.get(name) is not None:
                warnings.warn(
                    f"HoneyHive({name}=...) has no effect in this SDK", DeprecationWarning, 2
                )
        if api_key is not None and not isinstance(api_key, str):
            raise ValueError(f"api_key must be a string, got {type(api_key).__name__}")
        self._api_key = (api_key or "").strip() or _first_env(_KEY_VARS)
        self.server_url = _base_url(
            base_url or server_url or _first_env(_URL_VARS) or DEFAULT_BASE_URL
        )
        if timeout is None:
            raw = _first_env(("HH_API_TIMEOUT",))
            try:
                timeout = float(raw) if raw else 5.0
            except ValueError:
                message = f"HH_API_TIMEOUT must be a number of seconds, got {raw!r}"
                raise ValueError(message) from None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self._http: Optional[httpx.Client] = None
        self._lock = threading.Lock()
        self.datasets = Datasets(self)
        self.datapoints = Datapoints(self)
        self.experiments = Experiments(self)
        self.evaluations = self.experiments

    def __repr__(self) -> str:
        return f"HoneyHive(server_url={redact_url(self.server_url)!r})"

    @property
    def api_key(self) -> Optional[str]:
        return self._api_key

    def close(self) -> None:
        """Close the connections (idempotent)."""
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def __enter__(self) -> HoneyHive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                headers = {
                    "Accept": "application/json",
                    "hh-client-version": __version__,
                    "hh-client-language": "python",
                    "hh-client-package": "honeyhive-core",
                }
                if self._api_key:
                    headers["Authorization"] = f"Bearer {self._api_key}"
                self._http = httpx.Client(
                    base_url=self.server_url, headers=headers, timeout=self.timeout
                )
            return self._http

    def request(
        self,
        call: str,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        body: Any = None,
    ) -> Any:
        """One API call; the JSON answer (``DotDict`` for an object)."""
        if not self._api_key and not is_loopback_url(self.server_url):
            where = redact_url(self.server_url)
            raise MissingApiKeyError("project", f" (for {call} at {where})")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client().request(
                method, path, params=query or None, json=body if body is not None else None
            )
        except httpx.HTTPError as exc:
            raise APIError(call, 0, f"{type(exc).__name__}: {exc}") from None
        if not response.is_success:
            message: Optional[str] = None
            try:
                answer = response.json()
                if isinstance(answer, dict):
                    message = str(answer.get("message") or answer.get("error") or "") or None
            except ValueError:
                message = response.text[:200] or None
            raise APIError(call, response.status_code, message)
        if not response.content:
            return DotDict()
        try:
            answer = response.json()
        except ValueError:
            raise APIError(call, response.status_code, "the answer is not JSON") from None
        return _dotted(answer)


def _dotted(value: Any) -> Any:
    if isinstance(value, dict):
        return DotDict({k: _dotted(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_dotted(v) for v in value]
    return value


def _body(request: Any) -> Any:
    """A request given as a dict, or as an object with ``model_dump`` (a pydantic model)."""
    dump = getattr(request, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    if isinstance(request, Mapping):
        return {k: v for k, v in request.items() if v is not None}
    raise TypeError(f"expected a dict of the request's fields, got {type(request).__name__}")


def _segment(value: str) -> str:
    return quote(str(value), safe="")


class _Namespace:
    def __init__(self, client: HoneyHive) -> None:
        self._client = client


class Datasets(_Namespace):
    """``/v1/datasets``: named lists of datapoints."""

    def list(self, dataset_id: Optional[str] = None, name: Optional[str] = None) -> Any:
        """``{"datasets": [{"id", "name", "description", "datapoints": [ids], ...}]}``."""
        params = {"dataset_id": dataset_id, "name": name}
        return self._client.request("getDatasets", "GET", "/v1/datasets", params=params)

    def get_dataset(self, dataset_id: str) -> Any:
        return self.list(dataset_id=dataset_id)

    def create(self, request: Any) -> Any:
        """``request``: ``{"name", "description"?, "datapoints"?: [ids]}``; answers
        ``{"inserted": true, "result": {"insertedId"}}``."""
        return self._client.request("createDataset", "POST", "/v1/datasets", body=_body(request))

    def update(self, request: Any) -> Any:
        """``request``: ``{"dataset_id", "name"?, "description"?, "datapoints"?}``."""
        return self._client.request("updateDataset", "PUT", "/v1/datasets", body=_body(request))

    def delete(self, dataset_id: str) -> Any:
        params = {"dataset_id": dataset_id}
        return self._client.request("deleteDataset", "DELETE", "/v1/datasets", params=params)

    def add_datapoints(self, dataset_id: str, request: Any) -> Any:
        """``request``: ``{"data": [rows], "mapping": {"inputs": [keys], "ground_truth": [keys],
        "history": [keys]}}``; answers ``{"inserted": true, "datapoint_ids": [...]}``."""
        path = f"/v1/datasets/{_segment(dataset_id)}/datapoints"
        return self._client.request("addDatapoints", "POST", path, body=_body(request))

    def remove_datapoint(self, dataset_id: str, datapoint_id: str) -> Any:
        path = f"/v1/datasets/{_segment(dataset_id)}/datapoints/{_segment(datapoint_id)}"
        return self._client.request("removeDatapoint", "DELETE", path)

    list_datasets = list
    create_dataset = create
    update_dataset = update
    delete_dataset = delete


class Datapoints(_Namespace):
    """``/v1/datapoints``: inputs, ground truth and history, each in any number of datasets."""

    def list(
        self, datapoint_ids: Optional[Sequence[str]] = None, dataset_name: Optional[str] = None
    ) -> Any:
        params: dict[str, Any] = {"dataset_name": dataset_name}
        if datapoint_ids is not None:
            params["datapoint_ids[]"] = list(datapoint_ids)
        return self._client.request("getDatapoints", "GET", "/v1/datapoints", params=params)

    def get(self, datapoint_id: str) -> Any:
        """``{"datapoint": [{"id", "inputs", "ground_truth", "history", "metadata", ...}]}``."""
        path = f"/v1/datapoints/{_segment(datapoint_id)}"
        return self._client.request("getDatapoint", "GET", path)

    def create(self, request: Any) -> Any:
        """Answers ``{"inserted": true, "result": {"insertedIds": [id]}}``."""
        body = _body(request)
        return self._client.request("createDatapoint", "POST", "/v1/datapoints", body=body)

    def update(self, datapoint_id: str, request: Any) -> Any:
        path = f"/v1/datapoints/{_segment(datapoint_id)}"
        return self._client.request("updateDatapoint", "PUT", path, body=_body(request))

    def delete(self, datapoint_id: str) -> Any:
        path = f"/v1/datapoints/{_segment(datapoint_id)}"
        return self._client.request("deleteDatapoint", "DELETE", path)

    get_datapoint = get
    create_datapoint = create
    update_datapoint = update
    delete_datapoint = delete
    list_datapoints = list


class Experiments(_Namespace):
    """``/v1/runs``: experiment runs, their results and comparisons."""

    def create_run(self, request: Any) -> Any:
        """Answers ``{"run_id", "evaluation": run}``."""
        return self._client.request("createRun", "POST", "/v1/runs", body=_body(request))

    def update_run(self, run_id: str, request: Any) -> Any:
        path = f"/v1/runs/{_segment(run_id)}"
        return self._client.request("updateRun", "PUT", path, body=_body(request))

    def get_run(self, run_id: str) -> Any:
        """``{"evaluation": run}``."""
        return self._client.request("getRun", "GET", f"/v1/runs/{_segment(run_id)}")

    def delete_run(self, run_id: str) -> Any:
        return self._client.request("deleteRun", "DELETE", f"/v1/runs/{_segment(run_id)}")

    def list_runs(
        self,
        dataset_id: Optional[str] = None,
        page: Optional[int] = None,
        limit: Optional[int] = None,
        run_ids: Optional[Sequence[str]] = None,
        name: Optional[str] = None,
        status: Optional[str] = None,
    ) -> Any:
        """``{"evaluations": [runs], "pagination": {...}, "metrics": [names]}``."""
        params: dict[str, Any] = {
            "dataset_id": dataset_id,
            "page": page,
            "limit": limit,
            "name": name,
            "status": status,
        }
        if run_ids is not None:
            params["run_ids[]"] = list(run_ids)
        return self._client.request("getRuns", "GET", "/v1/runs", params=params)

    def get_result(
        self, run_id: str, aggregate_function: Optional[str] = None, filters: Any = None
    ) -> Any:
        """Per-datapoint results and per-metric aggregates, as the API computes them."""
        params = {"aggregate_function": aggregate_function, "filters": filters}
        path = f"/v1/runs/{_segment(run_id)}/result"
        return self._client.request("getRunResult", "GET", path, params=params)

    def compare_runs(
        self,
        new_run_id: str,
        old_run_id: str,
        aggregate_function: Optional[str] = None,
        filters: Any = None,
    ) -> Any:
        """Metric by metric: the aggregates of both runs and the datapoints that improved."""
        params = {"aggregate_function": aggregate_function, "filters": filters}
        path = f"/v1/runs/{_segment(new_run_id)}/compare-with/{_segment(old_run_id)}"
        return self._client.request("compareRuns", "GET", path, params=params)

    get_run_result = get_result

"""Per-request sessions against a backend 50 ms away: do session starts keep up with a web app?

Every party runs in its own process (no shared GIL):

* the **sink** (``bench_sessions.py --sink``): a raw asyncio HTTP/1.1 server on 127.0.0.1 that
  answers every request (the HoneyHive API's routes and OTLP alike) after ``LATENCY`` seconds,
  as a backend across a network would. It counts the session starts it receives (each event of
  type ``session`` in ``POST /events/batch``, each ``POST /session/start``), other events and
  spans, with duplicates. ``GET /__stats`` and ``POST /__reset`` are instant.
* **ours** (``--contender ours``, this repository's ``.venv``): a Flask app with
  ``honeyhive-flask`` (``HoneyHive(app, tracer=...)``, a session per request, the default), a
  span in the view; ``REQUESTS`` requests as fast as the process can (direct WSGI calls, the
  body iterated and closed as a server would), then ``tracer.flush(timeout=30)``. Every setting
  at its default but ``server_url``.
* **published** (``--contender published``, run with ``benchmarks/.venvs/published``'s Python,
  which ``bench_import.py`` creates): the published SDK's own per-request pattern, its
  "RECOMMENDED FOR WEB SERVERS" ``tracer.create_session(...)`` at the start of each request
  and a span in the handler, in a plain WSGI app (that venv has no Flask; the framework costs
  microseconds, the session start a round trip), then ``tracer.flush(30000)``.
  ``create_session`` blocks for the round trip, so this side runs ``PUBLISHED_REQUESTS``.

Figures: session starts received by the sink per second, from the first request to the flush
returning (the table shows the time per session start delivered; ratio ours/published), and
how many of ours were lost after the flush (requests made - session starts received). Goal:
**ours >= 1,000 session starts/s and 0 lost** (about 20/s before the API channel).

    .venv/bin/python benchmarks/run.py sessions [--quick]
    .venv/bin/python benchmarks/bench_sessions.py --quick       # alone
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Report, Row, quantile

NAME = "sessions"
LATENCY = 0.05  # seconds before the sink answers anything
REQUESTS = 2000
PUBLISHED_REQUESTS = 200  # one blocking round trip each: 200 already take 10 s
GOAL_PER_S = 1000.0
THIS = Path(__file__).resolve()
HERE = THIS.parent


# =============================================================================================
# The sink: its own process (``--sink``)
# =============================================================================================


def _sink_main(latency: float) -> int:
    import asyncio

    stats: dict[str, Any] = {}
    sessions: set[str] = set()

    def reset() -> None:
        sessions.clear()
        stats.clear()
        stats.update(session_starts=0, duplicate_sessions=0, events=0, span_requests=0, requests=0)

    reset()

    def started(session_id: str) -> None:
        stats["session_starts"] += 1
        if session_id in sessions:
            stats["duplicate_sessions"] += 1
        sessions.add(session_id)

    def handle(method: str, path: str, body: bytes) -> bytes:
        stats["requests"] += 1
        if path == "/session/start":
            session = json.loads(body).get("session", {})
            session_id = session.get("session_id") or os.urandom(16).hex()
            started(session_id)
            # The five fields the published client needs to take the id it gets back.
            answer = {
                "session_id": session_id,
                "event_id": session_id,
                "org_id": "bench",
                "workspace_id": "bench",
                "project_id": "bench",
            }
            return _response(200, b"application/json", json.dumps(answer).encode())
        if path == "/events/batch":
            events = json.loads(body).get("events", [])
            for event in events:
                if event.get("event_type") == "session":
                    started(str(event.get("session_id")))
                else:
                    stats["events"] += 1
            ids = [str(e.get("event_id") or e.get("session_id") or "") for e in events]
            answer = {"success": True, "event_ids": ids}
            return _response(200, b"application/json", json.dumps(answer).encode())
        if path.endswith("/v1/traces"):
            stats["span_requests"] += 1
            return _response(200, b"application/x-protobuf", b"")
        return _response(200, b"application/json", b'{"success": true}')

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, rest = head.partition(b"\r\n")
                method, target = request_line.split(b" ")[:2]
                headers: dict[bytes, bytes] = {}
                for line in rest.split(b"\r\n"):
                    name, sep, value = line.partition(b":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                path = target.decode("latin-1").split("?", 1)[0]
                if path == "/__stats":
                    payload = json.dumps(stats).encode()
                    writer.write(_response(200, b"application/json", payload))
                elif path == "/__reset":
                    reset()
                    writer.write(_response(200, b"application/json", b"{}"))
                else:
                    await asyncio.sleep(latency)  # the network and the backend
                    writer.write(handle(method.decode("latin-1"), path, body))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            writer.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def parent_gone() -> None:  # the driver closes our stdin (or dies): leave
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        threading.Thread(target=parent_gone, daemon=True).start()
        server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
        print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
        await done

    asyncio.run(main())
    return 0


def _response(status: int, content_type: bytes, payload: bytes) -> bytes:
    return b"HTTP/1.1 %d OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        content_type,
        len(payload),
        payload,
    )


class Sink:
    """The sink process, started by the driver."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(THIS), "--sink"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        port = json.loads(self.process.stdout.readline())["port"]
        self.url = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", int(self.url.rsplit(":", 1)[1]))
        try:
            connection.request(method, path, body=b"" if method == "POST" else None)
            answer: dict[str, Any] = json.loads(connection.getresponse().read())
            return answer
        finally:
            connection.close()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/__stats")

    def reset(self) -> None:
        self._call("POST", "/__reset")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# =============================================================================================
# The contenders: their own processes (``--contender``)
# =============================================================================================


def _environ(path: str) -> dict[str, Any]:
    import io

    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "bench",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _drive(app: Any, requests: int) -> float:
    """``requests`` WSGI calls, each body iterated and closed; returns the loop's seconds."""

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        return None

    started = time.perf_counter()
    for index in range(requests):
        body = app(_environ(f"/users/{index}"), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return time.perf_counter() - started


def _ours(url: str, requests: int) -> dict[str, Any]:
    from flask import Flask

    from honeyhive import HoneyHiveTracer
    from honeyhive_flask import HoneyHive

    tracer = HoneyHiveTracer(server_url=url, project="bench")
    app = Flask("bench")
    HoneyHive(app, tracer=tracer)

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        with tracer.trace("load-user"):
            pass
        return {"id": user_id}

    started = time.perf_counter()
    loop_s = _drive(app, requests)
    flushed = tracer.flush(timeout=30)
    elapsed = time.perf_counter() - started
    return {
        "loop_s": loop_s,
        "elapsed_s": elapsed,
        "flushed": flushed,
        "dropped_api_calls": {k: v for k, v in tracer.dropped_api_calls.items() if v},
        "dropped_spans": {k: v for k, v in tracer.dropped.items() if v},
    }


def _published(url: str, requests: int) -> dict[str, Any]:
    import logging

    from honeyhive import HoneyHiveTracer, trace

    logging.disable(logging.WARNING)  # the published SDK logs a line per session start
    tracer = HoneyHiveTracer.init(
        api_key="bench-key", project="bench", source="bench", server_url=url
    )

    @trace(tracer=tracer)
    def load_user(user_id: int) -> int:
        return user_id

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        tracer.create_session(session_name=f"GET {path}")  # its per-request pattern
        load_user(int(path.rsplit("/", 1)[1]))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    started = time.perf_counter()
    loop_s = _drive(app, requests)
    flushed = tracer.flush(30000)
    elapsed = time.perf_counter() - started
    return {"loop_s": loop_s, "elapsed_s": elapsed, "flushed": bool(flushed)}


def _contender_main(kind: str, url: str, requests: int) -> int:
    result = _ours(url, requests) if kind == "ours" else _published(url, requests)
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # no exit-time flush: what the flush did not deliver stays undelivered


# =============================================================================================
# The driver
# =============================================================================================


def _published_python() -> tuple[Optional[Path], str]:
    from bench_import import ensure_published

    return ensure_published(log=lambda text: print(text, file=sys.stderr))


def _run(python: Path, kind: str, sink: Sink, requests: int) -> dict[str, Any]:
    sink.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    for name in ("PYTHONPATH", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    done = subprocess.run(
        [str(python), str(THIS), "--contender", kind, "--url", sink.url, "-n", str(requests)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=HERE,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"{kind} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    time.sleep(LATENCY * 2)  # anything still in flight when the flush returned is not counted
    result["sink"] = sink.stats()
    result["requests"] = requests
    return result


def _rate(run: dict[str, Any]) -> float:
    return int(run["sink"]["session_starts"]) / float(run["elapsed_s"])


def measure(quick: bool, log: Any = print) -> Report:
    rounds = 1 if quick else 3
    requests = REQUESTS
    published_requests = 100 if quick else PUBLISHED_REQUESTS
    ours_python = Path(sys.executable)
    published, version = _published_python()
    sink = Sink()
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "published": []}
    try:
        for index in range(rounds):
            order = ["ours", "published"] if index % 2 == 0 else ["published", "ours"]
            for kind in order:
                if kind == "published" and published is None:
                    continue
                python = ours_python if kind == "ours" else published
                assert python is not None
                count = requests if kind == "ours" else published_requests
                runs[kind].append(_run(python, kind, sink, count))
            log(f"bench_sessions: round {index + 1}/{rounds}")
    finally:
        sink.close()

    ours = runs["ours"]
    ours_rates = [_rate(r) for r in ours]
    ours_rate = statistics.median(ours_rates)
    lost = [r["requests"] - int(r["sink"]["session_starts"]) for r in ours]
    duplicates = sum(int(r["sink"]["duplicate_sessions"]) for r in ours)
    rows: list[Row] = []
    notes = [
        f"a sink that answers everything after {LATENCY * 1000:.0f} ms; ours: Flask + "
        f"honeyhive-flask, {requests} requests in process, then flush(timeout=30); published "
        f"({version or 'not installed'}): create_session per request, {published_requests} "
        "requests (it blocks a round trip each)",
        "session starts/s = session starts received by the sink / (first request .. flush "
        f"returned); ours per round: {', '.join(f'{r:.0f}' for r in ours_rates)}",
    ]
    if runs["published"]:
        theirs = runs["published"]
        theirs_rate = statistics.median(_rate(r) for r in theirs)
        base = Row(NAME, "published: per session start", 1e6 / theirs_rate, status="baseline")
        base.extra.update(contender_id="published", sessions_per_s=theirs_rate)
        # time per session start, ours / theirs, round by round
        ratios = [t / o for o, t in zip(ours_rates, map(_rate, theirs))]
        ours_row = Row(
            NAME,
            "ours: per session start",
            1e6 / ours_rate,
            baseline="published",
            ratio=statistics.median(ratios),
            ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
            status="info",
            note=f"ours {ours_rate:.0f} session starts/s, published {theirs_rate:.0f}/s",
        )
        rows += [base, ours_row]
    else:
        rows.append(Row(NAME, "published", None, status="skipped", note=version))
    goal = Row(
        NAME,
        f"ours: vs the goal of {GOAL_PER_S:.0f} session starts/s",
        1e6 / ours_rate,
        ratio=GOAL_PER_S / ours_rate,
        target=1.0,
        status="PASS" if ours_rate >= GOAL_PER_S else "MISS",
        note=f"{ours_rate:.0f} session starts/s (median of {len(ours)} runs)",
    )
    lost_row = Row(
        NAME,
        f"ours: session starts lost after flush(30) of {requests}",
        float(max(lost)),
        ratio=max(lost) / requests,
        target=0.0,
        status="PASS" if max(lost) == 0 and duplicates == 0 else "MISS",
        unit="sessions",
        note=f"worst of {len(lost)} runs; duplicates at the sink: {duplicates}",
    )
    rows += [goal, lost_row]
    checks = {
        "ours_flushed": all(r["flushed"] for r in ours),
        "ours_lost": lost,
        "ours_dropped": [r["dropped_api_calls"] for r in ours],
        "duplicates": duplicates,
    }
    return Report(
        NAME,
        rows,
        notes=notes,
        checks=checks,
        settings={"latency_s": LATENCY, "requests": requests, "rounds": rounds},
        samples={"ours_sessions_per_s": ours_rates},
    )


def run(quick: bool = False) -> Report:
    return measure(quick, log=lambda text: print(text, file=sys.stderr))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=("ours", "published"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=REQUESTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        return _sink_main(LATENCY)
    if args.contender:
        return _contender_main(args.contender, args.url, args.n)
    report = run(args.quick)
    for row in report.rows:
        median = "-" if row.median is None else f"{row.median:10.1f} {row.unit}"
        ratio = "" if row.ratio is None else f"  ratio {row.ratio:.3f}"
        print(f"{row.contender:48s} {median}{ratio} {row.status} {row.note}")
    for note in report.notes:
        print(" ", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Trace a small LLM-style app into a local collector and print what arrived.

Run it with ``.venv/bin/python examples/quickstart.py`` (``python3 dev.py demo`` runs the bigger
demo, three services under real servers). Nothing leaves this machine: the collector
(``honeyhive.collector``, what ``honeyhive serve`` runs) listens on 127.0.0.1 in a background
thread, and the tracer is pointed at it with ``server_url`` (or ``HH_API_URL``), so no API key is
needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path

from honeyhive import HoneyHiveTracer, trace
from honeyhive.collector import start


@trace(event_type="tool")
def search_docs(query: str, api_key: str = "sk-demo-not-a-real-key") -> list[str]:
    """A tool call: its arguments are captured, the api_key argument is redacted."""
    return [f"doc about {query}", "another doc"]


@trace(event_type="model", event_name="chat_completion")
async def call_model(messages: list[dict[str, str]]) -> str:
    """A model call (a stand-in: no network)."""
    await asyncio.sleep(0.01)
    return f"Here is what I found for: {messages[-1]['content']}"


@trace(event_type="chain")
async def answer(question: str) -> str:
    documents = search_docs(question)
    return await call_model(
        [{"role": "system", "content": "\n".join(documents)}, {"role": "user", "content": question}]
    )


@trace(event_type="tool")
def flaky_tool() -> None:
    raise TimeoutError("the tool timed out")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, start(db_path=Path(tmp) / "traces.db") as collector:
        print(f"local collector listening on {collector.url}")
        with HoneyHiveTracer.init(
            project="quickstart", session_name="demo", server_url=collector.url
        ) as tracer:
            reply = asyncio.run(answer("How do I trace a FastAPI app?"))
            with contextlib.suppress(TimeoutError):  # recorded on its span as an error
                flaky_tool()
            tracer.enrich_session(metadata={"user_tier": "free"}, feedback={"helpful": True})
            tracer.create_event("user_feedback", "tool", inputs={"rating": 5})
            delivered = tracer.flush(timeout=5)
        print(f"\nreply: {reply}")
        print(f"flush delivered everything: {delivered}; session {tracer.session_id}\n")
        # What arrived, as `honeyhive traces` prints it.
        command = [sys.executable, "-m", "honeyhive", "traces", "--url", collector.url]
        subprocess.run([*command, "--session", tracer.session_id], check=False)
        return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main())

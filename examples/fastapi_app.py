"""The demo's ``agent`` service: a FastAPI app, served by uvicorn.

    HH_API_URL=http://127.0.0.1:8318 DOCS_URL=http://127.0.0.1:8002 \\
        uvicorn --app-dir examples --port 8001 fastapi_app:app

* ``POST /answer``: a chain: looks documents up in the ``docs`` service (Django; the trace and
  the session go along with ``tracer.inject``), then calls a (stand-in) model;
* ``GET /stream?q=...``: a streamed response; the request's span and the model's span last until
  the last chunk is sent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from honeyhive import HoneyHiveTracer, trace
from honeyhive_fastapi import HoneyHiveMiddleware

tracer = HoneyHiveTracer.init(project="demo-shop", source="demo")
DOCS_URL = os.environ.get("DOCS_URL", "http://127.0.0.1:8002")

api = FastAPI()


class Question(BaseModel):
    question: str


@trace(event_type="tool")
async def search_docs(query: str) -> list[str]:
    """Ask the docs service, carrying the trace and the session."""
    headers = tracer.inject({})
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{DOCS_URL}/search", params={"q": query}, headers=headers)
    response.raise_for_status()
    return list(response.json()["documents"])


MODEL = "gpt-4o-mini"  # what a real call would name; the collector prices it from its table


@trace(event_type="model", event_name="chat_completion")
async def call_model(messages: list[dict[str, str]]) -> str:
    """A stand-in for an LLM call (no network): chat messages in, the answer out."""
    await asyncio.sleep(0.02)
    documents = messages[-1]["content"].count("\n- ")
    tracer.enrich_span(
        config={"model": MODEL, "temperature": 0.2},
        metrics={"prompt_tokens": 42 + 9 * documents, "completion_tokens": 17},
    )
    first = messages[-1]["content"].partition("\n- ")[2].partition("\n")[0]
    return f"From {documents} documents: {first or 'nothing found'}"


def chat(question: str, documents: list[str]) -> list[dict[str, str]]:
    context = "".join(f"\n- {doc}" for doc in documents)
    return [
        {"role": "system", "content": "Answer from the documents only."},
        {"role": "user", "content": f"{question}\nDocuments:{context}"},
    ]


@trace(event_type="model", event_name="chat_completion_stream")
async def stream_tokens(question: str) -> AsyncIterator[str]:
    tracer.enrich_span(config={"model": MODEL}, inputs={"messages": chat(question, [])})
    for word in f"Here is a streamed answer about {question} , token by token .".split():
        await asyncio.sleep(0.01)
        yield word + " "


@api.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@api.post("/answer")
async def answer(body: Question) -> dict[str, str]:
    with tracer.trace("answer", event_type="chain", question=body.question):
        documents = await search_docs(body.question)
        return {"answer": await call_model(chat(body.question, documents))}


@api.get("/stream")
async def stream(q: str = "streaming") -> StreamingResponse:
    return StreamingResponse(stream_tokens(q), media_type="text/plain")


# One SERVER span per request; a caller's session (in its baggage) is allowed to carry over,
# since the demo's services trust each other.
api.add_middleware(HoneyHiveMiddleware, tracer=tracer, allowed_baggage_keys=["session_id"])
app = api

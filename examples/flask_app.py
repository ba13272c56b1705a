"""The demo's ``web`` service: a Flask app, served by gunicorn.

    HH_API_URL=http://127.0.0.1:8318 AGENT_URL=http://127.0.0.1:8001 \\
        gunicorn --chdir examples --bind 127.0.0.1:8000 flask_app:app

* ``GET /ask?q=...``: asks the ``agent`` service (FastAPI) over HTTP, carrying the trace and the
  session across with ``tracer.inject``;
* ``GET /checkout``: a payment tool fails; the error is recorded on its span and the request
  answers 500.
"""

from __future__ import annotations

import os

import httpx
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from honeyhive import HoneyHiveTracer, trace
from honeyhive_flask import HoneyHive

tracer = HoneyHiveTracer.init(project="demo-shop", source="demo")
AGENT_URL = os.environ.get("AGENT_URL", "http://127.0.0.1:8001")

app = Flask(__name__)
# One SERVER span per request; a caller's session (in its baggage) is allowed to carry over,
# since the demo's services trust each other.
HoneyHive(app, tracer=tracer, allowed_baggage_keys=["session_id"])


class PaymentDeclined(Exception):
    pass


@trace(event_type="tool")
def charge_card(amount_cents: int, card_token: str) -> str:
    """Always declined, to show an error in the trace (``card_token`` is redacted as a secret)."""
    raise PaymentDeclined(f"card declined for {amount_cents / 100:.2f} USD")


@app.get("/healthz")
def healthz() -> ResponseReturnValue:
    return "ok"


@app.get("/ask")
def ask() -> ResponseReturnValue:
    question = request.args.get("q", "")
    with tracer.trace("ask the agent", event_type="tool", question=question):
        headers = tracer.inject({})  # traceparent + baggage (the session) for the next service
        response = httpx.post(
            f"{AGENT_URL}/answer", json={"question": question}, headers=headers, timeout=10
        )
        response.raise_for_status()
    return jsonify(answer=response.json()["answer"])


@app.get("/checkout")
def checkout() -> ResponseReturnValue:
    charge_card(4999, card_token="tok_visa_4242")  # raises: Flask answers 500
    return jsonify(paid=True)

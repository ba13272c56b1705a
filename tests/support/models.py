"""A model API on loopback that streams as OpenAI's and Anthropic's do (server-sent events),
for the real ``openai`` and ``anthropic`` clients to talk to."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ANSWER", "ModelServer"]

#: The words every stream answers with.
ANSWER = ["Refunds ", "take ", "five ", "days."]


def _openai_events(words: list[str], tool_call: bool = False) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict[str, Any], finish: Any = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    if tool_call:
        call = {"index": 0, "id": "call_1", "type": "function"}
        events.append(chunk({"tool_calls": [{**call, "function": {"name": "lookup"}}]}))
        events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q":1}'}}]}))
    events += [chunk({"content": word}) for word in words]
    events.append(chunk({}, "tool_calls" if tool_call else "stop"))
    usage = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    events.append({**base, "choices": [], "usage": usage})
    return events


def _anthropic_events(words: list[str]) -> list[dict[str, Any]]:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 9, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    for word in words:
        delta = {"type": "text_delta", "text": word}
        events.append({"type": "content_block_delta", "index": 0, "delta": delta})
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    return events


class ModelServer:
    """Streams canned events as ``/v1/chat/completions`` (OpenAI) and ``/v1/messages``
    (Anthropic) do, after a first-token delay."""

    first_delay = 0.05

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/chat/completions"):
                    tools = bool(body.get("tools"))  # then the model only calls the tool
                    events = _openai_events([] if tools else ANSWER, tool_call=tools)
                    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
                else:
                    events = _anthropic_events(ANSWER)
                    lines = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                time.sleep(owner.first_delay)
                for line in lines:
                    self.wfile.write(line.encode())
                    self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""One model of an LLM span, whichever convention its instrumentor speaks.

Four conventions name the same things differently:

* HoneyHive's own: ``honeyhive_event_type``, ``honeyhive_inputs.*`` / ``honeyhive_outputs.*``
  (flattened: ``honeyhive_inputs.messages.0.content``), ``honeyhive_config.model`` and other
  parameters, tokens in ``honeyhive_metrics.*`` or ``honeyhive_metadata.*``;
* OpenTelemetry GenAI: ``gen_ai.operation.name``, ``gen_ai.request.model`` /
  ``gen_ai.response.model``, ``gen_ai.provider.name`` (``gen_ai.system`` before), the JSON
  ``gen_ai.input.messages`` / ``gen_ai.output.messages`` / ``gen_ai.system_instructions``,
  ``gen_ai.request.*`` parameters, ``gen_ai.usage.input_tokens`` / ``output_tokens``
  (``prompt_tokens`` / ``completion_tokens`` before);
* OpenInference: ``openinference.span.kind``, ``llm.model_name``, ``llm.provider``,
  ``llm.input_messages.N.message.role|content|contents|tool_calls`` and ``llm.output_messages``,
  ``llm.prompts.N.prompt.text`` / ``llm.choices.N.completion.text`` (the completions API),
  ``input.value`` / ``output.value`` (with ``*.mime_type``), ``llm.invocation_parameters``,
  ``llm.token_count.prompt|completion|total``;
* Traceloop / OpenLLMetry: ``traceloop.span.kind``, ``llm.request.type``,
  ``gen_ai.prompt.N.role|content`` and ``gen_ai.completion.N.role|content|tool_calls``,
  ``traceloop.entity.input`` / ``output``, ``llm.usage.total_tokens``.

Two entry points. :func:`span_facts` runs at ingest for every span and must stay cheap: one
pass over the attributes gives the event type, the model, token counts and the text that
search indexes. :func:`llm_view` runs when one span's details are read: the conversation as
messages with roles, inputs and outputs otherwise, parameters, usage and time to first chunk.
Standard library only; nothing here raises on odd values (a value of the wrong type is
skipped, a key nested deeper than :data:`_MAX_DEPTH` levels keeps its tail as one key):
``tests/test_collector_normalize.py`` holds both to that over generated attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Optional

__all__ = ["SEARCH_TEXT_LIMIT", "SpanFacts", "event_type_of", "llm_view", "span_facts"]

#: Characters of input (and of output) text a span contributes to the search index.
SEARCH_TEXT_LIMIT = 8192

_EVENT_TYPE_KEYS = ("honeyhive_event_type", "honeyhive.event_type")
# How the HoneyHive backend types spans from the GenAI and OpenInference conventions
# (wire-protocol.md), and Traceloop's kinds and request types the same way.
_GEN_AI_TYPES = {
    "chat": "model",
    "text_completion": "model",
    "generate_content": "model",
    "embeddings": "model",
    "invoke_agent": "chain",
    "create_agent": "chain",
    "invoke_workflow": "chain",
    "execute_tool": "tool",
    "retrieval": "tool",
}
_OPENINFERENCE_TYPES = {
    "LLM": "model",
    "CHAIN": "chain",
    "AGENT": "chain",
    "TOOL": "tool",
    "RETRIEVER": "tool",
    "EMBEDDING": "tool",
    "RERANKER": "tool",
    "GUARDRAIL": "tool",
}
_TRACELOOP_KINDS = {"workflow": "chain", "task": "chain", "agent": "chain", "tool": "tool"}
_TRACELOOP_REQUESTS = {"chat": "model", "completion": "model", "embedding": "model"}
_TYPE_TABLE_KEYS = (
    "gen_ai.operation.name",
    "openinference.span.kind",
    "traceloop.span.kind",
    "llm.request.type",
)

_MODEL_KEYS = (
    "honeyhive_config.model",
    "gen_ai.response.model",
    "llm.response.model_name",
    "llm.model_name",
    "gen_ai.request.model",
    "llm.request.model_name",
    "embedding.model_name",
    "honeyhive_metadata.model",
    "honeyhive_config.model_name",
)
_PROVIDER_KEYS = (
    "honeyhive_config.provider",
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
)
_PROMPT_TOKEN_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "honeyhive_metrics.prompt_tokens",
    "honeyhive_metrics.input_tokens",
    "honeyhive_metadata.prompt_tokens",
    "honeyhive_metadata.input_tokens",
    "llm.usage.prompt_tokens",
)
_COMPLETION_TOKEN_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "honeyhive_metrics.completion_tokens",
    "honeyhive_metrics.output_tokens",
    "honeyhive_metadata.completion_tokens",
    "honeyhive_metadata.output_tokens",
    "llm.usage.completion_tokens",
)
_TOTAL_TOKEN_KEYS = (
    "llm.token_count.total",
    "llm.usage.total_tokens",
    "gen_ai.usage.total_tokens",
    "honeyhive_metrics.total_tokens",
    "honeyhive_metadata.total_tokens",
)
_TTFT_MS_KEYS = (
    "honeyhive_metrics.time_to_first_chunk_ms",
    "honeyhive_metadata.time_to_first_chunk_ms",
    "honeyhive.time_to_first_chunk_ms",
)
_TTFT_S_KEYS = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")

# Attribute families whose string values are a span's input, and its output, for search.
_INPUT_PREFIXES = (
    "honeyhive_inputs.",
    "llm.input_messages.",
    "gen_ai.prompt.",
    "llm.prompts.",
)
_INPUT_KEYS = frozenset(
    {
        "input.value",
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "gen_ai.prompt",
        "traceloop.entity.input",
        "gen_ai.tool.call.arguments",
        "gen_ai.retrieval.query.text",
    }
)
_OUTPUT_PREFIXES = (
    "honeyhive_outputs.",
    "llm.output_messages.",
    "gen_ai.completion.",
    "llm.choices.",
)
_OUTPUT_KEYS = frozenset(
    {
        "output.value",
        "gen_ai.output.messages",
        "gen_ai.completion",
        "traceloop.entity.output",
        "gen_ai.tool.call.result",
        "honeyhive_error",
    }
)
# Which conventions a span speaks (Traceloop also writes gen_ai.* keys of its own).
_OPENINFERENCE_MARKS = (
    "openinference.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.model_name",
    "llm.token_count.",
    "llm.invocation_parameters",
    "llm.prompts.",
    "input.value",
    "output.value",
)
_TRACELOOP_MARKS = (
    "traceloop.",
    "llm.request.type",
    "llm.usage.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
)
_GEN_AI_MARKS = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
)
_NOT_TEXT = (".role", ".finish_reason", "_tokens", ".mime_type", ".id")
_FIRST_CHARS = frozenset(key[0] for key in (*_INPUT_PREFIXES, *_OUTPUT_PREFIXES, *_INPUT_KEYS))


class SpanFacts(NamedTuple):
    """What a span says about itself as an LLM step, found at ingest."""

    event_type: Optional[str]
    model: Optional[str]
    prompt_tokens: Optional[int]
    completion_tokens: Optional[int]
    total_tokens: Optional[int]
    input_text: str
    output_text: str


def event_type_of(attributes: Mapping[str, Any]) -> Optional[str]:
    """model, tool, chain (or what ``honeyhive_event_type`` says), or None."""
    for key in _EVENT_TYPE_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value[:32]
    for key, table in (
        ("gen_ai.operation.name", _GEN_AI_TYPES),
        ("openinference.span.kind", _OPENINFERENCE_TYPES),
        ("traceloop.span.kind", _TRACELOOP_KINDS),
        ("llm.request.type", _TRACELOOP_REQUESTS),
    ):
        value = attributes.get(key)
        if isinstance(value, str) and value in table:
            return table[value]
    return None


def _first_text(attributes: Mapping[str, Any], keys: Sequence[str]) -> Optional[str]:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value[:200]
    return None


def _is_index(key: str) -> bool:
    """``"0"``, ``"12"``: a list position (ASCII digits only: ``int("²")`` raises)."""
    return key.isascii() and key.isdigit()


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 2**53 else None
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2**53:
        return int(value)
    if isinstance(value, str) and _is_index(value) and len(value) < 16:
        return int(value)
    return None


def _add_text(parts: list[str], size: int, value: Any) -> int:
    if size >= SEARCH_TEXT_LIMIT:
        return size
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = " ".join(item for item in value if isinstance(item, str))
    else:
        return size
    if text:
        parts.append(text[: SEARCH_TEXT_LIMIT - size])
        size += len(parts[-1]) + 1
    return size


# What each attribute key is to span_facts: (role, rank); among keys of one role the lowest
# rank wins. Keys repeat from span to span, so each is classified once (a bounded memo).
_IGNORE, _INPUT, _OUTPUT, _MODEL, _PROMPT, _COMPLETION, _TOTAL, _TYPE = range(8)
_EXACT: dict[str, tuple[int, int]] = {
    **dict.fromkeys((*_EVENT_TYPE_KEYS, *_TYPE_TABLE_KEYS), (_TYPE, 0)),
    **{key: (_MODEL, rank) for rank, key in enumerate(_MODEL_KEYS)},
    **{key: (_PROMPT, rank) for rank, key in enumerate(_PROMPT_TOKEN_KEYS)},
    **{key: (_COMPLETION, rank) for rank, key in enumerate(_COMPLETION_TOKEN_KEYS)},
    **{key: (_TOTAL, rank) for rank, key in enumerate(_TOTAL_TOKEN_KEYS)},
}
_ROLES: dict[str, tuple[int, int]] = {}
_ROLES_LIMIT = 65536


def _classify(key: str) -> tuple[int, int]:
    found = _EXACT.get(key)
    if found is not None:
        return found
    if not key or key[0] not in _FIRST_CHARS or key.endswith(_NOT_TEXT):
        return (_IGNORE, 0)
    if key.startswith(_INPUT_PREFIXES) or key in _INPUT_KEYS:
        return (_INPUT, 0)
    if key.startswith(_OUTPUT_PREFIXES) or key in _OUTPUT_KEYS:
        return (_OUTPUT, 0)
    return (_IGNORE, 0)


def span_facts(attributes: Mapping[str, Any]) -> SpanFacts:
    """The event type, model, token counts and searchable text of one span (cheap)."""
    inputs: list[str] = []
    outputs: list[str] = []
    in_size = out_size = 0
    best: list[Any] = [None] * 8
    ranks = [99] * 8
    typed = False
    roles = _ROLES
    for key, value in attributes.items():
        found = roles.get(key)
        if found is None:
            if len(roles) >= _ROLES_LIMIT:
                roles.clear()
            found = roles[key] = _classify(key)
        role, rank = found
        if role == _IGNORE:
            continue
        if role == _INPUT:
            in_size = _add_text(inputs, in_size, value)
        elif role == _OUTPUT:
            out_size = _add_text(outputs, out_size, value)
        elif role == _TYPE:
            typed = True
        elif rank < ranks[role]:
            if role == _MODEL:
                candidate: Any = value[:200] if isinstance(value, str) and value else None
            else:
                candidate = _count(value)
            if candidate is not None:
                best[role], ranks[role] = candidate, rank
    prompt, completion, total = best[_PROMPT], best[_COMPLETION], best[_TOTAL]
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    return SpanFacts(
        event_type_of(attributes) if typed else None,
        best[_MODEL],
        prompt,
        completion,
        total,
        " ".join(inputs),
        " ".join(outputs),
    )


# -- the detailed view, for one span at a time ----------------------------------------------

#: Levels of a flattened key rebuilt as nesting; what is deeper stays one dotted key (the
#: rebuilt value is walked recursively).
_MAX_DEPTH = 32


def _unflatten(attributes: Mapping[str, Any], prefix: str) -> Any:
    """``prefix.a.0.b = 1`` -> ``{"a": [{"b": 1}]}`` (mappings with keys 0..n-1 become lists)."""
    root: dict[str, Any] = {}
    found = False
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        found = True
        node = root
        parts = key[len(prefix) :].split(".", _MAX_DEPTH)
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _lists(root) if found else None


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and all(_is_index(key) for key in items):
        ordered = sorted(items, key=int)
        if [int(key) for key in ordered] == list(range(len(ordered))):
            return [items[key] for key in ordered]
    return items


def _json_or_text(value: Any) -> Any:
    """A JSON string parsed (what instrumentors store structured values as), else the value."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value, parse_constant=_not_json, parse_float=_finite)
        except (ValueError, RecursionError):
            return value
    return value


def _not_json(name: str) -> Any:
    raise ValueError(name)


def _finite(text: str) -> float:
    number = float(text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


def _text_of(content: Any) -> Optional[str]:
    """A message's content as text: a string, or the text of a list of parts."""
    content = _json_or_text(content)
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                text = part.get("text") or part.get("content")
                if isinstance(text, str):
                    texts.append(text)
                elif isinstance(part.get("message_content"), dict):
                    inner = part["message_content"].get("text")
                    if isinstance(inner, str):
                        texts.append(inner)
        return "\n".join(texts) if texts else json.dumps(content, ensure_ascii=False)
    return json.dumps(content, ensure_ascii=False)


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out = []
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, dict) and isinstance(call.get("tool_call"), dict):
            call = call["tool_call"]  # OpenInference nests it
        if not isinstance(call, dict):
            continue
        function = call["function"] if isinstance(call.get("function"), dict) else call
        name = function.get("name")
        arguments = _json_or_text(function.get("arguments"))
        if isinstance(name, str):
            out.append({"name": name, "arguments": arguments})
    return out


def _message(raw: Any, default_role: str) -> Optional[dict[str, Any]]:
    """One chat message in our shape: ``{"role", "content", "tool_calls"?}``."""
    if not isinstance(raw, dict):
        text = _text_of(raw)
        return None if text is None else {"role": default_role, "content": text}
    if isinstance(raw.get("message"), dict):  # OpenInference: llm.input_messages.0.message.role
        raw = raw["message"]
    role = raw.get("role")
    content = raw.get("content")
    if content is None and "contents" in raw:
        content = raw["contents"]
    calls = _tool_calls(raw.get("tool_calls"))
    if "parts" in raw and isinstance(raw["parts"], list):  # OpenTelemetry GenAI
        texts = []
        for part in raw["parts"]:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("content"), str):
                texts.append(part["content"])
            elif kind == "tool_call" and isinstance(part.get("name"), str):
                calls.append({"name": part["name"], "arguments": part.get("arguments")})
            elif kind == "tool_call_response":
                texts.append(_text_of(part.get("response", part.get("result"))) or "")
        content = "\n".join(texts)
    if content is None and not calls:
        return None
    message: dict[str, Any] = {
        "role": role if isinstance(role, str) and role else default_role,
        "content": _text_of(content) if content is not None else "",
    }
    if calls:
        message["tool_calls"] = calls
    finish = raw.get("finish_reason")
    if isinstance(finish, str):
        message["finish_reason"] = finish
    return message


def _messages(raw: Any, default_role: str) -> Optional[list[dict[str, Any]]]:
    raw = _json_or_text(raw)
    if isinstance(raw, dict) and all(_is_index(key) for key in raw):
        raw = [raw[key] for key in sorted(raw, key=int)]
    if not isinstance(raw, list) or not raw:
        return None
    messages = [m for m in (_message(item, default_role) for item in raw) if m is not None]
    return messages or None


def _is_chat(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and "role" in m for m in value)
    )


def _honeyhive_side(value: Any, default_role: str) -> tuple[Optional[list[Any]], Any]:
    """HoneyHive inputs or outputs: (messages, the rest)."""
    if not isinstance(value, dict):
        return None, value
    for key in ("chat_history", "messages"):
        if _is_chat(value.get(key)):
            rest = {k: v for k, v in value.items() if k != key}
            return _messages(value[key], default_role), rest or None
    if isinstance(value.get("role"), str) and "content" in value:  # one message
        return _messages([value], default_role), None
    for candidate in ("choices",):
        choices = value.get(candidate)
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            found = _messages([_inner(c, "message") for c in choices], default_role)
            if found:
                return found, None
    if set(value) == {"result"}:
        return None, value["result"]
    return None, value


def _params(attributes: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    invocation = _json_or_text(attributes.get("llm.invocation_parameters"))
    if isinstance(invocation, dict):
        params.update({k: v for k, v in invocation.items() if k not in ("model", "messages")})
    for key, value in attributes.items():
        if key.startswith("gen_ai.request.") and key != "gen_ai.request.model":
            params[key[len("gen_ai.request.") :]] = value
        elif key.startswith("honeyhive_config.") and key not in (
            "honeyhive_config.model",
            "honeyhive_config.provider",
        ):
            params[key[len("honeyhive_config.") :]] = value
        elif key in ("llm.top_k", "llm.frequency_penalty", "llm.presence_penalty"):
            params[key[4:]] = value
    return params


def _value(attributes: Mapping[str, Any], key: str) -> Any:
    value = attributes.get(key)
    if value is None:
        return None
    mime = attributes.get(key.replace(".value", ".mime_type"))
    if mime == "application/json" or isinstance(value, str):
        return _json_or_text(value)
    return value


def _openinference_input(value: Any) -> Optional[list[dict[str, Any]]]:
    """``input.value`` of an OpenAI-style request body: its messages."""
    if isinstance(value, dict) and _is_chat(value.get("messages")):
        return _messages(value["messages"], "user")
    return None


def _openinference_output(value: Any) -> Optional[list[dict[str, Any]]]:
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return _messages([_inner(c, "message") for c in value["choices"]], "assistant")
    return None


def _inner(item: Any, *path: str) -> Any:
    """``item[path[0]][path[1]]...`` when each step is a mapping that has it, else ``item``."""
    found = item
    for key in path:
        if not isinstance(found, dict) or key not in found:
            return item
        found = found[key]
    return found


def llm_view(
    attributes: Mapping[str, Any], events: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The span as an LLM step: ``input`` and ``output`` (``{"messages": [...]}`` or
    ``{"value": ...}``), ``model``, ``provider``, ``params``, ``usage``, ``time_to_first_chunk_ms``,
    ``conventions`` (which ones it spoke). Keys with nothing to say are left out."""
    facts = span_facts(attributes)
    conventions = []
    input_messages: Optional[list[dict[str, Any]]] = None
    output_messages: Optional[list[dict[str, Any]]] = None
    input_value: Any = None
    output_value: Any = None

    honeyhive_in = _unflatten(attributes, "honeyhive_inputs.")
    honeyhive_out = _unflatten(attributes, "honeyhive_outputs.")
    if (
        honeyhive_in is not None
        or honeyhive_out is not None
        or "honeyhive_event_type" in attributes
    ):
        conventions.append("honeyhive")
    input_messages, input_value = _honeyhive_side(honeyhive_in, "user")
    output_messages, output_value = _honeyhive_side(honeyhive_out, "assistant")

    if any(key.startswith(_OPENINFERENCE_MARKS) for key in attributes):
        conventions.append("openinference")
        input_messages = input_messages or _messages(
            _unflatten(attributes, "llm.input_messages."), "user"
        )
        output_messages = output_messages or _messages(
            _unflatten(attributes, "llm.output_messages."), "assistant"
        )
        # The completions API: llm.prompts.N.prompt.text in, llm.choices.N.completion.text out.
        prompts = _unflatten(attributes, "llm.prompts.")
        if input_messages is None and isinstance(prompts, list):
            input_messages = _messages([_inner(p, "prompt", "text") for p in prompts], "user")
        choices = _unflatten(attributes, "llm.choices.")
        if output_messages is None and isinstance(choices, list):
            output_messages = _messages(
                [_inner(c, "completion", "text") for c in choices], "assistant"
            )
        oi_in, oi_out = _value(attributes, "input.value"), _value(attributes, "output.value")
        input_messages = input_messages or _openinference_input(oi_in)
        output_messages = output_messages or _openinference_output(oi_out)
        if input_value is None and input_messages is None:
            input_value = oi_in
        if output_value is None and output_messages is None:
            output_value = oi_out

    traceloop = any(key.startswith(_TRACELOOP_MARKS) for key in attributes)
    if any(key.startswith(_GEN_AI_MARKS) for key in attributes):
        conventions.append("gen_ai")
    if traceloop or "gen_ai" in conventions or any(k.startswith("gen_ai.") for k in attributes):
        system = attributes.get("gen_ai.system_instructions")
        genai_in = _messages(attributes.get("gen_ai.input.messages"), "user")
        if genai_in and system is not None:
            genai_in = [{"role": "system", "content": _text_of(system) or ""}, *genai_in]
        input_messages = input_messages or genai_in
        output_messages = output_messages or _messages(
            attributes.get("gen_ai.output.messages"), "assistant"
        )
        # Traceloop and the older GenAI convention: gen_ai.prompt.N.*, gen_ai.completion.N.*
        input_messages = input_messages or _messages(
            _unflatten(attributes, "gen_ai.prompt."), "user"
        )
        output_messages = output_messages or _messages(
            _unflatten(attributes, "gen_ai.completion."), "assistant"
        )
        for event in events:  # the GenAI events of older instrumentations
            details = event.get("attributes") or {}
            if event.get("name") == "gen_ai.content.prompt" and input_messages is None:
                input_messages = _messages(details.get("gen_ai.prompt"), "user")
            elif event.get("name") == "gen_ai.content.completion" and output_messages is None:
                output_messages = _messages(details.get("gen_ai.completion"), "assistant")

    if traceloop:
        conventions.append("traceloop")
        if input_value is None and input_messages is None:
            input_value = _json_or_text(attributes.get("traceloop.entity.input"))
        if output_value is None and output_messages is None:
            output_value = _json_or_text(attributes.get("traceloop.entity.output"))

    view: dict[str, Any] = {"conventions": conventions}
    if facts.event_type:
        view["event_type"] = facts.event_type
    if facts.model:
        view["model"] = facts.model
    provider = _first_text(attributes, _PROVIDER_KEYS)
    if provider:
        view["provider"] = provider
    if input_messages:
        view["input"] = {"messages": input_messages}
    elif input_value is not None:
        view["input"] = {"value": input_value}
    if output_messages:
        view["output"] = {"messages": output_messages}
    elif output_value is not None:
        view["output"] = {"value": output_value}
    params = _params(attributes)
    if params:
        view["params"] = params
    usage = {
        name: count
        for name, count in (
            ("prompt_tokens", facts.prompt_tokens),
            ("completion_tokens", facts.completion_tokens),
            ("total_tokens", facts.total_tokens),
        )
        if count is not None
    }
    if usage:
        view["usage"] = usage
    ttft = _ttft_ms(attributes)
    if ttft is not None:
        view["time_to_first_chunk_ms"] = ttft
    return view


def _ttft_ms(attributes: Mapping[str, Any]) -> Optional[float]:
    for keys, scale in ((_TTFT_MS_KEYS, 1.0), (_TTFT_S_KEYS, 1000.0)):
        for key in keys:
            value = attributes.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value) * scale
    return None

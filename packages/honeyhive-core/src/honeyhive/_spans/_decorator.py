"""``@trace``: a span around every call of a function, with its arguments and result captured.

Works on plain and ``async`` functions, generators and async generators. For generators the span
covers the whole iteration and is current only while the generator's own code runs, so nothing
stays attached between items; what they streamed and the time to the first chunk are recorded
when the iteration ends (see ``_stream``). An exception is recorded once, marks the span ERROR
and propagates unchanged; the function always runs exactly once, whatever happens inside the
SDK.

Arguments go under ``honeyhive_inputs.<name>`` and the return value under
``honeyhive_outputs.result``, flattened as the protocol says, secret-looking names redacted and
within the tracer's capture limits (see ``_limits``).
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, overload

from opentelemetry.trace import INVALID_SPAN, Span, SpanKind

from honeyhive._context import current_tracer
from honeyhive._diagnostics import internal_error
from honeyhive._spans._attributes import (
    AttributeValue,
    event_type_for,
    flatten_each,
    flatten_into,
    safe_text,
)
from honeyhive._spans._fastattrs import add_captured
from honeyhive._spans._limits import CaptureRules
from honeyhive._spans._redaction import REDACTED
from honeyhive._spans._scope import SpanScope
from honeyhive._spans._stream import StreamRecorder

if TYPE_CHECKING:
    from honeyhive._tracer import HoneyHiveTracer

__all__ = ["UNNAMED", "TraceScope", "atrace", "trace"]

F = TypeVar("F", bound=Callable[..., Any])
#: Parameters that are plumbing, not inputs: never captured (as published, ``tracer`` too).
_SKIPPED = frozenset({"self", "cls", "tracer"})


class _Params:
    """What the decorator needs to name a call's arguments, computed once per function."""

    __slots__ = ("names", "varargs")

    def __init__(self, func: Callable[..., Any]) -> None:
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):
            self.names: tuple[str, ...] = ()
            self.varargs: Optional[str] = "args"
            return
        names: list[str] = []
        self.varargs = None
        for param in signature.parameters.values():
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                names.append(param.name)
            elif param.kind is param.VAR_POSITIONAL:
                self.varargs = param.name
        self.names = tuple(names)


def _put(
    out: dict[str, AttributeValue], name: str, value: Any, rules: CaptureRules, cap: int
) -> int:
    if name in _SKIPPED:
        return 0
    key = f"honeyhive_inputs.{name}"
    if not rules.is_secret(name):
        return flatten_into(out, key, value, rules, cap)
    if len(out) >= cap:
        return 1
    out[key] = REDACTED
    return 0


def _call_attributes(
    tracer: HoneyHiveTracer,
    params: _Params,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    static: dict[str, AttributeValue],
) -> tuple[dict[str, AttributeValue], int]:
    """The span's starting attributes and how many values were cut. The arguments get at most
    half of the span's capture room, so that the result always has room too."""
    out = dict(static)
    rules = tracer._rules
    cap = len(static) + rules.max_attributes // 2
    cut = 0
    try:
        names = params.names
        for index, value in enumerate(args):
            if index < len(names):
                cut += _put(out, names[index], value, rules, cap)
            elif params.varargs is not None:
                cut += _put(out, f"{params.varargs}.{index - len(names)}", value, rules, cap)
        for name, value in kwargs.items():
            cut += _put(out, name, value, rules, cap)
    except Exception as exc:  # fail closed: no inputs rather than unredacted ones
        internal_error("capturing arguments", exc)
        return dict(static), 0
    return out, cut


def _capture_result(tracer: HoneyHiveTracer, span: Span, result: Any) -> None:
    if result is None or span is INVALID_SPAN:
        return
    try:
        out: dict[str, AttributeValue] = {}
        rules = tracer._rules
        cut = flatten_into(out, "honeyhive_outputs.result", result, rules)
        add_captured(span, out, cut, rules.max_attributes)
    except Exception as exc:
        internal_error("capturing a return value", exc)


class _Traced:
    """The wrapping logic shared by the four function kinds."""

    __slots__ = ("explicit", "fields", "name", "params", "session", "static")

    def __init__(
        self,
        func: Callable[..., Any],
        tracer: Optional[HoneyHiveTracer],
        event_type: Optional[str],
        event_name: Optional[str],
        fields: Optional[Mapping[str, Any]] = None,
        static: Optional[Mapping[str, AttributeValue]] = None,
    ) -> None:
        self.explicit = tracer
        self.name = event_name or getattr(func, "__qualname__", None) or repr(func)
        self.params = _Params(func)
        attributes: dict[str, AttributeValue] = dict(static or {})
        if event_type is not None:
            attributes["honeyhive.event_type"] = event_type
            attributes["honeyhive_event_type"] = event_type_for(event_type)
        if event_name is not None:
            attributes["honeyhive_event_name"] = event_name
        self.static = attributes
        fields = dict(fields or {})
        self.session: Optional[str] = fields.pop("session_id", None)
        #: The published decorator's fields (metadata=, inputs=, ...), flattened at each call
        #: within the calling tracer's capture rules.
        self.fields = fields

    def scope(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Optional[SpanScope]:
        """A span for this call, or None to run untraced (no tracer, or the SDK failed)."""
        try:
            tracer = self.explicit if self.explicit is not None else current_tracer()
            if tracer is None or tracer.closed:
                return None
            static = self.static
            cut = 0
            if self.fields:
                static = dict(static)
                cut = _field_attributes(static, self.fields, tracer._rules)
            attributes, more = _call_attributes(tracer, self.params, args, kwargs, static)
            return SpanScope(
                tracer, self.name, attributes, SpanKind.INTERNAL, cut + more, self.session
            )
        except Exception as exc:
            internal_error("@trace", exc)
            return None


#: The published decorator's fields: the namespaces they fill, and the plain attributes.
_NAMESPACE_FIELDS = {
    "inputs": "honeyhive_inputs",
    "outputs": "honeyhive_outputs",
    "metadata": "honeyhive_metadata",
    "metrics": "honeyhive_metrics",
    "feedback": "honeyhive_feedback",
    "config": "honeyhive_config",
    "user_properties": "honeyhive_user_properties",
}
_TEXT_FIELDS = {
    "error": "honeyhive_error",
    "event_id": "honeyhive_event_id",
    "source": "honeyhive_source",
    "project": "honeyhive_project",
    "user_id": "honeyhive_user_id",
    "session_name": "honeyhive_session_name",
}


def _field_attributes(
    out: dict[str, AttributeValue], fields: Mapping[str, Any], rules: CaptureRules
) -> int:
    cut = 0
    for name, value in fields.items():
        if name in _NAMESPACE_FIELDS:
            cut += flatten_each(out, value, rules, _NAMESPACE_FIELDS[name])
        else:
            out[_TEXT_FIELDS[name]] = safe_text(value, rules.max_length)
    return cut


def _check_settings(
    tracer: object, event_type: object, event_name: object, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """The decorator's settings, checked where it is applied: bad configuration is a
    ValueError there, not a span silently missing at every call. Returns the fields given."""
    from honeyhive._tracer import HoneyHiveTracer  # imports this module: no cycle at call time

    if tracer is not None and not isinstance(tracer, HoneyHiveTracer):
        raise ValueError(f"trace(tracer=...) must be a HoneyHiveTracer, got {_kind(tracer)}")
    for name, value in (("event_type", event_type), ("event_name", event_name)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"trace({name}=...) must be a string, got {_kind(value)}")
    given = {k: v for k, v in fields.items() if v is not None}
    span_config = given.pop("span_config", None)  # the published spelling of config=
    if span_config is not None:
        given.setdefault("config", span_config)
    for name, value in given.items():
        if name in _NAMESPACE_FIELDS and not isinstance(value, Mapping):
            raise ValueError(f"trace({name}=...) must be a mapping, got {_kind(value)}")
        if name in _TEXT_FIELDS and not isinstance(value, str):
            raise ValueError(f"trace({name}=...) must be a string, got {_kind(value)}")
    if "session_id" in given:
        try:
            given["session_id"] = str(uuid.UUID(str(given["session_id"])))
        except ValueError:
            raise ValueError(
                f"trace(session_id=...) must be a UUID, got {given['session_id']!r}"
            ) from None
    return given


def _kind(value: object) -> str:
    return type(value).__name__


def _wrap(
    func: F,
    tracer: Optional[HoneyHiveTracer],
    event_type: Optional[str],
    event_name: Optional[str],
    fields: Optional[Mapping[str, Any]] = None,
    static: Optional[Mapping[str, AttributeValue]] = None,
) -> F:
    if isinstance(func, (classmethod, staticmethod)):
        # @trace above @classmethod / @staticmethod: trace the function, keep the descriptor
        # (a plain wrapper would be bound as a method, an instance or class slipped in)
        inner = _wrap(func.__func__, tracer, event_type, event_name, fields, static)
        return type(func)(inner)
    if not callable(func):
        raise ValueError(f"trace() takes a callable to trace, got {_kind(func)}")
    traced = _Traced(func, tracer, event_type, event_name, fields, static)

    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            scope = traced.scope(args, kwargs)
            if scope is None:
                async for item in func(*args, **kwargs):
                    yield item
                return
            gen = func(*args, **kwargs)
            error: Optional[BaseException] = None
            send: Callable[[Any], Any] = gen.asend
            value: Any = None
            stream = StreamRecorder(scope._tracer._rules)
            try:
                while True:
                    scope.resume()
                    try:
                        item = await send(value)
                    finally:
                        scope.pause()
                    stream.add(item)
                    try:
                        value = yield item
                        send = gen.asend
                    except GeneratorExit:
                        scope.resume()
                        try:
                            await gen.aclose()
                        finally:
                            scope.pause()
                        raise
                    except BaseException as exc:
                        send, value = gen.athrow, exc
            except StopAsyncIteration:
                pass
            except BaseException as exc:
                error = exc
                raise
            finally:
                stream.finish(scope.span)
                scope.close(error)

        return async_gen_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            scope = traced.scope(args, kwargs)
            if scope is None:
                return (yield from func(*args, **kwargs))
            gen = func(*args, **kwargs)
            error: Optional[BaseException] = None
            send: Callable[[Any], Any] = gen.send
            value: Any = None
            stream = StreamRecorder(scope._tracer._rules)
            try:
                while True:
                    scope.resume()
                    try:
                        item = send(value)
                    finally:
                        scope.pause()
                    stream.add(item)
                    try:
                        value = yield item
                        send = gen.send
                    except GeneratorExit:
                        scope.resume()
                        try:
                            gen.close()
                        finally:
                            scope.pause()
                        raise
                    except BaseException as exc:
                        send, value = gen.throw, exc
            except StopIteration as stop:
                return stop.value
            except BaseException as exc:
                error = exc
                raise
            finally:
                stream.finish(scope.span)
                scope.close(error)

        return gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            scope = traced.scope(args, kwargs)
            if scope is None:
                return await func(*args, **kwargs)
            span = scope.open()
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                scope.close(exc)
                raise
            _capture_result(scope._tracer, span, result)
            scope.close()
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scope = traced.scope(args, kwargs)
        if scope is None:
            return func(*args, **kwargs)
        span = scope.open()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            scope.close(exc)
            raise
        _capture_result(scope._tracer, span, result)
        scope.close()
        return result

    return wrapper  # type: ignore[return-value]


@overload
def trace(func: F) -> F: ...


@overload
def trace(
    func: Optional[str] = None,
    event_name: Optional[str] = None,
    *,
    tracer: Optional[HoneyHiveTracer] = None,
    event_type: Optional[str] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    outputs: Optional[Mapping[str, Any]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    metrics: Optional[Mapping[str, Any]] = None,
    feedback: Optional[Mapping[str, Any]] = None,
    config: Optional[Mapping[str, Any]] = None,
    span_config: Optional[Mapping[str, Any]] = None,
    user_properties: Optional[Mapping[str, Any]] = None,
    error: Optional[str] = None,
    event_id: Optional[str] = None,
    source: Optional[str] = None,
    project: Optional[str] = None,
    session_id: Optional[str] = None,
    user_id: Optional[str] = None,
    session_name: Optional[str] = None,
) -> Callable[[F], F]: ...


def trace(
    func: Union[F, str, None] = None,
    event_name: Optional[str] = None,
    *,
    tracer: Optional[HoneyHiveTracer] = None,
    event_type: Optional[str] = None,
    **fields: Any,
) -> Union[F, Callable[[F], F]]:
    """Trace every call of the decorated function.

    ``@trace`` and ``@trace(tracer=..., event_type=..., event_name=...)`` both work, on sync and
    async functions, generators and async generators. Without ``tracer=`` the span goes to the
    tracer whose span is current, else to the default tracer (see
    :func:`honeyhive.set_default_tracer`); with no tracer at all the function runs untraced.
    ``event_type`` is one of ``model``, ``tool``, ``chain``; ``event_name`` names the span
    (default: the function's qualified name). It may sit above ``@classmethod`` and
    ``@staticmethod``. Settings of the wrong kind are a ``ValueError`` where it is applied.

    As in the published SDK, ``@trace("tool", "name")`` gives both positionally, and these
    keywords land on every call's span: ``inputs``, ``outputs``, ``metadata``, ``metrics``,
    ``feedback``, ``config`` (or ``span_config``), ``user_properties`` in their
    ``honeyhive_*`` namespaces (``outputs`` beside the result, never instead of it);
    ``error``, ``event_id``, ``source``, ``project``, ``user_id``, ``session_name`` as
    ``honeyhive_<name>``; ``session_id`` puts the call, and what runs inside it, in that
    session.
    """
    if isinstance(func, str):  # @trace("tool"): the published positional event type
        if event_type is not None:
            raise ValueError("trace() got the event type twice (positionally and event_type=)")
        func, event_type = None, func
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise TypeError(f"trace() got unexpected keyword argument(s): {', '.join(unknown)}")
    given = _check_settings(tracer, event_type, event_name, fields)
    if func is not None:
        return _wrap(func, tracer, event_type, event_name, given)

    def decorator(inner: F) -> F:
        return _wrap(inner, tracer, event_type, event_name, given)

    return decorator


_FIELDS = frozenset(_NAMESPACE_FIELDS) | frozenset(_TEXT_FIELDS) | {"span_config", "session_id"}


class _Unnamed:
    """``tracer.trace()`` was given no name (``None`` is a name: the span is called "None")."""

    def __repr__(self) -> str:
        return "<unnamed>"


UNNAMED: Any = _Unnamed()


class TraceScope(SpanScope):
    """What ``tracer.trace(...)`` returns: a span current inside ``with``, or a decorator
    (``@tracer.trace(event_type="tool")``, the published README's form) that traces every call
    of a function, named after the function unless a name was given."""

    __slots__ = ("_decorator_name", "_event_type")

    def __init__(
        self,
        tracer: HoneyHiveTracer,
        name: Any,
        event_type: Optional[str],
        attributes: Optional[Mapping[str, Any]] = None,
        truncated: int = 0,
    ) -> None:
        if name is UNNAMED:
            name, self._decorator_name = event_type or "span", None
        else:
            self._decorator_name = safe_text(name, tracer._rules.max_length)
        super().__init__(tracer, name, attributes, truncated=truncated)
        self._event_type = event_type

    def __call__(self, func: F) -> F:
        static = {
            k: v
            for k, v in (self._attributes or {}).items()
            if k not in ("honeyhive.event_type", "honeyhive_event_type")
        }
        return _wrap(func, self._tracer, self._event_type, self._decorator_name, None, static)


#: Kept for code written against older SDKs: ``@trace`` handles ``async`` functions itself.
atrace = trace

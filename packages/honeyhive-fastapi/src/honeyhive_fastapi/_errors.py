"""The user's ``@app.exception_handler(Exception)`` runs with the request span current.

Added with ``add_middleware``, our middleware sits inside Starlette's ServerErrorMiddleware,
which runs that handler after the exception has left us. We wrap the handler of the app's
ServerErrorMiddleware once: when an exception escaped our middleware, the request's context
stays current until the handler returned, and the request span ends then.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.middleware.errors import ServerErrorMiddleware

from honeyhive.http_server import logger

__all__ = ["PENDING_KEY", "is_closing_stack", "wrap_error_handler"]

PENDING_KEY = "honeyhive.pending_request"
_MARK = "_honeyhive_wrapped"


def _wrap(handler: Any) -> Any:
    is_async = _is_async(handler)

    async def honeyhive_error_handler(request: Any, exc: Exception) -> Any:
        pending = request.scope.pop(PENDING_KEY, None)
        try:
            if is_async:
                return await handler(request, exc)
            return await run_in_threadpool(handler, request, exc)
        finally:
            if pending is not None:
                pending.close_after_handler()

    setattr(honeyhive_error_handler, _MARK, True)
    return honeyhive_error_handler


class _ClosingStack:
    """The app's middleware stack, closing a request left open for the exception handler.

    Whatever happens inside ServerErrorMiddleware (the handler runs, or a middleware between it
    and ours answers the exception itself), such a request is closed when the stack returns, in
    the same task. Attribute reads go to the wrapped ServerErrorMiddleware.
    """

    def __init__(self, stack: ServerErrorMiddleware) -> None:
        self.stack = stack

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stack, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.stack(scope, receive, send)
        finally:
            pending = scope.pop(PENDING_KEY, None) if isinstance(scope, dict) else None
            if pending is not None:
                pending.close_after_handler()


def is_closing_stack(stack: Any) -> bool:
    """Whether ``stack`` closes requests left open for the exception handler."""
    return isinstance(stack, _ClosingStack)


def _is_async(handler: Any) -> bool:
    from starlette._utils import is_async_callable

    return bool(is_async_callable(handler))


def wrap_error_handler(app: Any, middleware: Any) -> bool:
    """Wrap the handler of ``app``'s ServerErrorMiddleware if ``middleware`` is inside it.

    True when, from now on, an exception escaping ``middleware`` is followed by the wrapped
    handler (so the request can stay open until it returns).
    """
    try:
        stack = getattr(app, "middleware_stack", None)
        closing = stack if isinstance(stack, _ClosingStack) else None
        if closing is not None:
            stack = closing.stack
        if not isinstance(stack, ServerErrorMiddleware) or stack.debug or stack.handler is None:
            return False
        inner: Any = stack.app
        for _ in range(64):  # our middleware must be in this stack
            if inner is middleware:
                break
            inner = getattr(inner, "app", None)
            if inner is None:
                return False
        else:
            return False
        if not getattr(stack.handler, _MARK, False):
            stack.handler = _wrap(stack.handler)
        if closing is None:
            app.middleware_stack = _ClosingStack(stack)
        return True
    except Exception as exc:
        logger.warning("could not wrap the app's exception handler: %r", exc)
        return False

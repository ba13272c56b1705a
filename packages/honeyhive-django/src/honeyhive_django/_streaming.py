"""Streamed responses: the request span stays open until Django calls ``response.close()``.

While the body is produced the request's context is current, so spans made inside the
streaming iterator are children of the request span. A body that stops before its end (the
client went away) marks the span ``incomplete``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from opentelemetry import context as context_api

from honeyhive.http_server import RequestScope, internal_error

__all__ = ["follow_stream"]


class _Progress:
    __slots__ = ("done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False


def _sync_body(scope: RequestScope, content: Iterator[Any], progress: _Progress) -> Iterator[Any]:
    progress.started = True
    iterator = iter(content)
    while True:
        token = context_api.attach(scope.context)
        try:
            chunk = next(iterator)
        except StopIteration:
            progress.done = True
            return
        except Exception as exc:
            scope.record_exception(exc)
            raise
        finally:
            context_api.detach(token)
        yield chunk


async def _async_body(
    scope: RequestScope, content: AsyncIterator[Any], progress: _Progress
) -> AsyncIterator[Any]:
    progress.started = True
    iterator = content.__aiter__()
    while True:
        token = context_api.attach(scope.context)
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            progress.done = True
            return
        except Exception as exc:
            scope.record_exception(exc)
            raise
        finally:
            context_api.detach(token)
        yield chunk


def follow_stream(scope: RequestScope, response: Any) -> bool:
    """Wrap a streaming response's body and end the span at ``close()``; False if unable."""
    try:
        progress = _Progress()
        content = response.streaming_content
        if getattr(response, "is_async", False):
            response.streaming_content = _async_body(scope, content, progress)
        else:
            response.streaming_content = _sync_body(scope, content, progress)
        head = scope.method == "HEAD"

        def finish() -> None:
            scope.finish(response, incomplete=not progress.done and not head)

        response._resource_closers.append(finish)
    except Exception as exc:
        internal_error("following a Django streaming response", exc)
        return False
    return True

"""The docs service's views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from honeyhive import trace

DOCUMENTS = [
    "Refunds are issued within 14 days of a return.",
    "Trace a FastAPI app with honeyhive-fastapi, or tracer.link() on incoming headers.",
    "Set HH_API_URL=http://127.0.0.1:8318 to send traces to a local collector.",
    "Streaming responses keep their span open until the last chunk.",
]


@trace(event_type="tool")
def rank(query: str, limit: int = 2) -> list[str]:
    words = set(query.lower().split())
    scored = sorted(DOCUMENTS, key=lambda doc: -len(words & set(doc.lower().split())))
    return scored[:limit]


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def search(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"documents": rank(request.GET.get("q", ""))})

"""Test middleware: a lazy user like django.contrib.auth's, and a per-request urlconf."""

from __future__ import annotations

from typing import Any, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.utils.functional import SimpleLazyObject


class User:
    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk
        self.username = f"user{pk}"


def _user(request: Any) -> Any:
    if not hasattr(request, "_cached_user"):
        pk = request.META.get("HTTP_X_USER")
        request._cached_user = User(int(pk)) if pk else None
    return request._cached_user


async def _auser(request: Any) -> Any:
    if not hasattr(request, "_acached_user"):
        pk = request.META.get("HTTP_X_USER")
        request._acached_user = User(int(pk)) if pk else None
    return request._acached_user


class _Both:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def prepare(self, request: Any) -> None:
        raise NotImplementedError

    def __call__(self, request: Any) -> Any:
        self.prepare(request)
        return self.get_response(request)

    async def __acall__(self, request: Any) -> Any:
        self.prepare(request)
        return await self.get_response(request)


class fake_auth(_Both):
    """Same laziness as AuthenticationMiddleware: the user is loaded only when asked for."""

    def prepare(self, request: Any) -> None:
        request.user = SimpleLazyObject(lambda: _user(request))
        request.auser = lambda: _auser(request)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        return super().__call__(request)


class alternate_urlconf(fake_auth):
    def prepare(self, request: Any) -> None:
        if request.META.get("HTTP_X_URLCONF"):
            request.urlconf = "apps.django_project.urls_alt"

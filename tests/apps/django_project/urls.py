from __future__ import annotations

from django.urls import include, path, re_path
from rest_framework import routers

from apps.django_project import views

router = routers.DefaultRouter()
router.register("things", views.ThingViewSet, basename="thing")

nested = [
    path("users/<int:pk>/", views.user),
    re_path(r"^legacy/(?P<slug>[-\w]+)/$", views.article),
    path("deeper/", include([path("items/<str:name>", views.article)])),
]

urlpatterns = [
    path("", views.home),
    path("items/<int:item_id>", views.item),
    path("aitems/<int:item_id>", views.aitem),
    re_path(r"^articles/(?P<year>[0-9]{4})/$", views.article),
    path("api/v1/", include(nested)),
    re_path(r"^drf/", include(router.urls)),
    path("who", views.who),
    path("awho", views.awho),
    path("lazy", views.lazy),
    path("boom", views.boom),
    path("aboom", views.aboom),
    path("missing", views.missing),
    path("unavailable", views.server_error),
    path("submit", views.submit),
    path("echo", views.echo),
    path("stream", views.stream),
    path("stream-error", views.stream_error),
    path("astream", views.astream),
    path("health", views.home),
    path("healthz", views.home),
    path("work/<int:n>", views.work),
    path("healthcare", views.home),
]

"""The docs service's routes."""

from __future__ import annotations

from django.urls import path

from django_app import views

urlpatterns = [
    path("healthz", views.healthz),
    path("search", views.search),
]

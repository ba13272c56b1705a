from __future__ import annotations

from django.urls import path

from apps.django_project import views

urlpatterns = [path("alt/<int:item_id>/", views.item)]

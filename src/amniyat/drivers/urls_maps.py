"""Routes of the drivers area: maps."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

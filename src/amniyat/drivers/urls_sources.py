"""Routes of the drivers area: sources."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

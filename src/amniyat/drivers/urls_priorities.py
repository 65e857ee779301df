"""Routes of the drivers area: priorities."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

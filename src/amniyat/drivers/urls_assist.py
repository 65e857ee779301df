"""Routes of the drivers area: assist."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

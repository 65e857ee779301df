"""Routes of the drivers area: codebook."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

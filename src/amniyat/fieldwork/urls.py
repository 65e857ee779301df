"""Fieldwork routes, gathered from each part."""

from django.urls import include, path

app_name = "fieldwork"
urlpatterns = [
    path("", include("amniyat.fieldwork.urls_forms")),
    path("", include("amniyat.fieldwork.urls_imports")),
    path("", include("amniyat.fieldwork.urls_collection")),
]

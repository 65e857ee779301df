"""Fieldwork routes, gathered from each part: forms, imports, submissions, collection."""

from django.urls import include, path

app_name = "fieldwork"
urlpatterns = [
    path("", include("amniyat.fieldwork.forms.urls")),
    path("", include("amniyat.fieldwork.imports.urls")),
    path("", include("amniyat.fieldwork.submissions.urls")),
    path("", include("amniyat.fieldwork.collection.urls")),
]

"""Routes of the submissions pages: the table of a form's submissions and its exports."""

from django.urls import URLPattern, URLResolver, path

from amniyat.fieldwork.submissions import views

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "p/<slug:slug>/forms/<int:pk>/submissions/",
        views.submission_list,
        name="submission_list",
    ),
    path(
        "p/<slug:slug>/forms/<int:pk>/submissions/export/",
        views.submission_export,
        name="submission_export",
    ),
]

"""Routes of the submissions pages: the table of a form's submissions, and the page that asks
for an export of them (followed and downloaded on the downloads pages)."""

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

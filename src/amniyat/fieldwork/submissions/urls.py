"""Routes of the submissions pages: the table of a form's submissions, and its exports (ask
for one, follow it, download it)."""

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
    path("p/<slug:slug>/exports/<int:pk>/", views.export_detail, name="export_detail"),
    path(
        "p/<slug:slug>/exports/<int:pk>/progress/",
        views.export_progress,
        name="export_progress",
    ),
    path(
        "p/<slug:slug>/exports/<int:pk>/download/",
        views.export_download,
        name="export_download",
    ),
]

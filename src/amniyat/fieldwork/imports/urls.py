"""Routes of the fieldwork 'imports' pages: importing files of submissions, following an
import, the table of submissions and its exports."""

from django.urls import URLPattern, URLResolver, path

from amniyat.fieldwork.views import imports as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("p/<slug:slug>/forms/<int:pk>/import/", views.import_create, name="import_create"),
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
    path("p/<slug:slug>/imports/<int:pk>/", views.import_detail, name="import_detail"),
    path(
        "p/<slug:slug>/imports/<int:pk>/progress/",
        views.import_progress,
        name="import_progress",
    ),
    path(
        "p/<slug:slug>/imports/<int:pk>/problems.csv",
        views.import_problems,
        name="import_problems",
    ),
]

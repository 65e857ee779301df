"""Routes of the import pages: importing a file of submissions, following the import, its
report of refused rows."""

from django.urls import URLPattern, URLResolver, path

from amniyat.fieldwork.imports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("p/<slug:slug>/forms/<int:pk>/import/", views.import_create, name="import_create"),
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

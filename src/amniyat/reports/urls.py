"""Routes of the reports."""

from django.urls import URLPattern, path

from amniyat.reports import views

app_name = "reports"

SECTION = "p/<slug:slug>/reports/<int:pk>/sections/<int:section_pk>/"
FILE = "p/<slug:slug>/reports/<int:pk>/files/<int:rendering_pk>/"

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/reports/", views.report_list, name="list"),
    path("p/<slug:slug>/reports/new/", views.report_create, name="create"),
    path("p/<slug:slug>/reports/template/", views.template_page, name="template"),
    path("p/<slug:slug>/reports/<int:pk>/", views.report_detail, name="detail"),
    path("p/<slug:slug>/reports/<int:pk>/edit/", views.report_edit, name="edit"),
    path("p/<slug:slug>/reports/<int:pk>/status/", views.report_status, name="status"),
    path("p/<slug:slug>/reports/<int:pk>/sections/add/", views.section_add, name="section_add"),
    path("p/<slug:slug>/reports/<int:pk>/files/", views.rendering_create, name="rendering_create"),
    path(f"{FILE}", views.rendering_progress, name="rendering_progress"),
    path(f"{FILE}download/", views.rendering_file, name="rendering_file"),
    path(f"{SECTION}edit/", views.section_edit, name="section_edit"),
    path(f"{SECTION}move/", views.section_move, name="section_move"),
    path(f"{SECTION}build/", views.section_build, name="section_build"),
    path(f"{SECTION}keep/", views.section_keep, name="section_keep"),
    path(f"{SECTION}remove/", views.section_remove, name="section_remove"),
]

"""Routes of the drivers area: sources, coding, the review of quotes proposed for
publication, excerpts by code and agreement."""

from django.urls import URLPattern, path

from amniyat.drivers.coding import views

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/drivers/sources/", views.source_list, name="source_list"),
    path("p/<slug:slug>/drivers/sources/new/", views.source_create, name="source_create"),
    path("p/<slug:slug>/drivers/sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("p/<slug:slug>/drivers/sources/<int:pk>/edit/", views.source_edit, name="source_edit"),
    path(
        "p/<slug:slug>/drivers/sources/<int:pk>/delete/",
        views.source_delete,
        name="source_delete",
    ),
    path(
        "p/<slug:slug>/drivers/sources/<int:pk>/excerpts/",
        views.excerpt_create,
        name="excerpt_create",
    ),
    path(
        "p/<slug:slug>/drivers/excerpts/<int:pk>/delete/",
        views.excerpt_delete,
        name="excerpt_delete",
    ),
    path(
        "p/<slug:slug>/drivers/excerpts/<int:pk>/publish/",
        views.excerpt_publish,
        name="excerpt_publish",
    ),
    path(
        "p/<slug:slug>/drivers/excerpts/<int:pk>/review/",
        views.excerpt_review,
        name="excerpt_review",
    ),
    path(
        "p/<slug:slug>/drivers/sources/<int:pk>/redactions/",
        views.redaction_add,
        name="redaction_add",
    ),
    path(
        "p/<slug:slug>/drivers/redactions/<int:pk>/",
        views.redaction_decide,
        name="redaction_decide",
    ),
    path(
        "p/<slug:slug>/drivers/codes/<int:pk>/excerpts/",
        views.code_excerpts,
        name="code_excerpts",
    ),
    path("p/<slug:slug>/drivers/agreement/", views.agreement, name="agreement"),
    path(
        "p/<slug:slug>/drivers/agreement/codes/<int:pk>/",
        views.agreement_code,
        name="agreement_code",
    ),
]

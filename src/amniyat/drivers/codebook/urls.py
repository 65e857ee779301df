"""Routes of the drivers area: codebook."""

from django.urls import URLPattern, path

from amniyat.drivers.codebook import views

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/drivers/codebook/", views.codebook, name="codebook"),
    path("p/<slug:slug>/drivers/codebook/new/", views.code_create, name="code_create"),
    path("p/<slug:slug>/drivers/codebook/<int:pk>/", views.code_edit, name="code_edit"),
    path("p/<slug:slug>/drivers/codebook/<int:pk>/delete/", views.code_delete, name="code_delete"),
    path("p/<slug:slug>/drivers/codebook/<int:pk>/merge/", views.code_merge, name="code_merge"),
    path("p/<slug:slug>/drivers/codebook/seed/", views.codebook_seed, name="codebook_seed"),
    path("p/<slug:slug>/drivers/codebook/export/", views.qdpx_export, name="qdpx_export"),
    path("p/<slug:slug>/drivers/codebook/import/", views.qdpx_import, name="qdpx_import"),
]

"""Routes of the drivers area: driver maps."""

from django.urls import URLPattern, path

from amniyat.drivers.maps import views

_MAP = "p/<slug:slug>/drivers/maps/<int:pk>/"
urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/drivers/maps/", views.map_list, name="map_list"),
    path("p/<slug:slug>/drivers/maps/new/", views.map_create, name="map_create"),
    path("p/<slug:slug>/drivers/maps/import/", views.map_import, name="map_import"),
    path("p/<slug:slug>/drivers/maps/compare/", views.map_compare, name="map_compare"),
    path(_MAP, views.map_detail, name="map_detail"),
    path(f"{_MAP}editor/", views.map_editor, name="map_editor"),
    path(f"{_MAP}edit/", views.map_edit, name="map_edit"),
    path(f"{_MAP}delete/", views.map_delete, name="map_delete"),
    path(f"{_MAP}publish/", views.map_publish, name="map_publish"),
    path(f"{_MAP}graph/", views.map_graph, name="map_graph"),
    path(f"{_MAP}analysis/", views.map_analysis, name="map_analysis"),
    path(f"{_MAP}suggest/", views.map_suggest, name="map_suggest"),
    path(f"{_MAP}export/", views.map_export, name="map_export"),
]

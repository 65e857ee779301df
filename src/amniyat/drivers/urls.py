"""Routes of the drivers area, one module per part: evidence and coding, the codebook,
assisted coding, driver maps and priorities."""

from django.urls import path

from amniyat.drivers import (
    urls_assist,
    urls_codebook,
    urls_maps,
    urls_priorities,
    urls_sources,
    views,
)

app_name = "drivers"
urlpatterns = [
    path("p/<slug:slug>/drivers/", views.drivers_index, name="index"),
    *urls_sources.urlpatterns,
    *urls_codebook.urlpatterns,
    *urls_assist.urlpatterns,
    *urls_maps.urlpatterns,
    *urls_priorities.urlpatterns,
]

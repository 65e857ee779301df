"""Routes of the drivers area: its index page, then each feature's routes (evidence and
coding, the codebook, assisted coding, driver maps and priorities)."""

from django.urls import path

from amniyat.drivers import views
from amniyat.drivers.assist import urls as assist
from amniyat.drivers.codebook import urls as codebook
from amniyat.drivers.coding import urls as coding
from amniyat.drivers.maps import urls as maps
from amniyat.drivers.priorities import urls as priorities

app_name = "drivers"
urlpatterns = [
    path("p/<slug:slug>/drivers/", views.drivers_index, name="index"),
    *coding.urlpatterns,
    *codebook.urlpatterns,
    *assist.urlpatterns,
    *maps.urlpatterns,
    *priorities.urlpatterns,
]

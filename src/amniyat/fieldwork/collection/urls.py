"""Routes of fieldwork 'collection': the OpenRosa server ODK Collect and Enketo talk to
(``collect/<programme>/…``, signed by a device) and the pages that manage the devices."""

from django.urls import URLPattern, URLResolver, path

from amniyat.fieldwork.collection import views
from amniyat.fieldwork.collection.openrosa import views as openrosa

urlpatterns: list[URLPattern | URLResolver] = [
    path("collect/<slug:slug>/formList", openrosa.form_list, name="openrosa_form_list"),
    path(
        "collect/<slug:slug>/forms/<int:pk>/form.xml", openrosa.form_download, name="openrosa_form"
    ),
    path(
        "collect/<slug:slug>/forms/<int:pk>/manifest",
        openrosa.form_manifest,
        name="openrosa_manifest",
    ),
    path("collect/<slug:slug>/submission", openrosa.submission, name="openrosa_submission"),
    path("p/<slug:slug>/devices/", views.device_list, name="device_list"),
    path("p/<slug:slug>/devices/new/", views.device_create, name="device_create"),
    path("p/<slug:slug>/devices/<int:pk>/revoke/", views.device_revoke, name="device_revoke"),
]

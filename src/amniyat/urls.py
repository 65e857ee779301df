"""Every route of the product. The access-matrix test walks all of them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("amniyat.core.urls")),
    path("", include("amniyat.accounts.urls")),
    path("", include("amniyat.places.urls")),
    path("", include("amniyat.communities.urls")),
    path("", include("amniyat.fieldwork.urls")),
    path("", include("amniyat.findings.urls")),
    path("", include("amniyat.drivers.urls")),
    path("api/", include("amniyat.api.urls")),
]

handler400 = "amniyat.core.errors.bad_request"
handler403 = "amniyat.core.errors.permission_denied"
handler404 = "amniyat.core.errors.page_not_found"
handler500 = "amniyat.core.errors.server_error"

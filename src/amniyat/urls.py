"""Every route of the product. The access-matrix test walks all of them."""

from django.contrib import admin
from django.urls import include, path

from amniyat.accounts import views as accounts
from amniyat.api import views as api
from amniyat.audit import views as audit
from amniyat.core import views as core

# The front door. Its pages are built by the apps that own their data (the programme's page
# gathers places, groups and members), and their routes sit here, above every app, so that
# the ground (core) names no app.
front_door = [
    path("", accounts.home, name="home"),
    path("healthz", core.healthz, name="healthz"),
    path("i18n/setlang/", accounts.switch_language, name="set_language"),
    path("p/<slug:slug>/", accounts.programme_home, name="programme"),
    path("p/<slug:slug>/audit/", audit.audit_log, name="audit"),
    # The API's reference is a page for people (signed in, or sent to sign in), outside
    # /api/, where every address answers a machine (401 without credentials).
    path("api-reference/", api.reference, name="api_reference"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include((front_door, "core"))),
    path("", include("amniyat.accounts.urls")),
    path("", include("amniyat.places.urls")),
    path("", include("amniyat.communities.urls")),
    path("", include("amniyat.fieldwork.urls")),
    path("", include("amniyat.findings.urls")),
    path("", include("amniyat.drivers.urls")),
    path("", include("amniyat.reports.urls")),
    path("", include("amniyat.plans.urls")),
    path("", include("amniyat.downloads.urls")),
    path("api/", include("amniyat.api.urls")),
]

handler400 = "amniyat.core.errors.bad_request"
handler403 = "amniyat.core.errors.permission_denied"
handler404 = "amniyat.core.errors.page_not_found"
handler500 = "amniyat.core.errors.server_error"

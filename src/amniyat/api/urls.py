"""The REST API, version 1, with its OpenAPI schema. Its reference page, drawn on the server
from the schema (api/views.reference), is a page of the site: core:api_reference."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from amniyat.accounts.api import OrganisationViewSet, ProgrammeViewSet
from amniyat.api.views import SchemaView
from amniyat.communities.api import CommunityGroupViewSet, GroupMemberViewSet
from amniyat.fieldwork.collection.api import register as register_collection
from amniyat.fieldwork.forms.api import register as register_forms
from amniyat.fieldwork.imports.api import register as register_imports
from amniyat.fieldwork.submissions.api import register as register_submissions
from amniyat.places.api import PlaceViewSet
from amniyat.plans.api import register as register_plans
from amniyat.reports.api import register as register_reports

router = DefaultRouter()
router.register("programmes", ProgrammeViewSet, basename="programme")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("places", PlaceViewSet, basename="place")
router.register("groups", CommunityGroupViewSet, basename="group")
router.register("members", GroupMemberViewSet, basename="member")
for register in (
    register_forms,
    register_submissions,
    register_imports,
    register_collection,
    register_reports,
    register_plans,
):
    register(router)

app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SchemaView.as_view(), name="schema"),
]

"""REST endpoints for programmes and organisations."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets

from amniyat.accounts import policies, selectors
from amniyat.accounts.models import Organisation, Programme
from amniyat.api.pagination import ordered_by
from amniyat.core.serializers import TranslationsField


class ProgrammeSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    country = serializers.CharField(source="country.code", read_only=True)
    lead_organisation: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    donor: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    partners: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    places: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    my_role = serializers.SerializerMethodField()
    translations = TranslationsField()

    class Meta:
        model = Programme
        fields = [
            "id",
            "slug",
            "name",
            "country",
            "lead_organisation",
            "donor",
            "partners",
            "places",
            "starts_on",
            "ends_on",
            "languages",
            "summary",
            "min_cell_size",
            "is_demo",
            "my_role",
            "content_language",
            "translations",
        ]
        read_only_fields = ["content_language"]

    def get_my_role(self, programme: Programme) -> str | None:
        return policies.role_in(self.context["request"].user, programme)


class OrganisationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    translations = TranslationsField()

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "short_name",
            "kind",
            "country",
            "women_led",
            "description",
            "content_language",
            "translations",
        ]
        read_only_fields = ["content_language"]


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Programmes the caller is a member of."""

    serializer_class = ProgrammeSerializer
    lookup_field = "slug"
    pagination_class = ordered_by("slug")

    def get_queryset(self) -> QuerySet[Programme]:
        return selectors.programmes_visible(user=self.request.user).prefetch_related(
            "partners", "places"
        )


class OrganisationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Organisations taking part in the caller's programmes."""

    serializer_class = OrganisationSerializer
    pagination_class = ordered_by("name")

    def get_queryset(self) -> QuerySet[Organisation]:
        return selectors.organisations_visible(user=self.request.user)

"""REST endpoints of fieldwork 'forms': assessments and their forms, read only, on the same
selectors as the pages. Writes go through the pages and the CLI for now."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from rest_framework import serializers, viewsets
from rest_framework.routers import BaseRouter

from amniyat.api.mixins import narrowed_by_id, programme_from
from amniyat.api.pagination import ordered_by
from amniyat.core.serializers import TranslationsField
from amniyat.fieldwork.forms import selectors
from amniyat.fieldwork.models import Assessment, Form, FormVersion


class AssessmentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    programme: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    places: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    translations = TranslationsField()

    class Meta:
        model = Assessment
        fields = [
            "id",
            "programme",
            "title",
            "kind",
            "places",
            "starts_on",
            "ends_on",
            "weight_field",
            "strata_field",
            "cluster_field",
            "fpc_field",
            "created_at",
            "content_language",
            "translations",
        ]
        read_only_fields = fields


class FormVersionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    fields_lacking_sensitivity = serializers.SerializerMethodField()

    class Meta:
        model = FormVersion
        fields = [
            "id",
            "version",
            "xlsform_name",
            "languages",
            "schema",
            "sensitivity",
            "fields_lacking_sensitivity",
            "created_at",
        ]
        read_only_fields = fields

    def get_fields_lacking_sensitivity(self, version: FormVersion) -> list[str]:
        return version.fields_lacking_sensitivity()


class FormSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    assessment: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    versions = FormVersionSerializer(many=True, read_only=True, source="version_list")

    class Meta:
        model = Form
        fields = ["id", "assessment", "form_id", "title", "is_open", "created_at", "versions"]
        read_only_fields = fields


class AssessmentViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Assessments the caller works on. Filter with ``?programme=SLUG``."""

    serializer_class = AssessmentSerializer
    pagination_class = ordered_by("-id")

    def get_queryset(self) -> QuerySet[Assessment]:
        programme = self.request.query_params.get("programme")
        if programme and not programme.isascii():
            # Slugs and ids are ASCII; programme_from() would read "²" as a digit.
            raise Http404("No such programme.")
        queryset = selectors.assessments_visible(
            user=self.request.user,
            programme=programme_from(self.request, programme) if programme else None,
        )
        return queryset.prefetch_related("places").order_by("-starts_on", "title", "pk")


class FormViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Forms of the assessments the caller works on, each with every version, its field
    schema and the sensitivity class of each field. Filter with ``?assessment=ID``."""

    serializer_class = FormSerializer
    pagination_class = ordered_by("id")

    def get_queryset(self) -> QuerySet[Form]:
        queryset = selectors.forms_visible(user=self.request.user)
        queryset = narrowed_by_id(queryset, self.request, "assessment", "assessment_id")
        return queryset.prefetch_related(
            Prefetch(
                "versions",
                queryset=FormVersion.objects.defer("xlsform", "xform").order_by(
                    "-created_at", "-id"
                ),
                to_attr="version_list",
            )
        ).order_by("title", "pk")


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("assessments", AssessmentViewSet, basename="assessment")
    router.register("forms", FormViewSet, basename="form")

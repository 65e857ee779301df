"""REST endpoints of reports, read only, on the same selectors and policy as the pages: the
reports the caller may read, each with its sections as its page and its files draw them
(numbers as published, each row with its trace), and the files rendered from it, which a
reader who may not edit the report gets only once approved for publication.

Writing, building, approving and rendering stay on the pages and the command line for now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.routers import BaseRouter

from amniyat.api.mixins import programme_from
from amniyat.api.pagination import ordered_by
from amniyat.core.selectors import one_or_404
from amniyat.core.serializers import content_language_choices
from amniyat.reports import document, selectors, services
from amniyat.reports.models import Rendering, Report, Section


class ReportSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    programme: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assessment: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    # The languages content is written in (the same choices, so one enum in the schema).
    language = serializers.ChoiceField(choices=content_language_choices(), read_only=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "programme",
            "kind",
            "language",
            "title",
            "assessment",
            "period_start",
            "period_end",
            "status",
            "revision",
            "created_at",
            "updated_at",
            "approved_at",
            "published_at",
        ]
        read_only_fields = fields


class RecommendationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField()
    factors = serializers.ListField(
        child=serializers.CharField(), help_text="The driver maps' factors it answers."
    )
    priorities = serializers.ListField(
        child=serializers.CharField(),
        help_text="The agreed community priorities it answers; a concern several groups "
        "agreed is named once, with their number.",
    )


class SectionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A section as the report's page draws it
    (:class:`~amniyat.reports.document.DrawnSection`)."""

    id = serializers.IntegerField(source="section.pk")
    position = serializers.IntegerField(source="section.position")
    kind = serializers.ChoiceField(choices=Section.Kind.choices, source="section.kind")
    heading = serializers.CharField(help_text="As the document shows it, in its language.")
    text = serializers.CharField(
        source="section.text",
        help_text="What people wrote (Markdown): the whole of a written section, the "
        "introduction of a built one.",
    )
    built = serializers.SerializerMethodField()
    built_from = serializers.DictField(
        source="section.built_from",
        help_text="Exactly what the section was built from: the findings record and its data "
        "state, the indicator set, the map and its revision, the quotes.",
    )
    built_at = serializers.DateTimeField(source="section.built_at", allow_null=True)
    stale = serializers.BooleanField(
        help_text="Its sources changed since it was built (its figures are as they were then)."
    )
    kept_stale_at = serializers.DateTimeField(
        source="section.kept_stale_at",
        allow_null=True,
        help_text="When an analyst chose to keep figures whose sources changed since.",
    )

    recommendations = RecommendationSerializer(
        many=True,
        help_text="A recommendations section's recommendations, in order, each with what it "
        "answers as the document names it (in the report's language).",
    )

    @extend_schema_field(serializers.DictField())
    def get_built(self, item: document.DrawnSection) -> dict[str, Any]:
        """What a built section shows, as published: every number through disclosure control
        (a withheld one is null with its reason in ``note``), each row with its ``trace`` to
        the findings record, indicator and breakdown it comes from. Quotes carry their words
        only while they are approved for publication."""
        built = dict(item.built)
        if "quotes" in built:
            built["quotes"] = item.quotes
        return built


class ReportDetailSerializer(ReportSerializer):
    sections = serializers.SerializerMethodField()

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "sections"]
        read_only_fields = fields

    @extend_schema_field(SectionSerializer(many=True))
    def get_sections(self, report: Report) -> Any:
        return SectionSerializer(document.drawn(report).sections, many=True).data


class RenderingSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    approved = serializers.SerializerMethodField()
    styles_fallback = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Styles the programme's template lacked, for which the usual template's "
        "were used.",
    )

    class Meta:
        model = Rendering
        fields = [
            "id",
            "number",
            "format",
            "status",
            "report_revision",
            "done",
            "total",
            "size",
            "sha256",
            "error",
            "approved",
            "template_sha256",
            "styles_fallback",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "sha256": {"help_text": "SHA-256 of the file as downloaded (hexadecimal)."},
            "size": {"help_text": "Bytes of the file as downloaded."},
            "template_sha256": {
                "help_text": "A DOCX built on the programme's own Word template: that "
                "template's SHA-256; empty: built on the usual one."
            },
        }

    def get_approved(self, rendering: Rendering) -> bool:
        """Approved for publication with the report: readers who may not edit it see only these."""
        return rendering.approved_by_id is not None


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("programme", str, description="Only this programme's (slug or id)."),
            OpenApiParameter("status", str, enum=Report.Status.values),
        ]
    )
)
class ReportViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Reports the caller may read: every report of the programmes they analyse, the
    published ones of the others they are in. Filter with ``?programme=SLUG`` and
    ``?status=published``. One report comes with its sections."""

    pagination_class = ordered_by("-id")

    def get_serializer_class(self) -> type[serializers.Serializer]:  # type: ignore[type-arg]
        return ReportDetailSerializer if self.action == "retrieve" else ReportSerializer

    def get_queryset(self) -> QuerySet[Report]:
        queryset = selectors.reports_visible(user=self.request.user).select_related(
            "programme", "assessment"
        )
        programme = self.request.query_params.get("programme")
        if programme:
            queryset = queryset.filter(programme=programme_from(self.request, programme))
        status = self.request.query_params.get("status")
        if status in Report.Status.values:  # any other value narrows nothing
            queryset = queryset.filter(status=status)
        return queryset


class _Negotiation(BaseContentNegotiation):
    """A download is asked for with any ``Accept`` (a PDF reader's ``application/pdf``):
    its answer is the file; anything else it answers (an error) is JSON."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, str(first.media_type)

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return None


FILE_PATH = [
    OpenApiParameter("report_pk", int, OpenApiParameter.PATH, description="The report's id.")
]


@extend_schema_view(
    list=extend_schema(parameters=FILE_PATH),
    retrieve=extend_schema(parameters=FILE_PATH),
)
class ReportFileViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """The files rendered from a report (DOCX, PDF), newest first, each an unchanging version
    with its checksum: every one for those who may edit the report, only those approved for
    publication for everyone else."""

    serializer_class = RenderingSerializer
    pagination_class = ordered_by("-number", "-id")

    def _report(self) -> Report:
        if not hasattr(self, "_read_report"):
            self._read_report = one_or_404(
                selectors.reports_visible(user=self.request.user).select_related("programme"),
                self.kwargs.get("report_pk", ""),
                "report",
            )
        return self._read_report

    def get_queryset(self) -> QuerySet[Rendering]:
        if getattr(self, "swagger_fake_view", False):  # the schema's generator
            return Rendering.objects.none()
        report = self._report()
        renderings = selectors.renderings_of(user=self.request.user, report=report)
        return renderings.select_related("report__programme")

    @extend_schema(
        parameters=[
            *FILE_PATH,
            OpenApiParameter(
                "Repr-Digest",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description="The file's SHA-256 (RFC 9530), as ``sha256`` gives it in hex.",
            ),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file (DOCX or PDF, by its ``format``), as its checksum says.",
            ),
            404: OpenApiResponse(description="No such file, or not yours to read."),
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=_Negotiation)
    def download(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """The file itself; its download is recorded in the programme's audit log."""
        from amniyat.reports.views import rendering_response

        rendering = self.get_object()
        pieces = services.rendering_open(
            user=request.user,  # type: ignore[arg-type]
            rendering=rendering,
            request=request._request,
        )
        if pieces is None:
            raise Http404("No such file.")
        return rendering_response(rendering, pieces)


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("reports", ReportViewSet, basename="report")
    router.register(
        r"reports/(?P<report_pk>[0-9]+)/files", ReportFileViewSet, basename="report-file"
    )

"""REST endpoints of imports: import jobs (their status and progress), read only; and POST of a
file to start an import (202 with the job)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from amniyat.accounts import policies
from amniyat.api.mixins import narrowed_by_id
from amniyat.api.pagination import ordered_by
from amniyat.core.http import upload_limit
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.imports import limits, selectors, services
from amniyat.fieldwork.imports.sources import FORMATS
from amniyat.fieldwork.models import Form, ImportJob


class ImportJobSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    percent = serializers.IntegerField(read_only=True)
    message = serializers.SerializerMethodField()
    problems = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "form",
            "file_name",
            "file_format",
            "skip_bad_rows",
            "status",
            "total_rows",
            "processed_rows",
            "percent",
            "stored",
            "duplicates",
            "conflicts",
            "skipped",
            "message",
            "problems",
            "created_at",
            "finished_at",
        ]

    def to_representation(self, instance: ImportJob) -> dict[str, Any]:
        return dict(super().to_representation(services.live_progress(instance)))

    def get_message(self, job: ImportJob) -> str:
        return str(job.report.get("message", ""))

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_problems(self, job: ImportJob) -> list[dict[str, Any]]:
        """The first problems found (every one is in the report file)."""
        return list(job.report.get("problems") or [])


class ImportStartSerializer(serializers.Serializer):  # type: ignore[type-arg]
    form = serializers.IntegerField(help_text="The form's id.")
    file = serializers.FileField()
    file_format = serializers.ChoiceField(choices=list(FORMATS), default="auto")
    skip_bad_rows = serializers.BooleanField(default=False)


@upload_limit(limits.max_import_bytes)
class ImportJobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Imports of submission files the caller may follow. Filter with ``?form=ID``; POST a
    file (multipart) to start one: the answer is 202 with the job, whose ``status`` and
    ``percent`` tell how it goes."""

    serializer_class = ImportJobSerializer
    pagination_class = ordered_by("-id")
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    def get_queryset(self) -> QuerySet[ImportJob]:
        queryset = selectors.import_jobs_visible(user=self.request.user)
        return narrowed_by_id(queryset, self.request, "form", "form_id")

    @extend_schema(request=ImportStartSerializer, responses={202: ImportJobSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ImportStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        form: Form = forms_selectors.form_get(user=request.user, pk=data["form"])
        if not policies.can(request.user, "submission.import", form.assessment.programme):
            raise Http404
        upload = data["file"]
        job = services.import_start(
            acting_user=request.user,  # type: ignore[arg-type]
            form=form,
            file_name=upload.name or "upload",
            content=upload,
            file_format=data["file_format"],
            skip_bad_rows=data["skip_bad_rows"],
        )
        services.import_enqueue(job=job)
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("imports", ImportJobViewSet, basename="import-job")

"""REST endpoints of a form's submissions, read only: scoped, personal answers masked unless
the caller may see them, and audited when shown."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from amniyat.accounts import policies
from amniyat.api.mixins import narrowed_by_id
from amniyat.fieldwork.imports.schema import FormPlan, plan_for
from amniyat.fieldwork.models import Submission
from amniyat.fieldwork.submissions import exporters, selectors, services


def _plan_of(submission: Submission, plans: dict[int, FormPlan]) -> FormPlan:
    if submission.form_version_id not in plans:
        plans[submission.form_version_id] = plan_for(submission.form_version)
    return plans[submission.form_version_id]


def _enumerator_protected(submission: Submission, plans: dict[int, FormPlan]) -> bool:
    """Whether the submission's enumerator is personal or sensitive (the class of its form's
    enumerator question)."""
    return bool(submission.enumerator) and _plan_of(submission, plans).enumerator_protected


class SubmissionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    enumerator = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "form",
            "form_version",
            "instance_id",
            "submitted_at",
            "enumerator",
            "place",
            "source",
            "review_state",
            "answers",
        ]

    def _plans(self) -> dict[int, FormPlan]:
        plans: dict[int, FormPlan] = self.context.setdefault("plans", {})
        return plans

    def get_enumerator(self, submission: Submission) -> str:
        """Who collected it; "•••" where the form classes its enumerator question personal or
        sensitive (or has none) and the caller may not see those."""
        if _enumerator_protected(submission, self._plans()) and not self.context["reveal"](
            submission
        ):
            return exporters.MASK
        return str(submission.enumerator)

    @extend_schema_field(serializers.DictField())
    def get_answers(self, submission: Submission) -> dict[str, Any]:
        """Answers by field path; personal and sensitive ones "•••" unless the caller may see
        them."""
        answers = exporters.stored_answers(submission.data, submission.protected_data or "")
        if self.context["reveal"](submission):
            return answers
        return exporters.masked_answers(answers, _plan_of(submission, self._plans()))


class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Submissions the caller may see. Filter with ``?form=ID`` and
    ``?review_state=approved`` (``has_issues``, ``rejected``, ``edited``; empty: not reviewed)."""

    serializer_class = SubmissionSerializer

    def get_queryset(self) -> QuerySet[Submission]:
        queryset = selectors.submissions_visible(user=self.request.user).select_related(
            "form__assessment__programme"
        )
        queryset = narrowed_by_id(queryset, self.request, "form", "form_id")
        review = self.request.query_params.get("review_state")
        if review in Submission.ReviewState.values:  # any other value narrows nothing
            queryset = queryset.filter(review_state=review)
        return queryset.order_by("-submitted_at", "-id")

    def _reveal(self, submission: Submission) -> bool:
        return policies.can(
            self.request.user, "submission.view_protected", submission.form.assessment.programme
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "reveal": self._reveal}

    def _audit(self, submissions: list[Submission]) -> None:
        by_form: dict[int, list[Submission]] = {}
        plans: dict[int, FormPlan] = {}
        for submission in submissions:
            shows_protected = submission.protected_data or _enumerator_protected(submission, plans)
            if shows_protected and self._reveal(submission):
                by_form.setdefault(submission.form_id, []).append(submission)
        for shown in by_form.values():
            services.protected_answers_viewed(
                user=self.request.user,  # type: ignore[arg-type]
                form=shown[0].form,
                submissions=shown,
                request=self.request._request,
            )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        items = list(page) if page is not None else list(queryset)
        self._audit(items)
        data = self.get_serializer(items, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        submission = self.get_object()
        self._audit([submission])
        return Response(self.get_serializer(submission).data)


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("submissions", SubmissionViewSet, basename="submission")

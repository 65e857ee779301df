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
from amniyat.api.pagination import SUBMISSIONS_PAGE_SIZE, ordered_by
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.imports.schema import FormPlan, plan_for
from amniyat.fieldwork.models import FormVersion, Submission
from amniyat.fieldwork.submissions import exporters, selectors, services
from amniyat.fieldwork.submissions.masking import masked_without_decrypting


def _plan_of(submission: Submission, plans: dict[int, FormPlan]) -> FormPlan:
    """The plan of the submission's form version, read once a request, without the files
    (the XLSForm and its XForm) that nothing here shows."""
    pk = submission.form_version_id
    if pk not in plans:
        plans[pk] = plan_for(FormVersion.objects.defer("xlsform", "xform").get(pk=pk))
    return plans[pk]


def _enumerator_protected(submission: Submission, plans: dict[int, FormPlan]) -> bool:
    """Whether the submission's enumerator is personal or sensitive (the class of its form's
    enumerator question)."""
    return submission.has_enumerator and _plan_of(submission, plans).enumerator_protected  # type: ignore[attr-defined]


class SubmissionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A submission of :func:`selectors.submissions_listed`, whose encrypted columns
    :func:`selectors.encrypted_columns_loaded` read where the caller sees them (``reveal``)."""

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
        if not submission.has_enumerator:  # type: ignore[attr-defined]
            return ""
        if _enumerator_protected(submission, self._plans()) and not self.context["reveal"](
            submission
        ):
            return exporters.MASK
        return str(submission.enumerator)

    @extend_schema_field(serializers.DictField())
    def get_answers(self, submission: Submission) -> dict[str, Any]:
        """Answers by field path; every personal and sensitive question "•••" unless the caller
        may see them (drawn without decrypting them: see masking.py)."""
        if self.context["reveal"](submission):
            return exporters.stored_answers(submission.data, submission.protected_data or "")
        return masked_without_decrypting(submission.data, _plan_of(submission, self._plans()))


class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Submissions the caller may see, newest first. Filter with ``?form=ID`` and
    ``?review_state=approved`` (``has_issues``, ``rejected``, ``edited``; empty: not reviewed)."""

    serializer_class = SubmissionSerializer
    # The order of the index submission_time (form_time with ?form=).
    pagination_class = ordered_by("-submitted_at", "-id", page_size=SUBMISSIONS_PAGE_SIZE)

    def get_queryset(self) -> QuerySet[Submission]:
        queryset = selectors.submissions_visible(user=self.request.user).select_related(
            "form__assessment__programme"
        )
        queryset = narrowed_by_id(queryset, self.request, "form", "form_id")
        review = self.request.query_params.get("review_state")
        if review in Submission.ReviewState.values:  # any other value narrows nothing
            queryset = queryset.filter(review_state=review)
        listed = selectors.submissions_listed(queryset, encrypted=self._reveals_every_row())
        return listed.order_by("-submitted_at", "-id")

    def _reveals_every_row(self) -> bool:
        """Whether the caller sees the protected answers of every submission they may list (a
        lead or analyst, or a facilitator trusted with them, in each programme they work in):
        then a page reads the encrypted columns with its rows, rather than in a query of
        their own for the rows that show them."""
        if not hasattr(self, "_every_row_revealed"):
            user = self.request.user
            self._every_row_revealed = all(
                policies.can(user, "submission.view_protected", programme_id)
                for programme_id in policies.fieldwork_programmes(user)
            )
        return self._every_row_revealed

    def page_partitions(self) -> tuple[str, list[int]] | None:
        """Without ``?form=``, a page is read form by form from the index (form, submitted,
        id), each of the caller's forms' newest rows merged (api/pagination.py)."""
        wanted = self.request.query_params.get("form", "")
        if wanted.isascii() and wanted.isdigit():  # one form: its range of the index
            return None
        forms = forms_selectors.forms_visible(user=self.request.user).select_related(None)
        return "form_id", list(forms.order_by("pk").values_list("pk", flat=True))

    def _reveal(self, submission: Submission) -> bool:
        """Whether the caller sees the submission's protected answers: its programme's
        answer, asked once a request."""
        if not hasattr(self, "_revealed"):
            self._revealed: dict[int, bool] = {}
        programme = submission.form.assessment.programme
        if programme.pk not in self._revealed:
            self._revealed[programme.pk] = policies.can(
                self.request.user, "submission.view_protected", programme
            )
        return self._revealed[programme.pk]

    def _plans(self) -> dict[int, FormPlan]:
        """Each form version's plan, read once a request (the serializer shares them)."""
        if not hasattr(self, "_version_plans"):
            self._version_plans: dict[int, FormPlan] = {}
        return self._version_plans

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "reveal": self._reveal, "plans": self._plans()}

    def _shown(self, submissions: list[Submission]) -> list[Submission]:
        """Read the encrypted columns of the submissions that show them: all of them where the
        caller sees protected answers, and the enumerator where its question is not protected;
        and record who was shown protected ones."""
        plans = self._plans()
        versions = {s.form_version_id for s in submissions} - set(plans)
        if versions:  # each version's plan, in one query whatever the page holds
            for version in FormVersion.objects.defer("xlsform", "xform").filter(pk__in=versions):
                plans[version.pk] = plan_for(version)
        revealed = [s for s in submissions if self._reveal(s)]
        if not self._reveals_every_row():  # else read with the rows
            selectors.encrypted_columns_loaded(
                submissions,
                user=self.request.user,
                answers=[s.pk for s in revealed],
                enumerators=[
                    s.pk
                    for s in submissions
                    if s.has_enumerator and not _plan_of(s, plans).enumerator_protected  # type: ignore[attr-defined]
                ],
            )
        services.protected_answers_shown(
            user=self.request.user,  # type: ignore[arg-type]
            submissions=[
                s for s in revealed if s.protected_data or _enumerator_protected(s, plans)
            ],
            request=self.request._request,
        )
        return submissions

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        items = self._shown(list(page) if page is not None else list(queryset))
        data = self.get_serializer(items, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        (submission,) = self._shown([self.get_object()])
        return Response(self.get_serializer(submission).data)


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("submissions", SubmissionViewSet, basename="submission")

"""Assisted coding pages: the queue of suggestions (least sure first) with Accept and Reject,
and how well the assistant does per code, on held-out coded passages. Training happens in a
task; the page shows at once what the last training found, and its progress while one runs."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.drivers.assist import services as assist
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.models import Code, Passage, Source
from amniyat.findings import charts

QUEUE_LENGTH = 5


def _programme_for_coding(request: AuthenticatedRequest, slug: str) -> Programme:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "source.view_any", programme):
        raise Http404("No such page.")
    return programme


def _quality_context(
    request: AuthenticatedRequest, programme: Programme, training: assist.Training
) -> dict[str, Any]:
    if not policies.can(request.user, "codebook.view", programme):
        return {"quality": None}
    rows = assist.code_quality(user=request.user, programme=programme)
    trained = training.trained
    return {
        "quality": rows,
        "evaluated_on": trained.summary if trained is not None and training.current else "",
        "quality_chart": (
            charts.render_svg(assist.quality_chart(rows)) if assist.evaluated(rows) else None
        ),
        "thresholds": {
            "min_positives": assist.MIN_POSITIVES,
            "min_held_out": assist.MIN_HELD_OUT,
            "min_precision": round(assist.MIN_PRECISION * 100),
            "min_recall": round(assist.MIN_RECALL * 100),
            "test_size": round(assist.TEST_SIZE * 100),
        },
    }


@login_required
def assist_queue(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _programme_for_coding(request, slug)
    source: Source | None = None
    if request.GET.get("source"):
        source = coding_selectors.source_get(
            user=request.user, programme=programme, pk=request.GET["source"]
        )
    training = assist.training_ensure(programme=programme)
    can_evaluate = policies.can(request.user, "codebook.view", programme)
    if request.htmx:
        # The progress indicator polls this address; once the training has ended the whole
        # page is loaded again, with what it found.
        response = render(
            request,
            "drivers/assist/status.html",
            {"programme": programme, "training": training, "can_evaluate": can_evaluate},
        )
        if not training.pending:
            response["HX-Refresh"] = "true"
        return response
    suggestions = assist.queue_for(
        user=request.user,
        programme=programme,
        training=training,
        source=source,
        limit=QUEUE_LENGTH,
    )
    assist.suggestions_viewed(
        user=request.user, programme=programme, suggestions=suggestions, request=request
    )
    return render(
        request,
        "drivers/assist/index.html",
        {
            "programme": programme,
            "tab": "assist",
            "source": source,
            "training": training,
            "suggestions": suggestions,
            "can_evaluate": can_evaluate,
            **_quality_context(request, programme, training),
        },
    )


def _decision_input(
    request: AuthenticatedRequest, programme: Programme
) -> tuple[Passage, Code, float | None]:
    """The passage (of a source the user may code) and code a decision is about; 404 for
    anything out of reach."""
    passage_pk = _int_or_none(request.POST.get("passage"))
    passage = (
        coding_selectors.passage_list(user=request.user, programme=programme)
        .select_related("source", "source__programme")
        .filter(pk=passage_pk)
        .first()
        if passage_pk is not None
        else None
    )
    if passage is None or not policies.can(request.user, "source.code", passage.source):
        raise Http404("No such passage.")
    code = codebook_selectors.code_get(
        user=request.user, programme=programme, pk=request.POST.get("code", "")
    )
    try:
        probability: float | None = float(request.POST.get("probability", ""))
    except ValueError:
        probability = None
    if probability is not None and not math.isfinite(probability):
        probability = None
    return passage, code, probability


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _decide(request: AuthenticatedRequest, slug: str, *, accept: bool) -> HttpResponse:
    programme = _programme_for_coding(request, slug)
    passage, code, probability = _decision_input(request, programme)
    error = ""
    if probability is None:
        error = _("The suggestion's probability is missing or not a number; nothing was coded.")
    else:
        decide = assist.suggestion_accept if accept else assist.suggestion_reject
        try:
            decide(
                user=request.user,
                passage=passage,
                code=code,
                probability=probability,
                request=request,
            )
        except PermissionDenied:
            raise Http404("No such passage.") from None
        except ValidationError as problem:
            error = " ".join(problem.messages)
    if request.htmx:
        return render(
            request,
            "drivers/assist/decision.html",
            {
                "programme": programme,
                "code": code,
                "accepted": accept and not error,
                "rejected": not accept and not error,
                "error": error,
            },
        )
    if error:
        messages.error(request, error)
    elif accept:
        messages.success(request, _("“{code}” was applied to the passage.").format(code=code.name))
    else:
        messages.success(
            request,
            _("“{code}” was rejected; it will not be suggested for this passage again.").format(
                code=code.name
            ),
        )
    return redirect("drivers:assist", slug=programme.slug)


@login_required
@require_POST
def assist_accept(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    return _decide(request, slug, accept=True)


@login_required
@require_POST
def assist_reject(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    return _decide(request, slug, accept=False)


@login_required
@require_POST
def assist_evaluate(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "codebook.view", programme):
        raise Http404("No such page.")
    training = assist.training_ensure(programme=programme, acting_user=request.user, again=True)
    if training.status == assist.TrainingStatus.TOO_LITTLE:
        messages.error(request, training.problem)
    else:
        messages.success(
            request,
            _(
                "The assistant is being evaluated again in the background; the figures below "
                "are replaced when it is done."
            ),
        )
    return redirect("drivers:assist", slug=programme.slug)

"""Findings pages: every indicator overall and disaggregated, the gender gap, baseline →
endline, the district map; the programme's indicator definitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.tables import DOWNLOAD_FORMATS
from amniyat.fieldwork.models import Assessment, Form
from amniyat.findings import present, selectors, services, shown
from amniyat.findings.forms import IndicatorSetForm
from amniyat.findings.models import Findings, IndicatorSet
from amniyat.findings.tables import PageTable


def _findings_of(request: AuthenticatedRequest, assessment: Assessment) -> list[Findings]:
    """Drafts (queued for recomputing when data changed) for those who analyse; the
    published findings for everyone else."""
    if policies.can(request.user, "findings.view_draft", assessment.programme):
        found = []
        for form in assessment.forms.all():
            current = services.findings_for(form)
            if current is None:
                continue
            if current.status != Findings.Status.READY:
                # While newer data is computed, show the latest ready findings, marked stale.
                ready = services.latest_ready(form)
                if ready is not None:
                    ready.form = form
                    ready.updating = current  # type: ignore[attr-defined]
                    current = ready
            found.append(current)
        return found
    return selectors.published_findings_per_form(assessment=assessment)


def _chosen(request: AuthenticatedRequest, found: list[Findings]) -> Findings | None:
    """The findings of the form asked for (``?form=<pk>``), else of the first form: an
    assessment may have several questionnaires (a household survey and a key-informant
    one)."""
    wanted = request.GET.get("form", "")
    return next((f for f in found if str(f.form_id) == wanted), found[0] if found else None)


@login_required
def findings_index(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    assessments = selectors.assessments_with_findings(user=request.user, programme=programme)
    return render(
        request,
        "findings/index.html",
        {
            "programme": programme,
            "assessments": assessments,
            "can_manage": policies.can(request.user, "indicators.manage", programme),
            "indicator_set": services.current_indicator_set(programme),
        },
    )


class AllIndicators:
    """Every indicator's card and the table of them all: the heaviest part of the findings
    page, made only when the page's cached copy of it is missing (``assessment.html`` caches
    it by the findings' data state, the language, the indicator shown and the page's query)
    or when a download asks for one of its tables."""

    def __init__(
        self, make: Callable[[], tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]]
    ) -> None:
        self._make = make
        self._made: tuple[list[tuple[present.IndicatorView, PageTable]], PageTable] | None = None

    def made(self) -> tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]:
        if self._made is None:
            self._made = self._make()
        return self._made

    @property
    def cards(self) -> list[tuple[present.IndicatorView, PageTable]]:
        return self.made()[0]

    @property
    def table(self) -> PageTable:
        return self.made()[1]


def _assessment_page(request: AuthenticatedRequest, slug: str, pk: int) -> dict[str, Any]:
    """What the findings page of an assessment shows, its tables included: the page and
    each of its downloads are made from this one context."""
    programme = programme_get(user=request.user, slug=slug)
    assessment = selectors.assessment_for_findings(user=request.user, programme=programme, pk=pk)
    all_findings = _findings_of(request, assessment)
    findings = _chosen(request, all_findings)
    context: dict[str, Any] = {
        "programme": programme,
        "assessment": assessment,
        "findings": findings,
        "form_choices": [f.form for f in all_findings] if len(all_findings) > 1 else [],
        "can_publish": policies.can(request.user, "findings.publish", programme),
        "tables": {},
    }
    if findings is not None and findings.status == Findings.Status.READY:
        # Made once per record, data state and language, and kept: what reaches this was
        # already checked for the reader.
        record = shown.shown(findings)
        views = record.views
        selected = record.view(request.GET.get("indicator") or "")
        title = str(assessment)
        context |= {
            "indicators": views,
            "selected": selected,
            "min_cell": record.min_cell,
            "design": record.design,
            "tables_title": title,
        }
        if selected is not None and not request.htmx:
            context["chart"] = record.district_chart(selected)
        if policies.can(request.user, "findings.view_draft", programme):
            context["by_fields"] = services.disaggregation_fields(
                findings.form,
                indicator=selected.id if selected else "",
                indicator_set=findings.indicator_set,
            )
            by = request.GET.get("by", "")
            question = dict(context["by_fields"]).get(by)
            if by and question is not None:
                extra = services.findings_by(findings.form, findings.indicator_set, by)
                context["by_chosen"] = by
                context["by_views"] = present.indicator_views(
                    extra, choices=present.choice_labels(findings.form)
                )
                context["by_table"] = present.breakdown_table(
                    context["by_views"], question=question, title=title
                )
                by_selected = next(
                    (v for v in context["by_views"] if selected and v.id == selected.id), None
                )
                if by_selected is not None:
                    context["by_chart"] = present.breakdown_chart(
                        by_selected, column=by, question=question
                    )
        offer = partial(
            _offered,
            request,
            url=reverse("findings:assessment_table", args=[programme.slug, assessment.pk]),
            notes=present.findings_notes(
                findings,
                design=record.design,
                programme=str(programme),
                assessment=str(assessment),
                questionnaire=findings.form.title if context["form_choices"] else "",
            ),
            stem=_stem(programme, assessment, findings.form if context["form_choices"] else None),
        )
        for key in ("chart", "by_chart"):
            if context.get(key):
                chart = context[key]
                context[key] = replace(chart, table=offer([chart.table])[chart.table.id])
                context["tables"][chart.table.id] = context[key].table
        if "by_table" in context:
            context["by_table"] = offer([context["by_table"]])["breakdown"]
            context["tables"]["breakdown"] = context["by_table"]

        def every_indicator() -> tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]:
            # Kept with the record's views (and by the title, a name someone may translate):
            # a download of one card's table or of them all does not make every card again.
            # The page's notes and links go on this request's copies.
            cards, table = record.cards(title)
            offered = offer([*(card for _view, card in cards), table])
            context["tables"] |= offered
            return [(view, offered[card.id]) for view, card in cards], offered[table.id]

        context["all_indicators"] = AllIndicators(every_indicator)
    return context


@login_required
def assessment_findings(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    context = _assessment_page(request, slug, pk)
    findings = context["findings"]
    if request.htmx and findings is not None:
        response = render(request, "findings/partials/status.html", context)
        if findings.status == Findings.Status.READY and not getattr(findings, "updating", None):
            response["HX-Refresh"] = "true"  # done: show the whole page with the numbers
        return response
    return render(request, "findings/assessment.html", context)


@login_required
def assessment_table(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """A table of the assessment's findings page as a file (``?table=…&format=csv|xlsx`` and
    the page's own query): made from the very table the page shows."""
    context = _assessment_page(request, slug, pk)
    if "all_indicators" in context:
        context["all_indicators"].made()
    return _download(request, context["tables"])


def _gender_gap_page(request: AuthenticatedRequest, slug: str, pk: int) -> dict[str, Any]:
    programme = programme_get(user=request.user, slug=slug)
    assessment = selectors.assessment_for_findings(user=request.user, programme=programme, pk=pk)
    ready = [f for f in _findings_of(request, assessment) if f.status == Findings.Status.READY]
    chosen = _chosen(request, ready)
    if chosen is None:
        raise Http404("No findings yet.")
    record = shown.shown(chosen)
    title = str(assessment)
    form_choices = [f.form for f in ready] if len(ready) > 1 else []
    chart = record.gap_chart()
    tables = _offered(
        request,
        [*([chart.table] if chart else []), record.gap_table(title)],
        url=reverse("findings:gender_gap_table", args=[programme.slug, assessment.pk]),
        notes=present.findings_notes(
            chosen,
            design=record.design,
            programme=str(programme),
            assessment=title,
            questionnaire=chosen.form.title if form_choices else "",
        ),
        stem=_stem(programme, assessment, chosen.form if form_choices else None),
    )
    return {
        "programme": programme,
        "assessment": assessment,
        "gaps": record.gaps,
        "chart": replace(chart, table=tables[chart.table.id]) if chart else None,
        "gap_table": tables["gaps"],
        "tables_title": title,
        "min_cell": record.min_cell,
        "findings": chosen,
        "form_choices": form_choices,
        "tables": tables,
    }


@login_required
def gender_gap(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    return render(request, "findings/gender_gap.html", _gender_gap_page(request, slug, pk))


@login_required
def gender_gap_table(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """A table of the gender-gap page as a file, made from the table the page shows."""
    return _download(request, _gender_gap_page(request, slug, pk)["tables"])


def _offered(
    request: AuthenticatedRequest,
    on_page: list[PageTable],
    *,
    url: str,
    notes: list[str],
    stem: str,
) -> dict[str, PageTable]:
    """The page's tables by id, each with the source notes under it and the addresses of its
    downloads: the page's own query (form, indicator, breakdown, pair), the table and the
    format. ``stem`` begins the file's name. Copies: the tables shown may be kept for other
    pages and readers (`shown`)."""
    query = request.GET.copy()
    for key in ("table", "format"):
        query.pop(key, None)
    language = get_language() or "en"
    offered = {}
    for table in on_page:
        downloads = {}
        for file_format in DOWNLOAD_FORMATS:
            query["table"] = table.id
            query["format"] = file_format
            downloads[file_format] = f"{url}?{query.urlencode()}"
        offered[table.id] = replace(
            table,
            notes=[*table.notes, *notes],
            file_stem=f"{stem}_{table.id}_{language}",
            downloads=downloads,
        )
    return offered


def _stem(programme: Programme, assessment: Assessment, form: Form | None) -> str:
    """The start of a downloaded table's file name: the programme, the assessment (and the
    questionnaire where it has several); the table and the language follow."""
    parts = [programme.slug, f"{assessment.pk}-{slugify(assessment.title)}".strip("-")]
    if form is not None:  # as the page names it: by its title
        parts.append(f"{form.pk}-{slugify(form.title)}".strip("-"))
    return "_".join(parts)


def _download(request: AuthenticatedRequest, tables: dict[str, PageTable]) -> HttpResponse:
    table = tables.get(request.GET.get("table", ""))
    file_format = request.GET.get("format", "")
    if table is None or file_format not in DOWNLOAD_FORMATS:
        raise Http404("No such table.")
    return shown.download(table, file_format=file_format)


def _change_page(request: AuthenticatedRequest, slug: str) -> dict[str, Any]:
    """Baseline → endline for every indicator the two share: overall and for women and men."""
    programme = programme_get(user=request.user, slug=slug)
    assessments = list(selectors.assessments_with_findings(user=request.user, programme=programme))
    by_id = {a.pk: a for a in assessments}
    baseline_id = request.GET.get("baseline", "")
    endline_id = request.GET.get("endline", "")
    default_base = next((a for a in assessments if a.kind == Assessment.Kind.BASELINE), None)
    default_end = next((a for a in assessments if a.kind == Assessment.Kind.ENDLINE), None)
    baseline = (
        by_id.get(int(baseline_id))
        if baseline_id.isascii() and baseline_id.isdigit()
        else default_base
    )
    endline = (
        by_id.get(int(endline_id)) if endline_id.isascii() and endline_id.isdigit() else default_end
    )
    comparison: shown.Change | None = None
    notes: list[str] = []
    if baseline and endline and baseline != endline:
        base = [f for f in _findings_of(request, baseline) if f.status == Findings.Status.READY]
        end = [f for f in _findings_of(request, endline) if f.status == Findings.Status.READY]
        if base and end:
            comparison = shown.change(base[0], end[0], baseline=str(baseline), endline=str(endline))
            notes = [
                *present.findings_notes(
                    base[0],
                    design=comparison.designs[0],
                    programme=str(programme),
                    assessment=str(baseline),
                ),
                *present.findings_notes(
                    end[0],
                    design=comparison.designs[1],
                    programme=str(programme),
                    assessment=str(endline),
                ),
            ]
    # The comparison's table is there (and can be taken away) even with nothing to compare:
    # then it has no rows.
    rows = comparison.rows if comparison else []
    chart = comparison.chart if comparison else None
    change_table = (
        comparison.table
        if comparison
        else present.change_table(
            [],
            baseline=str(baseline) if baseline else "—",
            endline=str(endline) if endline else "—",
        )
    )
    pair = [f"{a.pk}-{slugify(a.title)}".strip("-") for a in (baseline, endline) if a is not None]
    tables = _offered(
        request,
        [*([chart.table] if chart else []), change_table],
        url=reverse("findings:change_table", args=[programme.slug]),
        notes=notes,
        stem="_".join([programme.slug, "-to-".join(pair) or "change"]),
    )
    return {
        "programme": programme,
        "assessments": assessments,
        "baseline": baseline,
        "endline": endline,
        "rows": rows,
        "comparison_key": comparison.key if comparison else "",
        "chart": replace(chart, table=tables[chart.table.id]) if chart else None,
        "change_table": tables["change"],
        "tables": tables,
        # Those who may not see drafts compare published findings only: the page says so.
        "published_only": not policies.can(request.user, "findings.view_draft", programme),
    }


@login_required
def change(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    return render(request, "findings/change.html", _change_page(request, slug))


@login_required
def change_table(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """A table of the baseline → endline page as a file, made from the table it shows. An
    assessment asked for by id that this user may not compare answers 404 (the page would
    quietly show none)."""
    context = _change_page(request, slug)
    for key in ("baseline", "endline"):
        if request.GET.get(key) and context[key] is None:
            raise Http404("No such assessment.")
    return _download(request, context["tables"])


@login_required
@require_POST
def publish(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "findings.publish", programme):
        raise Http404("No such page.")
    findings = Findings.objects.filter(assessment__programme=programme, pk=pk).first()
    if findings is None:
        raise Http404("No such findings.")
    try:
        services.findings_publish(
            acting_user=request.user, findings=findings, publish=request.POST.get("publish") == "1"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The findings are published.")
            if findings.published_at
            else _("The findings are withdrawn."),
        )
    return redirect("findings:assessment", slug=slug, pk=findings.assessment_id)


@login_required
def indicators(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "indicators.manage", programme):
        raise Http404("No such page.")
    current = services.current_indicator_set(programme)
    if request.GET.get("download") and current is not None:
        response = HttpResponse(current.spec, content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{programme.slug}-indicators-v{current.version}.yaml"'
        )
        return response
    form = IndicatorSetForm(
        request.POST if request.method == "POST" else None,
        initial={"spec": current.spec if current else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.indicator_set_save(
                acting_user=request.user,
                programme=programme,
                spec=form.cleaned_data["spec"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The indicators were saved as a new version."))
            return redirect("findings:indicators", slug=slug)
    return render(
        request,
        "findings/indicators.html",
        {
            "programme": programme,
            "form": form,
            "current": current,
            "versions": IndicatorSet.objects.filter(programme=programme).defer("spec")[:20],
        },
    )

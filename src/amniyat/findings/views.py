"""Findings pages: every indicator overall and disaggregated, the gender gap, baseline →
endline, the district map; the programme's indicator definitions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
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
from amniyat.core.tables import DOWNLOAD_FORMATS, table_response
from amniyat.fieldwork.models import Assessment, Form
from amniyat.findings import charts, present, selectors, services
from amniyat.findings.forms import IndicatorSetForm
from amniyat.findings.models import Findings, IndicatorSet
from amniyat.findings.tables import PageTable
from amniyat.stats import Estimate, compare_independent


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


def _indicator_views(findings: Findings) -> list[present.IndicatorView]:
    """Every indicator of a findings record as the page shows it, in the reader's language.
    A record's numbers never change once computed (a new computation is a new computed_at),
    so they are kept in the cache for an hour, beside the record's other copies and of its
    class: what reaches this call was already checked for the reader."""
    computed = findings.computed_at.timestamp() if findings.computed_at else 0
    views = cache.get_or_set(
        f"findings-views:{findings.pk}:{computed}:{get_language() or 'en'}",
        lambda: present.indicator_views(
            findings.results, choices=present.choice_labels(findings.form)
        ),
        timeout=3600,
    )
    return cast(list[present.IndicatorView], views)


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
        views = _indicator_views(findings)
        chosen = request.GET.get("indicator") or (views[0].id if views else "")
        selected = next((v for v in views if v.id == chosen), views[0] if views else None)
        title = str(assessment)
        context |= {
            "indicators": views,
            "selected": selected,
            "min_cell": findings.results["design"]["min_cell"],
            "design": findings.results["design"],
        }
        if selected is not None and not request.htmx:
            context["chart"] = present.district_chart(findings.results, selected)
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
                programme=str(programme),
                assessment=str(assessment),
                questionnaire=findings.form.title if context["form_choices"] else "",
            ),
            stem=_stem(programme, assessment, findings.form if context["form_choices"] else None),
        )
        context["tables"] = offer(
            [
                *(context[key].table for key in ("chart", "by_chart") if context.get(key)),
                *([context["by_table"]] if "by_table" in context else []),
            ]
        )

        def every_indicator() -> tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]:
            # Kept beside the indicators' views, by the same record, data state and language
            # (and the title, a name someone may translate): a download of one card's table
            # or of them all does not make every card again. The cache hands out copies, so
            # the page's notes and links below go on this request's tables only.
            def make() -> tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]:
                cards = [(view, present.indicator_table(view, title=title)) for view in views]
                return cards, present.indicators_table(cards, title=title)

            computed = findings.computed_at.timestamp() if findings.computed_at else 0
            key = "findings-cards:{}:{}:{}:{}".format(
                findings.pk,
                computed,
                get_language() or "en",
                hashlib.sha256(title.encode()).hexdigest()[:12],
            )
            cards, table = cast(
                tuple[list[tuple[present.IndicatorView, PageTable]], PageTable],
                cache.get_or_set(key, make, timeout=3600),
            )
            context["tables"] |= offer([*(card for _view, card in cards), table])
            return cards, table

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
    gaps = present.gender_gaps(chosen.results)
    min_cell = chosen.results["design"]["min_cell"]
    chart = present.gap_chart(gaps, min_cell=min_cell)
    gap_table = present.gap_table(gaps, min_cell=min_cell, title=str(assessment))
    form_choices = [f.form for f in ready] if len(ready) > 1 else []
    return {
        "programme": programme,
        "assessment": assessment,
        "gaps": gaps,
        "chart": chart,
        "gap_table": gap_table,
        "min_cell": min_cell,
        "findings": chosen,
        "form_choices": form_choices,
        "tables": _offered(
            request,
            [*([chart.table] if chart else []), gap_table],
            url=reverse("findings:gender_gap_table", args=[programme.slug, assessment.pk]),
            notes=present.findings_notes(
                chosen,
                programme=str(programme),
                assessment=str(assessment),
                questionnaire=chosen.form.title if form_choices else "",
            ),
            stem=_stem(programme, assessment, chosen.form if form_choices else None),
        ),
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
    shown: list[PageTable],
    *,
    url: str,
    notes: list[str],
    stem: str,
) -> dict[str, PageTable]:
    """The page's tables by id, each with the source notes under it and the addresses of its
    downloads: the page's own query (form, indicator, breakdown, pair), the table and the
    format. ``stem`` begins the file's name."""
    query = request.GET.copy()
    for key in ("table", "format"):
        query.pop(key, None)
    offered = {}
    for table in shown:
        table.notes = [*table.notes, *notes]
        table.file_stem = f"{stem}_{table.id}_{get_language() or 'en'}"
        for file_format in DOWNLOAD_FORMATS:
            query["table"] = table.id
            query["format"] = file_format
            table.downloads[file_format] = f"{url}?{query.urlencode()}"
        offered[table.id] = table
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
    return table_response(table.table(), file_format=file_format, file_stem=table.file_stem)


def _estimate(record: dict[str, Any], kind: str, df: int) -> Estimate:
    return Estimate(
        kind=kind,  # type: ignore[arg-type]
        variable=record["indicator"],
        domain=tuple(record["domain"].items()),
        n=record["n"],
        weighted_n=record["weighted_n"] or 0.0,
        value=record["estimate"],
        se=record["se"],
        ci_low=record["ci_low"],
        ci_high=record["ci_high"],
        deff=record["deff"],
        df=df,
        confidence=0.95,
        suppressed=record["suppressed"],
        reason=record["reason"],
    )


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
    rows: list[dict[str, Any]] = []
    chart: present.Chart | None = None
    notes: list[str] = []
    if baseline and endline and baseline != endline:
        base = [f for f in _findings_of(request, baseline) if f.status == Findings.Status.READY]
        end = [f for f in _findings_of(request, endline) if f.status == Findings.Status.READY]
        if base and end:
            rows = _cached_change_rows(base[0], end[0])
            chart = present.change_chart(rows, baseline=str(baseline), endline=str(endline))
            notes = [
                *present.findings_notes(
                    base[0], programme=str(programme), assessment=str(baseline)
                ),
                *present.findings_notes(end[0], programme=str(programme), assessment=str(endline)),
            ]
    # The comparison's table is there (and can be taken away) even with nothing to compare:
    # then it has no rows.
    change_table = present.change_table(
        rows,
        baseline=str(baseline) if baseline else "—",
        endline=str(endline) if endline else "—",
    )
    pair = [f"{a.pk}-{slugify(a.title)}".strip("-") for a in (baseline, endline) if a is not None]
    return {
        "programme": programme,
        "assessments": assessments,
        "baseline": baseline,
        "endline": endline,
        "rows": rows,
        "chart": chart,
        "change_table": change_table,
        "tables": _offered(
            request,
            [*([chart.table] if chart else []), change_table],
            url=reverse("findings:change_table", args=[programme.slug]),
            notes=notes,
            stem="_".join([programme.slug, "-to-".join(pair) or "change"]),
        ),
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


def _cached_change_rows(base: Findings, end: Findings) -> list[dict[str, Any]]:
    """The comparison of two findings records, made once per pair, data state and language
    (each difference's test is computed in pure Python), as `_indicator_views` keeps one."""
    key = ":".join(
        [
            "findings-change",
            *(f"{f.pk}-{f.computed_at.timestamp() if f.computed_at else 0}" for f in (base, end)),
            get_language() or "en",
        ]
    )
    rows = cache.get_or_set(key, lambda: _change_rows(base.results, end.results), timeout=3600)
    return cast(list[dict[str, Any]], rows)


def _change_rows(base: dict[str, Any], end: dict[str, Any]) -> list[dict[str, Any]]:
    kinds = end.get("kinds", {})
    df_base = int(base["design"].get("degrees_of_freedom") or 1)
    df_end = int(end["design"].get("degrees_of_freedom") or 1)

    def index(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (r["indicator"], r["domain"].get("sex", "")): r
            for r in results["estimates"]
            if r["by"] in ([], ["sex"])
        }

    base_index, end_index = index(base), index(end)
    rows = []
    for key, after in end_index.items():
        before = base_index.get(key)
        if before is None:
            continue
        indicator, sex = key
        kind = kinds.get(indicator, "proportion")
        difference = compare_independent(
            _estimate(after, kind, df_end), _estimate(before, kind, df_base)
        )
        rows.append(
            {
                "indicator": indicator,
                "label": present.measure_label(end, indicator),
                "kind": kind,
                "domain": sex,
                "domain_label": {"female": _("women"), "male": _("men")}.get(sex, ""),
                "baseline": before["estimate"],
                "endline": after["estimate"],
                "difference": difference.value,
                "p_value": difference.p_value,
                "significant": difference.p_value is not None and difference.p_value < 0.05,
            }
        )
    # Proportions, then means, each by the size of their change overall (as the chart draws
    # them); an indicator's rows for women and men follow it.
    overall = [r for r in rows if r["domain"] == ""]
    ranked = [
        *charts.largest_change_first([r for r in overall if r["kind"] == "proportion"]),
        *charts.largest_change_first([r for r in overall if r["kind"] != "proportion"]),
    ]
    order = {row["indicator"]: place for place, row in enumerate(ranked)}
    rows.sort(key=lambda r: (order.get(r["indicator"], len(order)), r["label"], r["domain"]))
    return rows


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
            "versions": IndicatorSet.objects.filter(programme=programme)[:20],
        },
    )

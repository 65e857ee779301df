"""Report pages: the programme's reports, a report as it reads with its sections (written and
built from data), writing and building each section, and its way from draft to published."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.core.paging import page_of
from amniyat.fieldwork.models import Assessment
from amniyat.findings import charts
from amniyat.findings.shown import shown
from amniyat.reports import built, change, document, docx_template, maps, selectors, services
from amniyat.reports.forms import (
    BuiltSectionForm,
    RecommendationFormSet,
    ReportForm,
    ReturnForm,
    TemplateForm,
    WrittenSectionForm,
    recommendation_items,
)
from amniyat.reports.models import Rendering, Report, Section

REPORTS_PER_PAGE = 25


def _assessments(programme: Programme) -> Any:
    return Assessment.objects.filter(programme=programme).order_by("-starts_on", "title")


def _editable(request: AuthenticatedRequest, report: Report) -> None:
    """Those who may only read a report get 404 on its editing routes."""
    if not policies.can(request.user, "report.edit", report):
        raise Http404("No such report.")


@login_required
def report_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    reports = selectors.report_list(user=request.user, programme=programme)
    return render(
        request,
        "reports/list.html",
        {
            "programme": programme,
            "page": page_of(request, reports, size=REPORTS_PER_PAGE),
            "can_create": policies.can(request.user, "report.create", programme),
            "can_template": policies.can(request.user, "report.template", programme),
        },
    )


@login_required
def report_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "report.create", programme):
        raise Http404("No such page.")
    form = ReportForm(
        request.POST if request.method == "POST" else None,
        assessments=_assessments(programme),
        initial={"kind": Report.Kind.BRIEFING, "language": request.LANGUAGE_CODE},
    )
    if request.method == "POST" and form.is_valid():
        try:
            report = services.report_create(
                user=request.user, programme=programme, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Report started from its template."))
            return redirect("reports:detail", slug=programme.slug, pk=report.pk)
    return render(
        request, "reports/form.html", {"programme": programme, "form": form, "report": None}
    )


@login_required
def report_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    report = selectors.report_get(user=request.user, programme=programme, pk=pk)
    _editable(request, report)
    form = ReportForm(
        request.POST if request.method == "POST" else None,
        assessments=_assessments(programme),
        editing=True,
        initial={name: getattr(report, name) for name in services.REPORT_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.report_update(user=request.user, report=report, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("reports:detail", slug=programme.slug, pk=report.pk)
    return render(
        request, "reports/form.html", {"programme": programme, "form": form, "report": report}
    )


@login_required
def report_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    report = selectors.report_get(user=request.user, programme=programme, pk=pk)
    made = document.drawn(report)
    for item in made.sections:
        # Drawn only if the page's kept copy of the section's figures is missing (the
        # template calls it then).
        item.svg = functools.cache(functools.partial(_drawing, item))
    can_edit = policies.can(request.user, "report.edit", report)
    return render(
        request,
        "reports/detail.html",
        {
            "programme": programme,
            "report": report,
            "sections": made.sections,
            "can_edit": can_edit and report.status in services.EDITABLE,
            "can_reopen": can_edit and report.status == Report.Status.APPROVED,
            "can_approve": policies.can(request.user, "report.approve", report),
            "unready": (
                services.unready_sections(report)
                if report.status == Report.Status.IN_REVIEW
                else []
            ),
            "section_kinds": [
                (value, label) for value, label in Section.Kind.choices if value != "title"
            ],
            "return_form": ReturnForm(),
            "renderings": selectors.renderings_of(user=request.user, report=report)[:10],
        },
    )


def _drawing(item: document.DrawnSection) -> Any:
    """A built section's chart or map as the page draws it (SVG made on the server)."""
    if item.kind == Section.Kind.DRIVER_MAP:
        return maps.map_markup(item.built, id_prefix=f"map{item.section.pk}")
    chart = item.built.get("chart")
    return charts.render_svg(chart["spec"]) if chart and chart.get("spec") else None


def _section(request: AuthenticatedRequest, slug: str, pk: int, section_pk: int) -> Section:
    programme = programme_get(user=request.user, slug=slug)
    section = selectors.section_get(
        user=request.user, programme=programme, report_pk=pk, pk=section_pk
    )
    _editable(request, section.report)
    return section


def _section_form(request: AuthenticatedRequest, section: Section) -> Any:
    data = request.POST if request.method == "POST" else None
    initial = {"heading": section.heading, "text": section.text, **section.options}
    if section.is_written:
        return WrittenSectionForm(data, initial=initial)
    indicators: list[tuple[str, str]] = []
    if section.kind in (
        Section.Kind.FINDINGS,
        Section.Kind.CHART,
        Section.Kind.DISTRICT_MAP,
        Section.Kind.CHANGE,
    ):
        findings = built.published_of(section)
        if findings is not None:
            indicators = [(v.id, v.label) for v in shown(findings).views]
    quotes: list[tuple[int, str]] = []
    if section.kind == Section.Kind.QUOTES:
        quotes = built.quote_choices(section)
    maps_offered: list[tuple[int, str]] = []
    if section.kind == Section.Kind.DRIVER_MAP:
        maps_offered = maps.map_choices(user=request.user, programme=section.report.programme)
    assessments: list[tuple[int, str]] = []
    if section.kind == Section.Kind.CHANGE:
        assessments = [
            (a.pk, str(a.translated("title")))
            for a in change.compared_assessments(section.report.programme)
        ]
    return BuiltSectionForm(
        data,
        initial=initial,
        section=section,
        indicators=indicators,
        quotes=quotes,
        maps=maps_offered,
        assessments=assessments,
    )


@login_required
def section_edit(
    request: AuthenticatedRequest, slug: str, pk: int, section_pk: int
) -> HttpResponse:
    section = _section(request, slug, pk, section_pk)
    report = section.report
    form = _section_form(request, section)
    formset = _recommendations_form(request, section)
    if request.method == "POST" and form.is_valid() and (formset is None or formset.is_valid()):
        try:
            if formset is not None:  # first: what it refuses leaves everything as it was
                services.recommendations_set(
                    user=request.user, section=section, items=recommendation_items(formset)
                )
            services.section_update(
                user=request.user,
                section=section,
                heading=form.cleaned_data["heading"],
                text=form.cleaned_data["text"],
            )
            if not section.is_written:
                services.section_set_options(
                    user=request.user, section=section, options=form.options()
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect(f"{_detail_url(report)}#section-{section.pk}")
    return render(
        request,
        "reports/section_form.html",
        {
            "programme": report.programme,
            "report": report,
            "section": section,
            "heading": document.heading_of(section),
            "form": form,
            "formset": formset,
        },
    )


def _recommendations_form(request: AuthenticatedRequest, section: Section) -> Any:
    """A recommendations section's recommendations, each with the factors and priorities
    it answers, chosen among those of the programme the user may read (None for the other
    kinds)."""
    if section.kind != Section.Kind.RECOMMENDATIONS:
        return None
    programme = section.report.programme
    with_map = (
        services.answerable_factors(user=request.user, programme=programme)
        .select_related("map", "code")
        .order_by("map__title", "pk")
    )
    factors = [
        (f.pk, f"{f.map.translated('title')}: {f.translated('label')}") for f in with_map[:1000]
    ]
    in_lists = (
        services.answerable_priorities(user=request.user, programme=programme)
        .select_related("priority_list", "code")
        .order_by("priority_list__title", "rank", "pk")
    )
    priorities = [
        (p.pk, f"{p.priority_list.translated('title')}: {p.translated('concern')}")
        for p in in_lists[:1000]
    ]
    initial = [
        {
            "text": r.text,
            "factors": [f.pk for f in r.factors.all()],
            "priorities": [p.pk for p in r.priorities.all()],
        }
        for r in selectors.recommendations_of([section])
    ]
    return RecommendationFormSet(
        request.POST if request.method == "POST" else None,
        initial=initial,
        prefix="recommendations",
        form_kwargs={"factors": factors, "priorities": priorities},
    )


def _detail_url(report: Report) -> str:
    from django.urls import reverse

    return reverse("reports:detail", kwargs={"slug": report.programme.slug, "pk": report.pk})


def _act(
    request: AuthenticatedRequest, report: Report, action: Any, done: str = ""
) -> HttpResponse:
    """Runs a write the page asked for; a refusal is shown as a message on the report."""
    try:
        action()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except PermissionDenied:
        raise Http404("No such report.") from None
    else:
        if done:
            messages.success(request, done)
    return redirect(_detail_url(report))


@login_required
@require_POST
def section_move(
    request: AuthenticatedRequest, slug: str, pk: int, section_pk: int
) -> HttpResponse:
    section = _section(request, slug, pk, section_pk)
    by = -1 if request.POST.get("direction") == "up" else 1
    return _act(
        request,
        section.report,
        lambda: services.section_move(user=request.user, section=section, by=by),
    )


@login_required
@require_POST
def section_build(
    request: AuthenticatedRequest, slug: str, pk: int, section_pk: int
) -> HttpResponse:
    section = _section(request, slug, pk, section_pk)
    return _act(
        request,
        section.report,
        lambda: services.section_build(user=request.user, section=section),
        _("Section built from the data as it is now."),
    )


@login_required
@require_POST
def section_keep(
    request: AuthenticatedRequest, slug: str, pk: int, section_pk: int
) -> HttpResponse:
    section = _section(request, slug, pk, section_pk)
    return _act(
        request,
        section.report,
        lambda: services.section_keep_figures(user=request.user, section=section),
        _("The figures are kept; the document will say when they were built."),
    )


@login_required
@require_POST
def section_remove(
    request: AuthenticatedRequest, slug: str, pk: int, section_pk: int
) -> HttpResponse:
    section = _section(request, slug, pk, section_pk)
    return _act(
        request,
        section.report,
        lambda: services.section_remove(user=request.user, section=section),
        _("Section removed."),
    )


@login_required
@require_POST
def section_add(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    report = selectors.report_get(user=request.user, programme=programme, pk=pk)
    _editable(request, report)
    kind = request.POST.get("kind", "")
    return _act(
        request,
        report,
        lambda: services.section_add(user=request.user, report=report, kind=kind),
        _("Section added at the end."),
    )


STATUS_ACTIONS = ("submit", "return", "approve", "reopen", "publish")


@login_required
@require_POST
def report_status(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    report = selectors.report_get(user=request.user, programme=programme, pk=pk)
    _editable(request, report)
    action = request.POST.get("action", "")
    user = request.user
    if action == "submit":
        return _act(
            request,
            report,
            lambda: services.report_submit(user=user, report=report),
            _("Sent for review."),
        )
    if action == "return":
        form = ReturnForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        return _act(
            request,
            report,
            lambda: services.report_return(user=user, report=report, reason=reason),
            _("Returned to its authors."),
        )
    if action == "approve":
        return _act(
            request,
            report,
            lambda: services.report_approve(user=user, report=report),
            _("Report approved."),
        )
    if action == "reopen":
        return _act(
            request,
            report,
            lambda: services.report_reopen(user=user, report=report),
            _("Reopened as a draft."),
        )
    if action == "publish":
        return _act(
            request,
            report,
            lambda: services.report_publish(user=user, report=report),
            _("Report published: everyone in the programme can read it."),
        )
    messages.error(request, _("Choose what to do with the report."))
    return redirect(_detail_url(report))


# ----------------------------------------------------------------------------------------
# Rendered files.


@login_required
@require_POST
def rendering_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    report = selectors.report_get(user=request.user, programme=programme, pk=pk)
    _editable(request, report)
    file_format = request.POST.get("format", "")
    return _act(
        request,
        report,
        lambda: services.rendering_start(user=request.user, report=report, file_format=file_format),
        _("The file is being written; its progress shows below."),
    )


def _rendering(request: AuthenticatedRequest, slug: str, pk: int, rendering_pk: int) -> Any:
    programme = programme_get(user=request.user, slug=slug)
    report = selectors.report_get(user=request.user, programme=programme, pk=pk)
    rendering = (
        selectors.renderings_of(user=request.user, report=report).filter(pk=rendering_pk).first()
    )
    if rendering is None:
        raise Http404("No such file.")
    return programme, report, rendering


@login_required
def rendering_progress(
    request: AuthenticatedRequest, slug: str, pk: int, rendering_pk: int
) -> HttpResponse:
    """The partial htmx polls while a file is written; once written (or not) it comes
    without the polling trigger."""
    programme, report, rendering = _rendering(request, slug, pk, rendering_pk)
    return render(
        request,
        "reports/partials/rendering.html",
        {"programme": programme, "report": report, "rendering": rendering},
    )


@login_required
def rendering_file(
    request: AuthenticatedRequest, slug: str, pk: int, rendering_pk: int
) -> HttpResponseBase:
    _programme, _report, rendering = _rendering(request, slug, pk, rendering_pk)
    pieces = services.rendering_open(user=request.user, rendering=rendering, request=request)
    if pieces is None:
        raise Http404("No such file.")
    return rendering_response(rendering, pieces)


def rendering_response(rendering: Rendering, pieces: Iterator[bytes]) -> StreamingHttpResponse:
    """A rendered file as a download (the page's and the API's), with its checksum."""
    response = StreamingHttpResponse(pieces, content_type=services.CONTENT_TYPES[rendering.format])
    response["Content-Disposition"] = (
        content_disposition_header(True, services.rendering_file_name(rendering)) or ""
    )
    response["Content-Length"] = str(rendering.size)
    response["Cache-Control"] = "private, no-store"
    if rendering.sha256:
        digest = base64.b64encode(bytes.fromhex(rendering.sha256)).decode("ascii")
        response["Repr-Digest"] = f"sha-256=:{digest}:"
        response["ETag"] = f'"{rendering.sha256}"'
    return response


# ----------------------------------------------------------------------------------------
# The programme's own Word template.


@upload_limit(lambda: docx_template.MAX_TEMPLATE_BYTES)
@login_required
def template_page(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The programme's Word template, which its leads upload, replace and remove."""
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "report.template", programme):
        raise Http404("No such page.")
    posted = request.method == "POST"
    form = TemplateForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and request.POST.get("action") == "remove":
        if services.template_remove(user=request.user, programme=programme):
            messages.success(
                request, _("The template is removed: files are built on the usual one.")
            )
        return redirect("reports:template", slug=programme.slug)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            template = services.template_upload(
                user=request.user,
                programme=programme,
                file_name=upload.name or "template.docx",
                content=upload.read(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("“{file}” is the programme's template now.").format(file=template.name),
            )
            return redirect("reports:template", slug=programme.slug)
    return render(
        request,
        "reports/template.html",
        {
            "programme": programme,
            "template": selectors.templates_visible(user=request.user, programme=programme)
            .select_related("uploaded_by")
            .first(),
            "form": form,
            "styles": docx_template.STYLES,
        },
    )

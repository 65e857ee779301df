"""Pages of the qualitative evidence: the list of sources, uploading notes, the coding page,
the second person's review of a quote proposed for publication, excerpts by code and
agreement between coders.

The coding page works without JavaScript (pick a passage, tick codes, apply); with it,
``coding.js`` applies codes to any selection of words and swaps in the re-rendered coding
area (requests marked ``HX-Request``), so the page never reloads while coding."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme, User
from amniyat.accounts.selectors import organisations_visible, programme_get
from amniyat.communities.models import Sector
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.core.paging import page_of
from amniyat.core.text import format_list, format_number, quoted
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import agreement as agreement_service
from amniyat.drivers.coding import links, selectors, services, text
from amniyat.drivers.coding.forms import (
    CodeExcerptFilter,
    ExcerptForm,
    QuoteReviewForm,
    RedactionForm,
    SourceFilter,
    SourceForm,
)
from amniyat.drivers.models import AgeBand, Code, Excerpt, Language, RedactionFlag, Source
from amniyat.fieldwork.forms.selectors import assessments_visible
from amniyat.findings import charts
from amniyat.places.forms import place_offer


def _programme(request: AuthenticatedRequest, slug: str) -> Programme:
    """The programme, for someone who may read its sources (everyone else: 404)."""
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "source.view_any", programme):
        raise Http404("No such page.")
    return programme


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# Notes a page of the list shows: a national programme has hundreds of discussions.
SOURCES_PER_PAGE = 50
# Quotes a page of a code's excerpts shows: a code of a national programme has hundreds.
QUOTES_PER_PAGE = 25


def _with_profile_labels(sources: Iterable[Source]) -> list[Source]:
    """Sources with their kind, language, age bands and sectors as words (``kind_label``,
    ``language_label``, ``age_labels``, ``sector_labels``). Each word is translated once for
    the page, not once for each source that has it (a list shows fifty)."""
    kinds, languages, ages, sectors = (
        {value: str(label) for value, label in choices}
        for choices in (Source.Kind.choices, Language.choices, AgeBand.choices, Sector.choices)
    )
    listed = list(sources)
    for source in listed:
        source.kind_label = kinds.get(source.kind, source.kind)  # type: ignore[attr-defined]
        source.language_label = languages.get(  # type: ignore[attr-defined]
            source.language, source.language
        )
        source.age_labels = [ages.get(b, b) for b in source.age_bands]  # type: ignore[attr-defined]
        source.sector_labels = [  # type: ignore[attr-defined]
            sectors.get(s, s) for s in source.sectors
        ]
    return listed


# ----------------------------------------------------------------------------------------
# Sources.


@login_required
def source_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _programme(request, slug)
    kind = request.GET.get("kind", "")
    language = request.GET.get("language", "")
    place_filter = SourceFilter(
        request.GET or None,
        places=place_offer(user=request.user, programme=programme, within="groups"),
    )
    chosen: dict[str, Any] = {
        "assessment": _int(request.GET.get("assessment")),
        "place": place_filter.cleaned_data.get("place") if place_filter.is_valid() else None,
        "kind": kind if kind in Source.Kind.values else "",
        "language": language if language in Language.values else "",
    }
    sources = services.source_rows(
        user=request.user,
        programme=programme,
        assessment=chosen["assessment"],
        place=chosen["place"],
        kind=chosen["kind"],
        language=chosen["language"],
    )
    page = page_of(request, sources, size=SOURCES_PER_PAGE)
    listed = _with_profile_labels(page.object_list)
    detail_url = links.per_object("drivers:source_detail", slug=programme.slug)
    for source in listed:
        source.detail_url = detail_url(source.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "drivers/coding/source_list.html",
        {
            "programme": programme,
            "tab": "sources",
            "sources": listed,
            "page": page,
            "chosen": chosen,
            "assessments": assessments_visible(user=request.user, programme=programme),
            "place_filter": place_filter,
            "kinds": Source.Kind.choices,
            "language_choices": Language.choices,
            "can_add": policies.can(request.user, "source.create", programme),
        },
    )


def _source_form(request: AuthenticatedRequest, programme: Programme, **kwargs: Any) -> SourceForm:
    organisations: Any = None
    if policies.organisation_for_new_group(request.user, programme) is None:
        organisations = organisations_visible(user=request.user, programme=programme)
        if programme.donor_id:
            organisations = organisations.exclude(pk=programme.donor_id)
    return SourceForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        assessments=assessments_visible(user=request.user, programme=programme),
        places=place_offer(user=request.user, programme=programme, within="groups"),
        organisations=organisations,
        **kwargs,
    )


@upload_limit(lambda: text.MAX_UPLOAD_BYTES)
@login_required
def source_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _programme(request, slug)
    if not policies.can(request.user, "source.create", programme):
        raise Http404("No such page.")
    form = _source_form(request, programme)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            source = services.source_create(
                user=request.user,
                programme=programme,
                text=data.pop("text"),
                upload=data.pop("upload"),
                **data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _stored_message(source))
            return redirect("drivers:source_detail", slug=slug, pk=source.pk)
    return render(
        request,
        "drivers/coding/source_form.html",
        {"programme": programme, "tab": "sources", "form": form},
    )


def _stored_message(source: Source) -> str:
    """The flash after new notes are stored: "The notes were stored: 12 passages to code,
    1 possible personal detail to check." """
    passages = source.passages.count()
    flags = source.redaction_flags.count()
    return _("The notes were stored: {passages}, {flags}.").format(
        passages=ngettext("{n} passage to code", "{n} passages to code", passages).format(
            n=format_number(passages)
        ),
        flags=ngettext(
            "{n} possible personal detail to check",
            "{n} possible personal details to check",
            flags,
        ).format(n=format_number(flags)),
    )


@upload_limit(lambda: text.MAX_UPLOAD_BYTES)
@login_required
def source_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    source = selectors.source_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "source.edit", source):
        raise Http404("No such page.")
    initial = {
        "assessment": source.assessment_id,
        "title": source.title,
        "kind": source.kind,
        "place": source.place_id,
        "held_on": source.held_on,
        "language": source.language,
        "participants": source.participants,
        "women": source.women,
        "men": source.men,
        "age_bands": source.age_bands,
        "sectors": source.sectors,
        "organisation": source.organisation_id,
    }
    form = _source_form(request, programme, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.source_update(
                user=request.user,
                source=source,
                text=data.pop("text"),
                upload=data.pop("upload"),
                **data,
            )
        except ValidationError as error:
            source.refresh_from_db()
            apply_errors(form, error)
        else:
            messages.success(request, _("The source was saved."))
            return redirect("drivers:source_detail", slug=slug, pk=source.pk)
    return render(
        request,
        "drivers/coding/source_form.html",
        {
            "programme": programme,
            "tab": "sources",
            "form": form,
            "source": source,
            "coded": source.excerpts.exists(),
        },
    )


@login_required
@require_POST
def source_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    source = selectors.source_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "source.edit", source):
        raise Http404("No such page.")
    services.source_delete(user=request.user, source=source)
    messages.success(request, _("The source and its coding were deleted."))
    return redirect("drivers:source_list", slug=slug)


# ----------------------------------------------------------------------------------------
# The coding page.


@dataclass
class Segment:
    """A run of characters with the same passage, excerpts and flag: one element on the
    page, with ``data-start``/``data-end`` so the script maps a selection to offsets."""

    start: int
    end: int
    text: str
    excerpts: list[Excerpt] = field(default_factory=list)
    flag: RedactionFlag | None = None

    @property
    def excerpt_ids(self) -> str:
        return " ".join(str(e.pk) for e in self.excerpts)

    @property
    def code_names(self) -> str:
        return format_list(sorted({e.code.name for e in self.excerpts}))


@dataclass
class PassageView:
    position: int
    start: int
    end: int
    segments: list[Segment]
    gap_after: Segment | None = None


@dataclass
class ParagraphView:
    number: int
    passages: list[PassageView]


def _segments(
    content: str, start: int, end: int, excerpts: list[Excerpt], flags: list[RedactionFlag]
) -> list[Segment]:
    cuts = {start, end}
    spans = [(e.start, e.end) for e in excerpts] + [(f.start, f.end) for f in flags]
    for span in spans:
        for at in span:
            if start < at < end:
                cuts.add(at)
    bounds = sorted(cuts)
    segments = []
    for left, right in itertools.pairwise(bounds):
        segments.append(
            Segment(
                start=left,
                end=right,
                text=content[left:right],
                excerpts=[e for e in excerpts if e.start < right and left < e.end],
                flag=next((f for f in flags if f.start < right and left < f.end), None),
            )
        )
    return segments


def _paragraphs(
    content: str, passages: Iterable[Any], excerpts: list[Excerpt], flags: list[RedactionFlag]
) -> list[ParagraphView]:
    paragraphs: list[ParagraphView] = []
    views: list[PassageView] = []
    for passage in passages:
        view = PassageView(
            position=passage.position,
            start=passage.start,
            end=passage.end,
            segments=_segments(content, passage.start, passage.end, excerpts, flags),
        )
        if paragraphs and paragraphs[-1].number == passage.paragraph:
            previous = paragraphs[-1].passages[-1]
            if passage.start > previous.end:
                previous.gap_after = Segment(
                    previous.end, passage.start, content[previous.end : passage.start]
                )
            paragraphs[-1].passages.append(view)
        else:
            paragraphs.append(ParagraphView(passage.paragraph, [view]))
        views.append(view)
    return paragraphs


def _segment_html(segment: Segment, css: str = "seg") -> SafeString:
    if segment.excerpts:
        css += " coded"
    if segment.flag is not None:
        css += f" flag flag-{segment.flag.status}"
    coded = (
        format_html(' data-excerpts="{}" title="{}"', segment.excerpt_ids, segment.code_names)
        if segment.excerpts
        else ""
    )
    flag = format_html(' data-flag="{}"', segment.flag.pk) if segment.flag is not None else ""
    return format_html(
        '<span class="{}" data-start="{}" data-end="{}"{}{}>{}</span>',
        css,
        segment.start,
        segment.end,
        coded,
        flag,
        segment.text,
    )


def _joined(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _passage_html(passage: PassageView, *, may_code: bool) -> SafeString:
    pick = (
        format_html(
            '<input type="radio" class="pick" name="passage" value="{0}" id="pick-{0}" '
            'aria-label="{1}">',
            passage.position,
            _("Passage %(n)s") % {"n": passage.position + 1},
        )
        if may_code
        else ""
    )
    gap = _segment_html(passage.gap_after, "seg gap") if passage.gap_after is not None else ""
    return format_html(
        '{0}<span class="passage" id="passage-{1}" data-passage="{1}" data-start="{2}" '
        'data-end="{3}">{4}</span>{5}',
        pick,
        passage.position,
        passage.start,
        passage.end,
        _joined(_segment_html(segment) for segment in passage.segments),
        gap,
    )


def _text_html(paragraphs: list[ParagraphView], *, may_code: bool) -> SafeString:
    """The notes as the coding page shows them: a ``<p>`` per paragraph, in it a ``<span>``
    per passage (after a radio button to pick it, for those who code) and in that a
    ``<span>`` per segment. Written here rather than by a template loop three deep: a
    discussion has hundreds of segments, and the loop took most of the page's time."""
    return _joined(
        format_html(
            '<p class="paragraph" data-paragraph="{}">{}</p>',
            paragraph.number,
            _joined(_passage_html(passage, may_code=may_code) for passage in paragraph.passages),
        )
        for paragraph in paragraphs
    )


def _codebook(codes: Iterable[Code]) -> list[tuple[Code, int]]:
    """The codes as a tree in reading order: ``(code, depth)``."""
    children: dict[int | None, list[Code]] = {}
    all_codes = list(codes)
    known = {c.pk for c in all_codes}
    for code in all_codes:
        parent = code.parent_id if code.parent_id in known else None
        children.setdefault(parent, []).append(code)
    ordered: list[tuple[Code, int]] = []

    def visit(parent: int | None, depth: int) -> None:
        for code in sorted(children.get(parent, []), key=lambda c: (c.position, c.name)):
            ordered.append((code, min(depth, 3)))
            visit(code.pk, depth + 1)

    visit(None, 0)
    return ordered


def _coding_context(
    request: AuthenticatedRequest, programme: Programme, source: Source, coder_id: int | None
) -> dict[str, Any]:
    user = request.user
    content = services.source_text_view(user=user, source=source, request=request)
    # Every coder's excerpts of these notes, read once: who coded them (the coder switch),
    # the viewed coder's (the margin, with their code and who proposed and reviewed them)
    # and those proposed for publication (the review list). The source is the one on the
    # page, so its row is not read again per excerpt; the memos and reviews, which only the
    # viewed coder's excerpts show, are read for those alone.
    all_excerpts = list(
        selectors.excerpt_list(user=user, programme=programme)
        .filter(source=source)
        .select_related(None)
        .select_related("code", "coder", "proposed_by", "reviewed_by")
        .defer(*services.UNSHOWN_EXCERPT_TEXT)
        .order_by("start", "end")
    )
    coders = {user.pk: user}
    for excerpt in all_excerpts:
        coders.setdefault(excerpt.coder_id, excerpt.coder)
    viewing = coders.get(coder_id or user.pk, user)
    excerpts = [e for e in all_excerpts if e.coder_id == viewing.pk]
    services.excerpt_texts_read(excerpts)
    flags = list(source.redaction_flags.all())
    passages = selectors.passage_list(user=user, programme=programme).filter(source=source)
    may_code = policies.can(user, "source.code", source)
    may_propose = policies.can(user, "excerpt.propose", source)
    may_approve = policies.can(user, "excerpt.approve", source)
    may_remove_any = policies.can(user, "codebook.manage", programme)
    open_spans = [(f.start, f.end) for f in flags if f.status == RedactionFlag.Status.OPEN]
    slug = programme.slug
    code_url = links.per_object("drivers:code_excerpts", slug=slug)
    review_url = links.per_object("drivers:excerpt_review", slug=slug)
    publish_url = links.per_object("drivers:excerpt_publish", slug=slug)
    delete_url = links.per_object("drivers:excerpt_delete", slug=slug)
    decide_url = links.per_object("drivers:redaction_decide", slug=slug)
    for excerpt in excerpts:
        excerpt.quote = content[excerpt.start : excerpt.end]  # type: ignore[attr-defined]
        excerpt.code_url = code_url(excerpt.code_id)  # type: ignore[attr-defined]
        excerpt.review_url = review_url(excerpt.pk)  # type: ignore[attr-defined]
        excerpt.publish_url = publish_url(excerpt.pk)  # type: ignore[attr-defined]
        excerpt.delete_url = delete_url(excerpt.pk)  # type: ignore[attr-defined]
        excerpt.blocked = any(  # type: ignore[attr-defined]
            s < excerpt.end and excerpt.start < e for s, e in open_spans
        )
        excerpt.may_delete = may_code and (  # type: ignore[attr-defined]
            excerpt.coder_id == user.pk or may_remove_any
        )
        excerpt.may_review = may_approve and _second_person(  # type: ignore[attr-defined]
            user, excerpt
        )
    # Quotes of these notes, by any coder, that this user may approve as the second person.
    to_review = [e for e in all_excerpts if _second_person(user, e)] if may_approve else []
    for excerpt in to_review:
        excerpt.quote = content[excerpt.start : excerpt.end]  # type: ignore[attr-defined]
        excerpt.review_url = review_url(excerpt.pk)  # type: ignore[attr-defined]
    for flag in flags:
        flag.words = content[flag.start : flag.end]  # type: ignore[attr-defined]
        flag.decide_url = decide_url(flag.pk)  # type: ignore[attr-defined]
    # The codebook in its own order, set by _codebook (not the programme's: it is one).
    codebook = _codebook(codebook_selectors.code_list(user=user, programme=programme).order_by())
    for code, _depth in codebook:
        code.excerpts_url = code_url(code.pk)  # type: ignore[attr-defined]
    return {
        "programme": programme,
        "tab": "sources",
        "source": source,
        "text": _text_html(
            _paragraphs(content, passages.order_by("position"), excerpts, flags),
            may_code=may_code,
        ),
        "excerpts": excerpts,
        "flags": flags,
        "flag_kinds": RedactionFlag.Kind.choices,
        "open_flags": sum(1 for f in flags if f.status == RedactionFlag.Status.OPEN),
        "codebook": codebook,
        "coders": sorted(coders.values(), key=lambda u: u.get_username()),
        "viewing": viewing,
        "own": viewing.pk == user.pk,
        "may_code": may_code,
        "may_propose": may_propose,
        "to_review": to_review,
        "may_edit": policies.can(user, "source.edit", source),
        "sex": services.sex_of_group(source),
    }


@login_required
def source_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    source = selectors.source_get(user=request.user, programme=programme, pk=pk)
    _with_profile_labels([source])
    context = _coding_context(request, programme, source, _int(request.GET.get("coder")))
    template = (
        "drivers/coding/source_coding.html" if request.htmx else "drivers/coding/source_detail.html"
    )
    return render(request, template, context)


def _after_coding(
    request: AuthenticatedRequest,
    programme: Programme,
    source: Source,
    *,
    error: ValidationError | PermissionDenied | None = None,
    done: str = "",
) -> HttpResponse:
    """The coding area again (for the script) or the coding page (without it)."""
    coder = _int(request.POST.get("coder"))
    if error is not None:
        message = " ".join(
            error.messages if isinstance(error, ValidationError) else [_("You may not do this.")]
        )
        if request.htmx:
            return HttpResponse(message, status=422, content_type="text/plain; charset=utf-8")
        messages.error(request, message)
    elif done and not request.htmx:
        messages.success(request, done)
    if request.htmx:
        context = _coding_context(request, programme, source, coder)
        context["done"] = done
        return render(request, "drivers/coding/source_coding.html", context)
    url = reverse("drivers:source_detail", kwargs={"slug": programme.slug, "pk": source.pk})
    return redirect(f"{url}?coder={coder}" if coder else url)


@login_required
@require_POST
def excerpt_create(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    source = selectors.source_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "source.code", source):
        raise Http404("No such page.")
    form = ExcerptForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for errors in form.errors.values() for e in errors]
        return _after_coding(request, programme, source, error=ValidationError(errors))
    data = form.cleaned_data
    start, end = data.get("start"), data.get("end")
    if start is None or end is None:
        passage = source.passages.filter(position=data["passage"]).first()
        if passage is None:
            return _after_coding(
                request,
                programme,
                source,
                error=ValidationError(_("There is no such passage in these notes.")),
            )
        start, end = passage.start, passage.end
    try:
        created = services.excerpts_create(
            user=request.user,
            source=source,
            codes=data["code"],
            start=start,
            end=end,
            memo=data.get("memo", ""),
        )
    except ValidationError as error:
        return _after_coding(request, programme, source, error=error)
    return _after_coding(
        request,
        programme,
        source,
        done=_("Coded with {codes}.").format(
            codes=format_list(quoted(e.code.name) for e in created)
        ),
    )


@login_required
@require_POST
def excerpt_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    excerpt = selectors.excerpt_get(user=request.user, programme=programme, pk=pk)
    try:
        services.excerpt_delete(user=request.user, excerpt=excerpt)
    except PermissionDenied as error:
        return _after_coding(request, programme, excerpt.source, error=error)
    return _after_coding(request, programme, excerpt.source, done=_("The coding was removed."))


def _second_person(user: User, excerpt: Excerpt) -> bool:
    """Whether ``user`` could be the second person for this proposed quote."""
    return (
        excerpt.publication == Excerpt.Publication.PROPOSED
        and excerpt.coder_id != user.pk
        and excerpt.proposed_by_id != user.pk
    )


@login_required
@require_POST
def excerpt_publish(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """Propose a quote for publication (``publishable=1``), or take it out of publication
    (``publishable=0``). A proposed quote is not published until a second person approves
    it on :func:`excerpt_review`."""
    programme = _programme(request, slug)
    excerpt = selectors.excerpt_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "excerpt.propose", excerpt.source):
        raise Http404("No such page.")
    propose = request.POST.get("publishable") == "1"
    try:
        if propose:
            services.excerpt_propose(user=request.user, excerpt=excerpt, request=request)
        else:
            services.excerpt_withdraw(user=request.user, excerpt=excerpt, request=request)
    except ValidationError as error:
        return _after_coding(request, programme, excerpt.source, error=error)
    done = (
        _(
            "The quote is proposed for publication. It is published only once another lead "
            "or analyst approves it."
        )
        if propose
        else _("The quote is no longer proposed or published.")
    )
    return _after_coding(request, programme, excerpt.source, done=done)


@login_required
def excerpt_review(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The second person's review of a proposed quote: the quote as it would be published
    (redacted), where it comes from, and the checklist; approve or return it."""
    programme = _programme(request, slug)
    excerpt = selectors.excerpt_get(user=request.user, programme=programme, pk=pk)
    source = excerpt.source
    if not policies.can(request.user, "excerpt.approve", source):
        raise Http404("No such page.")
    form = QuoteReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == QuoteReviewForm.APPROVE:
                services.excerpt_approve(
                    user=request.user,
                    excerpt=excerpt,
                    checklist=data["checklist"],
                    seen=data["seen"],
                    request=request,
                )
                done = _("The quote is approved: it may now be published, as you read it.")
            else:
                services.excerpt_return(
                    user=request.user,
                    excerpt=excerpt,
                    reason=data["reason"],
                    checklist=data["checklist"],
                    request=request,
                )
                done = _("The quote was returned with your reason.")
        except ValidationError as error:
            apply_errors(form, error)
            excerpt.refresh_from_db()
        else:
            messages.success(request, done)
            url = reverse("drivers:source_detail", kwargs={"slug": slug, "pk": source.pk})
            return redirect(f"{url}?coder={excerpt.coder_id}")
    public_text = services.quote_for_review(user=request.user, excerpt=excerpt, request=request)
    _with_profile_labels([source])
    return render(
        request,
        "drivers/coding/excerpt_review.html",
        {
            "programme": programme,
            "tab": "sources",
            "excerpt": excerpt,
            "source": source,
            "public_text": public_text,
            "seen": services.quote_digest(public_text),
            "form": form,
            "proposed": excerpt.publication == Excerpt.Publication.PROPOSED,
            "own_coding": excerpt.coder_id == request.user.pk,
            "own_proposal": excerpt.proposed_by_id == request.user.pk,
        },
    )


@login_required
@require_POST
def redaction_decide(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    flag = selectors.redaction_flag_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "source.code", flag.source):
        raise Http404("No such page.")
    form = RedactionForm(request.POST)
    if not form.is_valid():
        return _after_coding(
            request,
            programme,
            flag.source,
            error=ValidationError(_("Choose redact, keep or check later.")),
        )
    services.redaction_decide(user=request.user, flag=flag, status=form.cleaned_data["status"])
    return _after_coding(request, programme, flag.source, done=_("The decision was saved."))


@login_required
@require_POST
def redaction_add(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """Flag selected words as a personal detail the heuristics missed: redacted at once."""
    programme = _programme(request, slug)
    source = selectors.source_get(user=request.user, programme=programme, pk=pk)
    if not policies.can(request.user, "source.code", source):
        raise Http404("No such page.")
    if not request.POST.get("start") or not request.POST.get("end"):
        return _after_coding(
            request,
            programme,
            source,
            error=ValidationError(_("Select the words to flag in the text first.")),
        )
    try:
        services.redaction_flag_add(
            user=request.user,
            source=source,
            kind=request.POST.get("kind", ""),
            start=request.POST.get("start"),  # type: ignore[arg-type]
            end=request.POST.get("end"),  # type: ignore[arg-type]
        )
    except (ValidationError, PermissionDenied) as error:
        return _after_coding(request, programme, source, error=error)
    return _after_coding(
        request, programme, source, done=_("The words are flagged and will be redacted.")
    )


# ----------------------------------------------------------------------------------------
# Excerpts by code.


@login_required
def code_excerpts(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    code = codebook_selectors.code_get(user=request.user, programme=programme, pk=pk)
    places = place_offer(user=request.user, programme=programme, within="groups")
    filters = CodeExcerptFilter(request.GET or None, places=places)
    chosen: dict[str, Any] = {"place": None, "sex": "", "age_band": ""}
    if filters.is_valid():
        chosen |= {k: v for k, v in filters.cleaned_data.items() if v}
    rows = services.code_excerpt_rows(user=request.user, programme=programme, code=code, **chosen)
    # A page of the quotes: only its excerpts' sources are decrypted, and the audit names
    # what was shown.
    page = page_of(request, rows, size=QUOTES_PER_PAGE)
    quotes = services.quotes_of(
        user=request.user,
        programme=programme,
        code=code,
        excerpts=page.object_list,
        request=request,
    )
    # The quotes of one source share it (and the line saying where they come from).
    sources = {q.excerpt.source_id: q.excerpt.source for q in quotes}
    for source in _with_profile_labels(sources.values()):
        source.quote_line = render_to_string(  # type: ignore[attr-defined]
            "drivers/coding/quote_source.html", {"programme": programme, "source": source}
        )
    return render(
        request,
        "drivers/coding/code_excerpts.html",
        {
            "programme": programme,
            "tab": "sources",
            "code": code,
            "path": _code_path(code),
            "filters": filters,
            "quotes": quotes,
            "page": page,
        },
    )


def _code_path(code: Code) -> list[Code]:
    path = [code]
    seen = {code.pk}
    while (parent := path[0].parent) is not None and parent.pk not in seen:
        seen.add(parent.pk)
        path.insert(0, parent)
    return path


# ----------------------------------------------------------------------------------------
# Agreement between coders.


def _pair(
    request: AuthenticatedRequest, programme: Programme
) -> tuple[list[User], User | None, User | None]:
    coders = agreement_service.coders(user=request.user, programme=programme)
    by_pk = {c.pk: c for c in coders}
    coder_a = by_pk.get(_int(request.GET.get("a")) or 0)
    coder_b = by_pk.get(_int(request.GET.get("b")) or 0)
    if coder_a is None and coder_b is None and len(coders) >= 2:
        coder_a, coder_b = coders[0], coders[1]
    return coders, coder_a, coder_b


def _source_choice(request: AuthenticatedRequest) -> list[int] | None:
    chosen = [pk for value in request.GET.getlist("source") if (pk := _int(value))]
    return chosen or None


@login_required
def agreement(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _programme(request, slug)
    coders, coder_a, coder_b = _pair(request, programme)
    context: dict[str, Any] = {
        "programme": programme,
        "tab": "agreement",
        "coders": coders,
        "coder_a": coder_a,
        "coder_b": coder_b,
    }
    if coder_a is not None and coder_b is not None and coder_a != coder_b:
        chosen = _source_choice(request)
        report = agreement_service.agreement(
            user=request.user,
            programme=programme,
            coder_a=coder_a,
            coder_b=coder_b,
            sources=chosen,
        )
        context |= {
            "report": report,
            "shared": report.shared,
            "chosen_sources": set(chosen or []),
            "query": request.GET.urlencode(),
            "chart": charts.render_svg(agreement_service.kappa_chart(report))
            if any(row.kappa is not None for row in report.rows)
            else None,
            "has_chart": any(row.kappa is not None for row in report.rows),
        }
    elif coder_a is not None and coder_a == coder_b:
        context["same"] = True
    return render(request, "drivers/coding/agreement.html", context)


@login_required
def agreement_code(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug)
    code = codebook_selectors.code_get(user=request.user, programme=programme, pk=pk)
    coders, coder_a, coder_b = _pair(request, programme)
    found = None
    if coder_a is not None and coder_b is not None and coder_a != coder_b:
        found = agreement_service.disagreements(
            user=request.user,
            programme=programme,
            coder_a=coder_a,
            coder_b=coder_b,
            code=code,
            sources=_source_choice(request),
            request=request,
        )
    return render(
        request,
        "drivers/coding/agreement_code.html",
        {
            "programme": programme,
            "tab": "agreement",
            "code": code,
            "coders": coders,
            "coder_a": coder_a,
            "coder_b": coder_b,
            "disagreements": found,
            "query": request.GET.urlencode(),
        },
    )

"""Every write to the qualitative evidence: sources (notes of focus groups, interviews and
workshops), their redaction flags and the excerpts coders make; and the audited reads of
their text.

A source is stored whole or not at all: its text is extracted, split into passages and
searched for personal details before one transaction saves the source, its passages and its
flags with an audit row. Every bad input raises a translated ``ValidationError`` naming the
field and stores nothing.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amniyat.accounts import policies
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.communities.models import Sector
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.services import changed_fields
from amniyat.core.text import format_list, format_number
from amniyat.drivers.coding import selectors
from amniyat.drivers.coding import text as notes
from amniyat.drivers.models import (
    AgeBand,
    Code,
    CodingRevision,
    Excerpt,
    Language,
    Passage,
    RedactionFlag,
    Source,
    new_coding_revision,
)
from amniyat.places.models import Place
from amniyat.places.selectors import programme_place_ids

if TYPE_CHECKING:
    from amniyat.accounts.models import Organisation, Programme, User
    from amniyat.accounts.policies import AnyUser
    from amniyat.fieldwork.models import Assessment

Verb = AuditEvent.Verb
VIEW_TEXT = AuditEvent.Verb.VIEWED_TEXT
Publication = Excerpt.Publication
Check = Excerpt.Check
PROFILE_FIELDS = ("participants", "women", "men", "age_bands", "sectors")
# What a reviewer weighs besides the words ("the speaker's profile is not identifying"):
# approved quotes wait for a second reviewer again when one of these changes.
CONTEXT_FIELDS = frozenset({"place", "held_on", "kind", *PROFILE_FIELDS})
SOURCE_FIELDS = (
    "assessment",
    "title",
    "kind",
    "language",
    "place",
    "held_on",
    *PROFILE_FIELDS,
    "organisation",
)


def coding_changed(*, programme_id: int) -> None:
    """Give the programme's coding revision (:class:`CodingRevision`) a new value, in the
    transaction of the change: every write of its sources, passages, codes, excerpts, the
    assistant's figures or the decisions on its suggestions calls this, and so must any new
    one (``tests/drivers/test_coding_revision.py`` reads the source for writers that do not),
    or the pages that keep what they compute from the coding (the assistant's queue, the
    codes that appear together) show it as it was. A quote's review (proposed, approved,
    returned: its publication and public text), which nothing kept reads, does not."""
    CodingRevision.objects.bulk_create(
        [CodingRevision(programme_id=programme_id, revision=new_coding_revision())],
        update_conflicts=True,
        unique_fields=["programme"],
        update_fields=["revision"],
    )


class Sex:
    """Who took part in a discussion, from its participant profile."""

    WOMEN = "women"  # women only
    MEN = "men"  # men only
    MIXED = "mixed"  # women and men

    @staticmethod
    def choices() -> list[tuple[str, str]]:
        return [
            (Sex.WOMEN, _("women only")),
            (Sex.MEN, _("men only")),
            (Sex.MIXED, _("women and men")),
        ]


def placeholder(kind: str) -> str:
    """What replaces a redacted span in a publishable quote."""
    labels: dict[str, str] = {
        RedactionFlag.Kind.NAME: _("[name]"),
        RedactionFlag.Kind.PHONE: _("[phone]"),
        RedactionFlag.Kind.ADDRESS: _("[address]"),
        RedactionFlag.Kind.EMAIL: _("[email]"),
    }
    return labels.get(kind, _("[removed]"))


# ----------------------------------------------------------------------------------------
# Sources.


def _read_upload(upload: UploadedFile) -> str:
    name = upload.name or "upload"
    # Refused before it is read into memory; and never more than the limit is read.
    notes.check_size(name, upload.size or 0)
    upload.seek(0)
    return notes.extract_text(name, upload.read(notes.MAX_UPLOAD_BYTES + 1))


def _source_text(*, pasted: str | None, upload: UploadedFile | None) -> tuple[str, str]:
    """The source's text and file name, from exactly one of a pasted text and an upload."""
    pasted = pasted if pasted and pasted.strip() else None
    if pasted is not None and upload is not None:
        raise ValidationError(
            {"text": _("Upload a file or paste the notes, not both.")}, code="both"
        )
    if upload is not None:
        try:
            return _read_upload(upload), upload.name or ""
        except ValidationError as error:
            raise ValidationError({"upload": error.messages}) from error
    if pasted is None:
        raise ValidationError(
            {"text": _("Upload the notes as a file or paste their text.")}, code="empty"
        )
    cleaned = notes.clean_text(pasted)
    if len(cleaned) > notes.MAX_TEXT_CHARS:
        raise ValidationError(
            {
                "text": _(
                    "The notes hold {count} characters; one source may hold at most {limit}."
                ).format(
                    count=format_number(len(cleaned)), limit=format_number(notes.MAX_TEXT_CHARS)
                )
            }
        )
    return cleaned, ""


def _check_source(source: Source, user: User | None) -> None:
    """The invariants a source keeps whoever writes it: assessment, place and organisation
    of its programme, a participant profile that adds up, known age bands and sectors."""
    programme = source.programme
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not (source.title or "").strip():
        add("title", _("Give the source a title."))
    elif len(source.title) > 200:
        add("title", _("The title may be at most 200 characters long."))
    if source.kind not in Source.Kind.values:
        add("kind", _("Choose focus group, interview or workshop."))
    if source.language not in Language.values:
        add("language", _("Choose the language the notes are written in."))
    if source.assessment_id is None or source.assessment.programme_id != programme.pk:
        add("assessment", _("Choose an assessment of this programme."))
    if source.place_id is not None and source.place_id not in programme_place_ids(programme):
        add("place", _("Choose a place this programme works in."))
    if source.held_on is not None and source.held_on > timezone.localdate():
        add("held_on", _("The discussion cannot have been held in the future."))
    numbers_ok = True
    for field in ("participants", "women", "men"):
        value = getattr(source, field)
        if not isinstance(value, int) or value < 0 or value > 10_000:
            add(field, _("Enter a whole number from 0 to 10,000."))
            numbers_ok = False
    if numbers_ok and source.women + source.men > source.participants:
        add(
            "participants",
            _("Women and men ({count}) cannot outnumber the participants ({participants}).").format(
                count=format_number(source.women + source.men),
                participants=format_number(source.participants),
            ),
        )
    unknown_bands = set(source.age_bands) - set(AgeBand.values)
    if unknown_bands:
        add(
            "age_bands",
            _("Unknown age band: {values}.").format(values=format_list(sorted(unknown_bands))),
        )
    unknown_sectors = set(source.sectors) - set(Sector.values)
    if unknown_sectors:
        add(
            "sectors",
            _("Unknown sector: {values}.").format(values=format_list(sorted(unknown_sectors))),
        )
    if source.organisation_id is not None and source.organisation_id not in (
        programme.taking_part_ids(with_donor=False)
    ):
        add("organisation", _("This organisation is not a partner of the programme."))
    if user is not None:
        own = policies.organisation_for_new_group(user, programme)
        if own is not None and source.organisation_id != own:
            add("organisation", _("You can only add notes of your own organisation's team."))
    if errors:
        raise ValidationError(errors)


def _place_names(programme: Programme) -> set[str]:
    """The names of the programme's places in every language: words that are not people."""
    names: set[str] = set()
    for place in Place.objects.filter(pk__in=programme_place_ids(programme)).only(
        "name_en", "name_ru", "name_tg", "name_uz"
    ):
        for name in place.names().values():
            names.update(word for word in name.split() if word)
    return names


def _store_text(source: Source, content: str) -> tuple[int, int]:
    """Passages and redaction flags of ``content`` for the (saved) ``source``."""
    passages = [
        Passage(source=source, position=position, paragraph=paragraph, start=start, end=end)
        for position, (paragraph, start, end) in enumerate(notes.split_passages(content))
    ]
    flags = [
        RedactionFlag(source=source, kind=kind, start=start, end=end)
        for kind, start, end in notes.find_personal_details(
            content, not_names=_place_names(source.programme)
        )
    ]
    Passage.objects.bulk_create(passages)
    RedactionFlag.objects.bulk_create(flags)
    return len(passages), len(flags)


def source_create(
    *,
    user: User | None,
    programme: Programme,
    assessment: Assessment | None,
    title: str,
    kind: str,
    language: str,
    text: str | None = None,
    upload: UploadedFile | None = None,
    place: Place | None = None,
    held_on: datetime.date | None = None,
    participants: int = 0,
    women: int = 0,
    men: int = 0,
    age_bands: Iterable[str] = (),
    sectors: Iterable[str] = (),
    organisation: Organisation | None = None,
    is_demo: bool = False,
) -> Source:
    """Store the notes of one discussion: pasted ``text`` or an ``upload`` (.txt, .md,
    .docx, .odt), with its passages and redaction flags. A facilitator's notes always belong
    to their own organisation."""
    if user is not None:
        require(user, "source.create", programme)
        own = policies.organisation_for_new_group(user, programme)
        if own is not None:
            organisation = None
            organisation_id: int | None = own
        else:
            organisation_id = organisation.pk if organisation is not None else None
    else:
        organisation_id = organisation.pk if organisation is not None else None
    source = Source(
        programme=programme,
        assessment=assessment,
        organisation_id=organisation_id,
        title=(title or "").strip(),
        kind=kind,
        language=language,
        place=place,
        held_on=held_on,
        participants=participants,
        women=women,
        men=men,
        age_bands=sorted(set(age_bands)),
        sectors=sorted(set(sectors)),
        is_demo=is_demo,
        created_by=user if user is not None and user.pk else None,
    )
    errors: dict[str, list[str]] = {}
    try:
        _check_source(source, user)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        content, file_name = _source_text(pasted=text, upload=upload)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    source.text = content
    source.file_name = file_name[:255]
    with transaction.atomic():
        source.save()
        passages, flags = _store_text(source, content)
        coding_changed(programme_id=programme.pk)
        audit_record(
            actor=user,
            verb=Verb.CREATED,
            obj=source,
            programme=programme,
            details={"passages": passages, "flags": flags, "file": source.file_name},
        )
    return source


def source_update(
    *,
    user: User,
    source: Source,
    text: str | None = None,
    upload: UploadedFile | None = None,
    **values: Any,
) -> Source:
    """Change a source's description and profile; its text only while nobody has coded it
    (excerpts point into the text by offset)."""
    require(user, "source.edit", source)
    unknown = set(values) - set(SOURCE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "organisation" in values and policies.organisation_for_new_group(user, source.programme):
        values.pop("organisation")  # a facilitator's notes stay their organisation's
    for field in ("age_bands", "sectors"):
        if field in values:
            values[field] = sorted(set(values[field] or ()))
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
    new_text: tuple[str, str] | None = None
    if (text and text.strip()) or upload is not None:
        if source.excerpts.exists():
            raise ValidationError(
                {
                    "upload" if upload is not None else "text": _(
                        "These notes have been coded; their text can no longer be replaced. "
                        "Add the new version as another source."
                    )
                }
            )
        new_text = _source_text(pasted=text, upload=upload)
    changes = changed_fields(source, values)
    if not changes and new_text is None:
        return source
    try:
        _check_source(source, user)
    except ValidationError:
        source.refresh_from_db()
        raise
    with transaction.atomic():
        update_fields = list(changes)
        if new_text is not None:
            source.text, source.file_name = new_text[0], new_text[1][:255]
            update_fields += ["text", "file_name"]
            source.passages.all().delete()
            source.redaction_flags.all().delete()
            _store_text(source, source.text)
            changes["text"] = "replaced"
        source.save(update_fields=update_fields)
        coding_changed(programme_id=source.programme_id)
        details: dict[str, Any] = {"fields": sorted(changes)}
        if set(changes) & CONTEXT_FIELDS:
            # The reviewer judged the quotes against who spoke, where and when.
            approved = source.excerpts.filter(publication=Publication.APPROVED)
            details |= _quotes_follow(approved, withdraw=False)
        audit_record(
            actor=user,
            verb=Verb.UPDATED,
            obj=source,
            programme=source.programme,
            details=details,
        )
    return source


def source_delete(*, user: User, source: Source) -> None:
    """Delete a source with its passages, flags and excerpts (and so its quotes on maps)."""
    require(user, "source.edit", source)
    with transaction.atomic():
        audit_record(
            actor=user,
            verb=Verb.DELETED,
            obj=source,
            programme=source.programme,
            details={"excerpts": source.excerpts.count()},
        )
        programme_id = source.programme_id
        source.delete()
        coding_changed(programme_id=programme_id)


def source_text_view(*, user: User, source: Source, request: HttpRequest | None = None) -> str:
    """The text of ``source``, for a user who may read it; every read is audited."""
    visible = Source.objects.filter(policies.source_scope(user), pk=source.pk).exists()
    if not visible:
        raise Http404("No such source.")
    audit_record(
        actor=user,
        verb=VIEW_TEXT,
        obj=source,
        programme=source.programme,
        request=request,
    )
    return str(source.text)


def source_rows(
    *,
    user: AnyUser,
    programme: Programme,
    assessment: int | None = None,
    place: int | None = None,
    kind: str = "",
    language: str = "",
) -> QuerySet[Source]:
    """The sources the user may read, filtered, with how many excerpts and flags to check."""
    sources = selectors.source_list(user=user, programme=programme)
    if assessment:
        sources = sources.filter(assessment_id=assessment)
    if place:
        sources = sources.filter(place_id__in=_place_and_below(place))
    if kind:
        sources = sources.filter(kind=kind)
    if language:
        sources = sources.filter(language=language)
    # Counted in a subquery each, not by joining both tables (a row per excerpt and flag
    # of a source, made distinct again). In the order of their adding, as the list has
    # always shown them (a grouped query ignored the sources' own ordering).
    excerpts = _count_per_source(Excerpt.objects.all())
    flags = _count_per_source(RedactionFlag.objects.filter(status=RedactionFlag.Status.OPEN))
    counted: QuerySet[Source] = sources.annotate(
        excerpt_count=Coalesce(Subquery(excerpts), 0), open_flags=Coalesce(Subquery(flags), 0)
    )
    return counted.order_by("pk")


def _count_per_source(rows: QuerySet[Any]) -> QuerySet[Any]:
    """How many of ``rows`` belong to the source of the outer query."""
    counted: QuerySet[Any] = (
        rows.filter(source=OuterRef("pk")).order_by().values("source").annotate(count=Count("pk"))
    )
    return counted.values("count")


def _place_and_below(place_id: int) -> set[int]:
    ids = {place_id}
    frontier = {place_id}
    while frontier:
        frontier = (
            set(Place.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
        )
        ids |= frontier
    return ids


# ----------------------------------------------------------------------------------------
# Redaction flags.


def redaction_decide(*, user: User, flag: RedactionFlag, status: str) -> RedactionFlag:
    """Settle a flag: ``redact`` (the span is replaced in published quotes), ``keep`` (not
    personal after all) or ``open`` again. Quotes over the span that are proposed or approved
    follow: their public text is rebuilt and they wait for a second reviewer again; a flag
    opened again withdraws them (they must be proposed again once it is settled)."""
    require(user, "source.code", flag.source)
    if status not in RedactionFlag.Status.values:
        raise ValidationError({"status": _("Choose redact, keep or check later.")})
    if status == flag.status:
        return flag
    old = flag.status
    flag.status = status
    flag.decided_by = user if status != RedactionFlag.Status.OPEN else None
    with transaction.atomic():
        flag.save(update_fields=["status", "decided_by"])
        details: dict[str, Any] = {"source": flag.source_id, "status": [old, status]}
        details |= _quotes_follow(
            _in_review(flag.source, flag.start, flag.end),
            withdraw=status == RedactionFlag.Status.OPEN,
        )
        audit_record(
            actor=user,
            verb=Verb.UPDATED,
            obj=flag,
            programme=flag.source.programme,
            details=details,
        )
    return flag


def _quotes_follow(quotes: QuerySet[Excerpt], *, withdraw: bool) -> dict[str, list[int]]:
    """Proposed or approved quotes whose words (or what they rest on) changed: withdrawn, or
    back to waiting for a second reviewer. What happened, for the audit row."""
    changed = []
    for excerpt in quotes:
        if withdraw:
            _clear_publication(excerpt)
        else:
            _review_again(excerpt)
        excerpt.save(update_fields=REVIEW_FIELDS + PROPOSAL_FIELDS)
        changed.append(excerpt.pk)
    if not changed:
        return {}
    return {"quotes_withdrawn" if withdraw else "quotes_to_review_again": changed}


def redaction_flag_add(
    *, user: User, source: Source, kind: str, start: int, end: int
) -> RedactionFlag:
    """Flag a personal detail the heuristics missed; it is to be redacted at once. Quotes
    over it that are proposed or approved wait for a second reviewer again."""
    require(user, "source.code", source)
    if kind not in RedactionFlag.Kind.values:
        raise ValidationError({"kind": _("Choose name, phone number, address or email.")})
    _check_span(source, start, end)
    with transaction.atomic():
        flag, _created = RedactionFlag.objects.update_or_create(
            source=source,
            start=start,
            end=end,
            defaults={"kind": kind, "status": RedactionFlag.Status.REDACT, "decided_by": user},
        )
        details: dict[str, Any] = {"source": source.pk, "kind": kind}
        details |= _quotes_follow(_in_review(source, start, end), withdraw=False)
        audit_record(
            actor=user,
            verb=Verb.CREATED,
            obj=flag,
            programme=source.programme,
            details=details,
        )
    return flag


# ----------------------------------------------------------------------------------------
# Excerpts.


def _check_span(source: Source, start: Any, end: Any) -> tuple[int, int]:
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError):
        raise ValidationError(
            {"start": _("Select the words to code in the text.")}, code="span"
        ) from None
    length = len(source.text)
    if not 0 <= start < end <= length:
        raise ValidationError(
            {
                "start": _(
                    "The selection {start}–{end} lies outside the text, which has {length} "
                    "characters. Reload the page and select the words again."
                ).format(
                    start=format_number(start),
                    end=format_number(end),
                    length=format_number(length),
                )
            },
            code="span",
        )
    if not source.text[start:end].strip():
        raise ValidationError({"start": _("The selection holds no words.")}, code="span")
    return start, end


def excerpt_create(
    *,
    user: User,
    source: Source,
    code: Code,
    start: int,
    end: int,
    origin: str = Excerpt.Origin.MANUAL,
    memo: str = "",
) -> Excerpt:
    """``user`` applies ``code`` to the characters ``start``–``end`` of ``source``. The span
    is kept exactly as selected (no snapping to words or sentences)."""
    require(user, "source.code", source)
    if code.programme_id != source.programme_id:
        raise ValidationError({"code": _("This code is not in this programme's codebook.")})
    if origin not in Excerpt.Origin.values:
        raise ValidationError({"origin": _("Unknown origin of the coding.")})
    start, end = _check_span(source, start, end)
    excerpt = Excerpt(
        source=source,
        code=code,
        coder=user,
        start=start,
        end=end,
        origin=origin,
        memo=(memo or "").strip(),
    )
    try:
        with transaction.atomic():
            excerpt.save()
            coding_changed(programme_id=source.programme_id)
            audit_record(
                actor=user,
                verb=Verb.CREATED,
                obj=excerpt,
                programme=source.programme,
                details={"source": source.pk, "code": code.pk, "span": [start, end]},
            )
    except IntegrityError:
        raise ValidationError(
            {
                "code": _("You have already applied “{code}” to exactly this text.").format(
                    code=code.name
                )
            },
            code="duplicate",
        ) from None
    return excerpt


def excerpts_create(
    *,
    user: User,
    source: Source,
    codes: Iterable[Code],
    start: int,
    end: int,
    memo: str = "",
) -> list[Excerpt]:
    """Apply several codes to one selection, all or none."""
    codes = list(codes)
    if not codes:
        raise ValidationError({"code": _("Choose at least one code to apply.")})
    with transaction.atomic():
        return [
            excerpt_create(user=user, source=source, code=code, start=start, end=end, memo=memo)
            for code in codes
        ]


def excerpt_delete(*, user: User, excerpt: Excerpt) -> None:
    """A coder removes their own coding; those who manage the codebook may remove anyone's."""
    require(user, "source.code", excerpt.source)
    if excerpt.coder_id != user.pk:
        require(user, "codebook.manage", excerpt.source.programme)
    with transaction.atomic():
        audit_record(
            actor=user,
            verb=Verb.DELETED,
            obj=excerpt,
            programme=excerpt.source.programme,
            details={"source": excerpt.source_id, "code": excerpt.code_id},
        )
        excerpt.delete()
        coding_changed(programme_id=excerpt.source.programme_id)


def open_flags_over(excerpt: Excerpt) -> list[RedactionFlag]:
    return list(
        RedactionFlag.objects.filter(
            source_id=excerpt.source_id,
            status=RedactionFlag.Status.OPEN,
            start__lt=excerpt.end,
            end__gt=excerpt.start,
        )
    )


def _public_text(excerpt: Excerpt) -> str:
    """The quote with every span flagged ``redact`` replaced by a placeholder."""
    quote = str(excerpt.source.text)[excerpt.start : excerpt.end]
    flags = RedactionFlag.objects.filter(
        source_id=excerpt.source_id,
        status=RedactionFlag.Status.REDACT,
        start__lt=excerpt.end,
        end__gt=excerpt.start,
    ).order_by("-start")
    covered_until = len(quote)
    for flag in flags:
        start = max(flag.start, excerpt.start) - excerpt.start
        end = min(flag.end, excerpt.end) - excerpt.start
        end = min(end, covered_until)  # overlapping flags: replace each character once
        if start >= end:
            continue
        quote = quote[:start] + placeholder(flag.kind) + quote[end:]
        covered_until = start
    return quote.strip()


def _refuse_open_flags(excerpt: Excerpt) -> None:
    open_flags = open_flags_over(excerpt)
    if open_flags:
        raise ValidationError(
            ngettext(
                "This quote contains {count} possible personal detail still to check "
                "({kinds}). Decide whether to redact it before publishing.",
                "This quote contains {count} possible personal details still to check "
                "({kinds}). Decide for each whether to redact it before publishing.",
                len(open_flags),
            ).format(
                count=format_number(len(open_flags)),
                kinds=format_list(sorted({str(f.get_kind_display()) for f in open_flags})),
            ),
            code="open_flags",
        )


def quote_digest(public_text: str) -> str:
    """A fingerprint of the quote a reviewer is shown, so an approval is of those words."""
    return hashlib.sha256(public_text.encode()).hexdigest()


REVIEW_FIELDS = ["publication", "public_text", "reviewed_by", "reviewed_at", "review_note"]
PROPOSAL_FIELDS = ["proposed_by", "proposed_at"]


def _clear_publication(excerpt: Excerpt) -> None:
    excerpt.publication = Publication.NONE
    excerpt.public_text = ""
    excerpt.proposed_by = None
    excerpt.proposed_at = None
    excerpt.reviewed_by = None
    excerpt.reviewed_at = None
    excerpt.review_note = ""


def _review_again(excerpt: Excerpt) -> None:
    """The quote's words changed (a redaction decided or added): an approval no longer holds,
    the public text is rebuilt and a second person must approve it again."""
    excerpt.publication = Publication.PROPOSED
    excerpt.public_text = _public_text(excerpt)
    excerpt.reviewed_by = None
    excerpt.reviewed_at = None
    excerpt.review_note = ""


def _in_review(source: Source, start: int, end: int) -> QuerySet[Excerpt]:
    """Quotes of ``source`` over ``start``–``end`` that are proposed or approved."""
    return Excerpt.objects.filter(
        source=source,
        publication__in=[Publication.PROPOSED, Publication.APPROVED],
        start__lt=end,
        end__gt=start,
    )


def excerpt_propose(*, user: User, excerpt: Excerpt, request: HttpRequest | None = None) -> Excerpt:
    """Propose a quote for publication (with flagged details redacted). It is not publishable
    yet: another lead or analyst, neither its coder nor ``user``, must approve it
    (:func:`excerpt_approve`). Refused while a personal-detail flag over it is to be checked."""
    require(user, "excerpt.propose", excerpt.source)
    if excerpt.publication == Publication.PROPOSED:
        raise ValidationError(
            _("This quote is already waiting for a second reviewer."), code="proposed"
        )
    if excerpt.publication == Publication.APPROVED:
        raise ValidationError(_("This quote is already approved for publication."), code="approved")
    _refuse_open_flags(excerpt)
    old = excerpt.publication
    excerpt.publication = Publication.PROPOSED
    excerpt.public_text = _public_text(excerpt)
    excerpt.proposed_by = user
    excerpt.proposed_at = timezone.now()
    excerpt.reviewed_by = None
    excerpt.reviewed_at = None
    excerpt.review_note = ""
    with transaction.atomic():
        excerpt.save(update_fields=REVIEW_FIELDS + PROPOSAL_FIELDS)
        audit_record(
            actor=user,
            verb=Verb.UPDATED,
            obj=excerpt,
            programme=excerpt.source.programme,
            request=request,
            details={
                "publication": [old, Publication.PROPOSED.value],
                "coder": excerpt.coder.get_username(),
            },
        )
    return excerpt


def _proposed_for_review(user: User, excerpt: Excerpt) -> Excerpt:
    """The excerpt's row, locked, if it is waiting for review."""
    require(user, "excerpt.approve", excerpt.source)
    # No select_related: PostgreSQL cannot lock the nullable side of an outer join.
    locked = Excerpt.objects.select_for_update().get(pk=excerpt.pk)
    if locked.publication != Publication.PROPOSED:
        raise ValidationError(
            _("This quote is not waiting for review ({state}).").format(
                state=locked.get_publication_display()
            ),
            code="not_proposed",
        )
    return locked


def _checklist_answers(checklist: Iterable[str]) -> dict[str, bool]:
    ticked = set(checklist)
    return {item.value: item.value in ticked for item in Check}


def excerpt_approve(
    *,
    user: User,
    excerpt: Excerpt,
    checklist: Iterable[str],
    seen: str | None = None,
    request: HttpRequest | None = None,
) -> Excerpt:
    """``user`` — a lead or analyst who neither coded nor proposed the quote — confirms every
    item of the checklist (:class:`Excerpt.Check`) and approves it: only now may it leave the
    team. ``seen`` is the :func:`quote_digest` of the words the reviewer was shown; if they
    changed meanwhile, nothing is approved."""
    answers = _checklist_answers(checklist)
    with transaction.atomic():
        locked = _proposed_for_review(user, excerpt)
        if user.pk == locked.coder_id:
            raise ValidationError(
                _("You coded this quote, so you cannot approve it: another lead or analyst must."),
                code="own_coding",
            )
        if user.pk == locked.proposed_by_id:
            raise ValidationError(
                _(
                    "You proposed this quote, so you cannot approve it: another lead or "
                    "analyst must."
                ),
                code="own_proposal",
            )
        missing = [str(item.label) for item in Check if not answers[item.value]]
        if missing:
            raise ValidationError(
                {
                    "checklist": _(
                        "Confirm every item of the checklist before approving. Not confirmed: "
                        "{items}"
                    ).format(items=" ".join(missing))
                },
                code="checklist",
            )
        _refuse_open_flags(locked)
        public_text = _public_text(locked)
        if seen is not None and seen != quote_digest(public_text):
            raise ValidationError(
                _(
                    "The quote changed while you were reviewing it (a personal detail was "
                    "redacted or kept). Read it again before approving."
                ),
                code="changed",
            )
        _record_review(
            locked,
            user=user,
            state=Publication.APPROVED,
            public_text=public_text,
            note="",
            verb=Verb.PUBLISHED,
            answers=answers,
            request=request,
        )
    return locked


def _record_review(
    locked: Excerpt,
    *,
    user: User,
    state: str,
    public_text: str,
    note: str,
    verb: str,
    answers: dict[str, bool],
    request: HttpRequest | None,
) -> None:
    """Save the second person's decision on a proposed quote, with an audit row naming the
    coder, the proposer and the checklist answers (not the words)."""
    locked.publication = state
    locked.public_text = public_text
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.review_note = note
    locked.save(update_fields=REVIEW_FIELDS)
    audit_record(
        actor=user,
        verb=verb,
        obj=locked,
        programme=locked.source.programme,
        request=request,
        details={
            "publication": [Publication.PROPOSED.value, state],
            "coder": locked.coder.get_username(),
            "proposed_by": locked.proposed_by.get_username() if locked.proposed_by else "",
            "checklist": answers,
        },
    )


def excerpt_return(
    *,
    user: User,
    excerpt: Excerpt,
    reason: str,
    checklist: Iterable[str] = (),
    request: HttpRequest | None = None,
) -> Excerpt:
    """The reviewer sends a proposed quote back with ``reason`` (kept with the excerpt,
    encrypted; the audit row records the decision and the checklist answers, not the words)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Say why the quote is returned, so that it can be put right.")},
            code="reason",
        )
    if len(reason) > 2000:
        raise ValidationError(
            {"reason": _("The reason may be at most 2,000 characters long.")}, code="reason"
        )
    answers = _checklist_answers(checklist)
    with transaction.atomic():
        locked = _proposed_for_review(user, excerpt)
        _record_review(
            locked,
            user=user,
            state=Publication.RETURNED,
            public_text="",
            note=reason,
            verb=Verb.UPDATED,
            answers=answers,
            request=request,
        )
    return locked


def quote_for_review(*, user: User, excerpt: Excerpt, request: HttpRequest | None = None) -> str:
    """The proposed quote as it would be published (redacted), for the second person; the
    reading is audited like every reading of notes' words. Empty unless it is proposed."""
    require(user, "excerpt.approve", excerpt.source)
    if excerpt.publication != Publication.PROPOSED:
        return ""
    text = str(excerpt.public_text)
    audit_record(
        actor=user,
        verb=VIEW_TEXT,
        obj=excerpt.source,
        programme=excerpt.source.programme,
        request=request,
        details={"excerpts": [excerpt.pk], "redacted": True},
    )
    return text


def excerpt_withdraw(
    *, user: User, excerpt: Excerpt, request: HttpRequest | None = None
) -> Excerpt:
    """Take a quote out of publication, whatever its state: it must be proposed and approved
    again before it is published."""
    require(user, "excerpt.propose", excerpt.source)
    old = excerpt.publication
    if old == Publication.NONE:
        return excerpt
    _clear_publication(excerpt)
    with transaction.atomic():
        excerpt.save(update_fields=REVIEW_FIELDS + PROPOSAL_FIELDS)
        audit_record(
            actor=user,
            verb=Verb.UNPUBLISHED if old == Publication.APPROVED else Verb.UPDATED,
            obj=excerpt,
            programme=excerpt.source.programme,
            request=request,
            details={"publication": [old, Publication.NONE.value]},
        )
    return excerpt


# ----------------------------------------------------------------------------------------
# Reading coded excerpts.


# An excerpt's own free text (memo, review, quote as published), decrypted only where shown.
UNSHOWN_EXCERPT_TEXT = ("memo", "public_text", "review_note")


def excerpt_texts_read(excerpts: list[Excerpt]) -> None:
    """Read the memos and reviews of excerpts read without them (:data:`UNSHOWN_EXCERPT_TEXT`),
    in one query, where a page shows them."""
    if not excerpts:
        return
    texts = Excerpt.objects.filter(pk__in=[e.pk for e in excerpts]).values_list(
        "pk", *UNSHOWN_EXCERPT_TEXT
    )
    by_pk = {pk: values for pk, *values in texts}
    for excerpt in excerpts:
        for name, value in zip(UNSHOWN_EXCERPT_TEXT, by_pk[excerpt.pk], strict=True):
            setattr(excerpt, name, value)


@dataclass(frozen=True)
class Quote:
    """An excerpt with its words, as coders read them (not redacted)."""

    excerpt: Excerpt
    text: str


def sex_of_group(source: Source) -> str | None:
    """``women``/``men`` for a discussion of women or men only, ``mixed`` with both, None
    when the profile does not say."""
    if source.participants and source.women == source.participants:
        return Sex.WOMEN
    if source.participants and source.men == source.participants:
        return Sex.MEN
    if source.women and source.men:
        return Sex.MIXED
    return None


def code_and_below(code: Code) -> set[int]:
    """The code and every code under it in the codebook (read once, whatever its depth)."""
    children: dict[int, list[int]] = {}
    codebook = Code.objects.filter(programme_id=code.programme_id).order_by()
    for pk, parent_id in codebook.values_list("pk", "parent_id"):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(pk)
    ids = {code.pk}
    frontier = [code.pk]
    while frontier:
        frontier = [c for pk in frontier for c in children.get(pk, []) if c not in ids]
        ids.update(frontier)
    return ids


# What a list of quotes shows of each excerpt: the span, whether it may be published, the
# code's and the place's names, the coder's username and the source's title and profile.
_NAMES = tuple(f"name_{code}" for code in CONTENT_LANGUAGES)
_QUOTE_LINE = (
    "source_id",
    "code_id",
    "coder_id",
    "start",
    "end",
    "publication",
    *(f"code__{name}" for name in _NAMES),
    "coder__username",
    *(
        f"source__{name}"
        for name in (
            "programme_id",
            "content_language",
            "translations",
            "title",
            "kind",
            "place_id",
            "held_on",
            "language",
            *PROFILE_FIELDS,
        )
    ),
    *(f"source__place__{name}" for name in _NAMES),
)


def code_excerpt_rows(
    *,
    user: User,
    programme: Programme,
    code: Code,
    place: int | None = None,
    sex: str = "",
    age_band: str = "",
    coder: int | None = None,
    with_children: bool = True,
) -> QuerySet[Excerpt]:
    """The excerpts coded with ``code`` (and, by default, the codes under it) in the sources
    the user may read, filtered by the place of the discussion (and the places within it),
    who took part (``women``, ``men``, ``mixed``) and an age band of the participants; newest
    discussion first. Nothing is decrypted: a page of them is given its words by
    :func:`quotes_of`, so a code quoted a thousand times costs its page what the page shows."""
    codes = code_and_below(code) if with_children else {code.pk}
    # The excerpts with what a quote's line shows of their code, coder, source and its
    # place: not their memos and reviews, the source's text (decrypted for a page only) nor
    # the coder's account (its password hash).
    excerpts = (
        selectors.excerpt_list(user=user, programme=programme)
        .filter(code_id__in=codes)
        .only(*_QUOTE_LINE)
        .order_by("-source__held_on", "source_id", "start", "pk")
    )
    if place:
        excerpts = excerpts.filter(source__place_id__in=_place_and_below(place))
    if coder:
        excerpts = excerpts.filter(coder_id=coder)
    if sex or age_band:
        # Who took part is worked out from each source's profile (:func:`sex_of_group`), read
        # once for the programme's sources, not once per excerpt.
        profiles = selectors.source_list(user=user, programme=programme).only("pk", *PROFILE_FIELDS)
        excerpts = excerpts.filter(
            source_id__in=[
                source.pk
                for source in profiles.select_related(None)
                if (not sex or sex_of_group(source) == sex)
                and (not age_band or age_band in (source.age_bands or []))
            ]
        )
    return excerpts


def quotes_of(
    *,
    user: User,
    programme: Programme,
    code: Code,
    excerpts: Iterable[Excerpt],
    request: HttpRequest | None = None,
) -> list[Quote]:
    """The words of ``excerpts`` (of :func:`code_excerpt_rows`), for a reader: the texts of
    their sources are decrypted once each, and only theirs; the read is audited with exactly
    the excerpts and sources shown. The excerpts of one source share one copy of it, so what
    a page works out about a source (its profile in words, its line under each quote) is
    worked out once."""
    shown = list(excerpts)
    sources: dict[int, Source] = {}
    for excerpt in shown:
        excerpt.source = sources.setdefault(excerpt.source_id, excerpt.source)
    texts = dict(Source.objects.filter(pk__in=sources).values_list("pk", "text"))
    quotes = [Quote(e, texts[e.source_id][e.start : e.end]) for e in shown]
    if quotes:
        audit_record(
            actor=user,
            verb=VIEW_TEXT,
            obj=code,
            programme=programme,
            request=request,
            details={
                "excerpts": [q.excerpt.pk for q in quotes],
                "sources": sorted(sources),
            },
        )
    return quotes

"""How far two coders agree: Cohen's kappa per code over the passages of the sources both
coded, and the passages where they disagree, side by side.

A passage counts as coded with code *c* by a coder when any of that coder's excerpts with
*c* overlaps it (shares at least one character). For each code the two coders' decisions
over the *n* shared passages form a 2 × 2 table, and

    κ = (p_o − p_e) / (1 − p_e),

with p_o the share of passages where they agree and p_e the agreement expected by chance
from each coder's own rate (Cohen 1960, *Educational and Psychological Measurement* 20:37).
κ is read on the scale of Landis & Koch (1977, *Biometrics* 33:159): below 0 poor, up to 0.20
slight, 0.40 fair, 0.60 moderate, 0.80 substantial, above almost perfect. When both coders
made the same decision on every passage p_e = 1 and κ is undefined: the table says so instead
of showing NaN.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amniyat.accounts.models import User
from amniyat.audit.services import audit_record
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import selectors
from amniyat.drivers.coding.services import VIEW_TEXT
from amniyat.drivers.models import Code, Source

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser

# (upper bound, key, label): the Landis & Koch bands, in order.
BANDS = (
    (0.0, "poor", gettext_lazy("poor")),
    (0.20, "slight", gettext_lazy("slight")),
    (0.40, "fair", gettext_lazy("fair")),
    (0.60, "moderate", gettext_lazy("moderate")),
    (0.80, "substantial", gettext_lazy("substantial")),
    (1.0, "almost_perfect", gettext_lazy("almost perfect")),
)
BAND_COLOURS = {
    "poor": "#b2182b",
    "slight": "#ef8a62",
    "fair": "#fddbc7",
    "moderate": "#d1e5f0",
    "substantial": "#67a9cf",
    "almost_perfect": "#2166ac",
}


def landis_koch(kappa: float) -> tuple[str, str]:
    """The band ``(key, label)`` of ``kappa``: poor below 0, then up to each upper bound."""
    if kappa < 0:
        return BANDS[0][1], str(BANDS[0][2])
    for upper, key, label in BANDS[1:]:
        if kappa <= upper:
            return key, str(label)
    return BANDS[-1][1], str(BANDS[-1][2])


@dataclass(frozen=True)
class CodeAgreement:
    """The two coders' decisions on one code over the shared passages."""

    code: Code
    passages: int
    both: int
    only_a: int
    only_b: int
    neither: int
    kappa: float | None
    band: str
    band_label: str
    note: str

    @property
    def observed(self) -> float:
        """The share of passages on which the coders agree (p_o)."""
        return (self.both + self.neither) / self.passages if self.passages else 0.0

    @property
    def disagreements(self) -> int:
        return self.only_a + self.only_b


@dataclass
class AgreementReport:
    coder_a: User
    coder_b: User
    sources: list[Source]
    passages: int
    rows: list[CodeAgreement] = field(default_factory=list)
    unused: list[Code] = field(default_factory=list)  # codes neither coder applied
    shared: list[Source] = field(default_factory=list)  # all notes both coded, to choose from


@dataclass(frozen=True)
class Disagreement:
    """A passage one coder coded with the code and the other did not (``passage``: its
    ``pk``, ``source_id``, ``position``, ``start`` and ``end``)."""

    source: Source
    passage: Any
    text: str
    codes_a: list[Code]
    codes_b: list[Code]
    applied_by_a: bool


def coders(*, user: AnyUser, programme: Programme) -> list[User]:
    """Everyone who coded a source this user may read."""
    excerpts = selectors.excerpt_list(user=user, programme=programme)
    return list(
        User.objects.filter(pk__in=excerpts.values("coder_id")).order_by("username").distinct()
    )


SHOWN_SOURCE_FIELDS = ("programme", "title", "content_language", "translations", "language")


def shared_sources(
    *, user: AnyUser, programme: Programme, coder_a: User, coder_b: User
) -> list[Source]:
    """The sources (readable by ``user``) that both coders coded: their titles and language,
    which is what the agreement pages show of them."""
    excerpts = selectors.excerpt_list(user=user, programme=programme)
    by_a = excerpts.filter(coder=coder_a).values("source_id")
    by_b = excerpts.filter(coder=coder_b).values("source_id")
    return list(
        selectors.source_list(user=user, programme=programme)
        .select_related(None)
        .only(*SHOWN_SOURCE_FIELDS)
        .filter(pk__in=by_a)
        .filter(pk__in=by_b)
        .order_by("-held_on", "title")
    )


@dataclass
class _Matrix:
    """Who applied which code to which passage: one boolean column per code. The passages
    are rows of :data:`PASSAGE_FIELDS` (the notes both coded have hundreds)."""

    passages: list[Any]
    codes: list[Code]
    a: Any  # numpy bool array, passages × codes
    b: Any
    by_passage_a: dict[int, set[int]]
    by_passage_b: dict[int, set[int]]


PASSAGE_FIELDS = ("pk", "source_id", "position", "start", "end")


def _matrix(
    *,
    user: AnyUser,
    programme: Programme,
    coder_a: User,
    coder_b: User,
    sources: list[Source],
    codebook: list[Code],
) -> _Matrix:
    source_ids = [s.pk for s in sources]
    passages = list(
        selectors.passage_list(user=user, programme=programme)
        .filter(source_id__in=source_ids)
        .order_by("source_id", "start")
        .values_list(*PASSAGE_FIELDS, named=True)
    )
    starts: dict[int, list[int]] = {}
    rows: dict[int, list[int]] = {}
    for row, passage in enumerate(passages):
        starts.setdefault(passage.source_id, []).append(passage.start)
        rows.setdefault(passage.source_id, []).append(row)
    excerpts = (
        selectors.excerpt_list(user=user, programme=programme)
        .filter(source_id__in=source_ids, coder__in=[coder_a, coder_b])
        .order_by()
        .values_list("source_id", "code_id", "coder_id", "start", "end", named=True)
    )
    applied: dict[int, dict[int, set[int]]] = {coder_a.pk: {}, coder_b.pk: {}}
    for excerpt in excerpts:
        source_starts = starts.get(excerpt.source_id, [])
        source_rows = rows.get(excerpt.source_id, [])
        # The passages overlapping the excerpt: from the last one starting at or before it
        # to the last one starting before its end.
        first = max(bisect.bisect_right(source_starts, excerpt.start) - 1, 0)
        last = bisect.bisect_left(source_starts, excerpt.end)
        for index in range(first, last):
            passage = passages[source_rows[index]]
            if passage.start < excerpt.end and excerpt.start < passage.end:
                applied[excerpt.coder_id].setdefault(source_rows[index], set()).add(excerpt.code_id)
    used = set().union(*applied[coder_a.pk].values(), *applied[coder_b.pk].values())
    codes = [c for c in codebook if c.pk in used]
    column = {code.pk: i for i, code in enumerate(codes)}
    a = np.zeros((len(passages), len(codes)), dtype=bool)
    b = np.zeros((len(passages), len(codes)), dtype=bool)
    for matrix, coder in ((a, coder_a), (b, coder_b)):
        for row, code_ids in applied[coder.pk].items():
            matrix[row, [column[c] for c in code_ids if c in column]] = True
    return _Matrix(
        passages=passages,
        codes=codes,
        a=a,
        b=b,
        by_passage_a={passages[r].pk: c for r, c in applied[coder_a.pk].items()},
        by_passage_b={passages[r].pk: c for r, c in applied[coder_b.pk].items()},
    )


def _chosen_sources(
    *,
    user: AnyUser,
    programme: Programme,
    coder_a: User,
    coder_b: User,
    sources: Iterable[int] | None,
) -> tuple[list[Source], list[Source]]:
    """The notes both coded, and those of them chosen (all, without a choice)."""
    shared = shared_sources(user=user, programme=programme, coder_a=coder_a, coder_b=coder_b)
    if sources is None:
        return shared, shared
    wanted = set(sources)
    return shared, [s for s in shared if s.pk in wanted]


def cohen_kappa(a: Any, b: Any) -> tuple[Any, Any]:
    """Cohen's kappa of every column of the boolean matrices ``a`` and ``b`` (passages ×
    codes), and p_e; kappa is NaN where p_e = 1 (both coders decided the same everywhere)."""
    n = a.shape[0]
    if n == 0:
        empty = np.full(a.shape[1], np.nan)
        return empty, empty
    p_o = (a == b).sum(axis=0) / n
    rate_a = a.sum(axis=0) / n
    rate_b = b.sum(axis=0) / n
    p_e = rate_a * rate_b + (1 - rate_a) * (1 - rate_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(p_e < 1, (p_o - p_e) / np.where(p_e < 1, 1 - p_e, 1), np.nan)
    return kappa, p_e


def agreement(
    *,
    user: AnyUser,
    programme: Programme,
    coder_a: User,
    coder_b: User,
    sources: Iterable[int] | None = None,
) -> AgreementReport:
    """Kappa per code between ``coder_a`` and ``coder_b`` over the sources both coded
    (optionally only those of ``sources``)."""
    shared, chosen = _chosen_sources(
        user=user, programme=programme, coder_a=coder_a, coder_b=coder_b, sources=sources
    )
    report = AgreementReport(
        coder_a=coder_a, coder_b=coder_b, sources=chosen, passages=0, shared=shared
    )
    codebook = list(codebook_selectors.code_list(user=user, programme=programme))
    matrix = _matrix(
        user=user,
        programme=programme,
        coder_a=coder_a,
        coder_b=coder_b,
        sources=chosen,
        codebook=codebook,
    )
    report.passages = len(matrix.passages)
    used = {c.pk for c in matrix.codes}
    report.unused = [c for c in codebook if c.pk not in used]
    if not matrix.codes:
        return report
    kappas, _p_e = cohen_kappa(matrix.a, matrix.b)
    both = (matrix.a & matrix.b).sum(axis=0)
    only_a = (matrix.a & ~matrix.b).sum(axis=0)
    only_b = (~matrix.a & matrix.b).sum(axis=0)
    neither = (~matrix.a & ~matrix.b).sum(axis=0)
    for i, code in enumerate(matrix.codes):
        kappa = None if np.isnan(kappas[i]) else round(float(kappas[i]), 3)
        if kappa is None:
            band, label = "undefined", _("undefined")
            note = _(
                "Both coders applied this code to every passage: they agree throughout, but "
                "kappa is undefined without a passage left uncoded."
            )
        else:
            band, label = landis_koch(kappa)
            if not both[i] and not only_b[i]:
                note = _("Only {coder} applied this code.").format(coder=coder_a.get_username())
            elif not both[i] and not only_a[i]:
                note = _("Only {coder} applied this code.").format(coder=coder_b.get_username())
            elif not only_a[i] and not only_b[i]:
                note = _("Full agreement.")
            else:
                note = ""
        report.rows.append(
            CodeAgreement(
                code=code,
                passages=len(matrix.passages),
                both=int(both[i]),
                only_a=int(only_a[i]),
                only_b=int(only_b[i]),
                neither=int(neither[i]),
                kappa=kappa,
                band=band,
                band_label=label,
                note=note,
            )
        )
    return report


def disagreements(
    *,
    user: User,
    programme: Programme,
    coder_a: User,
    coder_b: User,
    code: Code,
    sources: Iterable[int] | None = None,
    request: HttpRequest | None = None,
) -> list[Disagreement]:
    """The passages where one coder applied ``code`` and the other did not, with every code
    each applied there. The passages' words are shown, so the read is audited."""
    _shared, chosen = _chosen_sources(
        user=user, programme=programme, coder_a=coder_a, coder_b=coder_b, sources=sources
    )
    codebook = list(codebook_selectors.code_list(user=user, programme=programme))
    matrix = _matrix(
        user=user,
        programme=programme,
        coder_a=coder_a,
        coder_b=coder_b,
        sources=chosen,
        codebook=codebook,
    )
    codes = {c.pk: c for c in codebook}
    sources_by_pk = {s.pk: s for s in chosen}
    differing = [
        passage
        for passage in matrix.passages
        if (code.pk in matrix.by_passage_a.get(passage.pk, set()))
        != (code.pk in matrix.by_passage_b.get(passage.pk, set()))
    ]
    # Only the texts of notes with a disagreement are decrypted, each once.
    texts = dict(
        Source.objects.filter(pk__in={p.source_id for p in differing}).values_list("pk", "text")
    )
    found = []
    for passage in differing:
        applied_a = matrix.by_passage_a.get(passage.pk, set())
        applied_b = matrix.by_passage_b.get(passage.pk, set())
        source = sources_by_pk[passage.source_id]
        found.append(
            Disagreement(
                source=source,
                passage=passage,
                text=texts[source.pk][passage.start : passage.end],
                codes_a=[codes[c] for c in sorted(applied_a) if c in codes],
                codes_b=[codes[c] for c in sorted(applied_b) if c in codes],
                applied_by_a=code.pk in applied_a,
            )
        )
    if found:
        audit_record(
            actor=user,
            verb=VIEW_TEXT,
            obj=code,
            programme=programme,
            request=request,
            details={
                "passages": [d.passage.pk for d in found],
                "sources": sorted({d.source.pk for d in found}),
            },
        )
    return found


def kappa_chart(report: AgreementReport) -> dict[str, Any]:
    """A Vega-Lite bar chart of kappa per code, coloured by Landis & Koch band."""
    values = [
        {
            "code": row.code.name,
            "kappa": row.kappa,
            "band": row.band_label,
            "n": row.passages,
        }
        for row in report.rows
        if row.kappa is not None
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 300,  # drawn on the server; the SVG scales to the screen
        "height": {"step": 22},
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "code", "type": "nominal", "sort": "-x", "title": _("Code")},
            "x": {
                "field": "kappa",
                "type": "quantitative",
                "scale": {"domain": [-1, 1]},
                "title": _("Cohen's kappa"),
            },
            "color": {
                "field": "band",
                "type": "nominal",
                "title": _("Agreement"),
                "legend": {"orient": "bottom", "columns": 3},
                "scale": {
                    "domain": [str(label) for _upper, _key, label in BANDS],
                    "range": [BAND_COLOURS[key] for _upper, key, _label in BANDS],
                },
            },
            "tooltip": [
                {"field": "code", "title": _("Code")},
                {"field": "kappa", "title": "κ", "format": ".2f"},
                {"field": "band", "title": _("Agreement")},
                {"field": "n", "title": _("Passages")},
            ],
        },
    }

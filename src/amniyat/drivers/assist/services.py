"""Assisted coding: a model trained on a programme's own coded passages suggests codes for the
passages nobody has coded yet, asks first about those it is least sure of, and applies nothing
until a person accepts.

**Training data.** The unit is a :class:`~amniyat.drivers.models.Passage` (a sentence; its
text is ``source.text[start:end]``). A source counts as *coded* once someone has coded it by
hand or imported codes for it (an excerpt of origin "manual" or "imported"). Every passage of a
coded source is a training example labelled with the codes of the excerpts covering it —
several codes may apply (multi-label), and a passage with none is a negative for every code.
The passages of every other source are *uncoded*: those are what the assistant suggests for.
A suggestion accepted there makes an excerpt of origin "assisted", which does not turn its
source into a coded one: the coder confirmed one code of one sentence, not that the rest of the
discussion has no other. An excerpt *covers* a passage when their overlap is at least half of
the passage or half of the excerpt: an excerpt of several sentences covers each of them, a
phrase inside a sentence covers that sentence, a boundary off by a character covers nothing.

**Model.** Character n-grams within word boundaries, ``TfidfVectorizer(analyzer="char_wb",
ngram_range=(2, 5), sublinear_tf=True, min_df=2)``: they work for Russian, Tajik and Uzbek,
Cyrillic and Latin, with no tokeniser, stemmer or language model — n-grams inside words catch
stems and endings (Tajik "-ҳо", Uzbek "-lar", Russian case endings) and survive spelling
variants and mixed scripts. ``min_df=2`` drops n-grams found in one passage only (names,
typos), ``sublinear_tf`` damps n-grams repeated in one long sentence, and accents are kept
(ӣ, ӯ, қ, ғ, ҳ, ҷ are letters of Tajik). Then one ``LogisticRegression`` per code
(one-vs-rest, written out so that a code without positives in a training split is left out
rather than fitted on one class), liblinear solver, ``class_weight="balanced"`` because every
code is rare (a few per cent of passages) and an unweighted model learns to say "no" to all.
The weighting moves probabilities up: they are scores with 0.5 as the boundary between yes and
no (:data:`THRESHOLD`), not calibrated frequencies. Everything is deterministic
(``random_state``).

**Evaluation.** A quarter of the coded passages (:data:`TEST_SIZE`) is held out *by source*:
all passages of a discussion are either in training or held out, because sentences of one
discussion repeat each other's words and names, and a model tested on sentences whose
neighbours it was trained on looks better than it is on a new discussion. Sources are split by
iterative stratification (Sechidis, Tsoumakas and Vlahavas 2011, "On the stratification of
multi-label data", ECML PKDD), applied to whole sources: the code with the fewest positives left
is placed first, each source holding it going to the side that most lacks that code, so that
every code found in several sources has held-out positives. The model is fitted on the training
side only and per code precision (of the held-out passages it marks, the share that coders
marked) and recall (of the held-out passages coders marked, the share it marks) are counted
there. A code with fewer than :data:`MIN_POSITIVES` coded passages has "not enough examples";
one with fewer than :data:`MIN_HELD_OUT` held-out positives (all its examples in one or two
discussions) cannot be judged; a code is *reliable* when precision ≥ :data:`MIN_PRECISION` and
recall ≥ :data:`MIN_RECALL`. Figures are stored in :class:`CodeQuality`; suggestions are made
only for reliable codes, by a model fitted on all coded passages.

**Suggestions.** For the uncoded passages of sources the user may code, every reliable code
with a probability of at least :data:`ASK_FROM` is a candidate, unless someone already decided
on that passage and code (:class:`Suggestion`) or an excerpt of the code covers it. Passages
are ordered by uncertainty, least sure first: the smallest ``|p − 0.5|`` among their candidates
(uncertainty sampling, Lewis and Gale 1994), so that each answer teaches most.

The model learns from all the programme's coded passages, whichever partner coded them; a
user sees only probabilities for the passages they may code, never another team's text.

**In the background.** Evaluating and fitting take seconds to minutes, longer than a page may
hold a web worker, so pages never do it (:func:`training_ensure`): they show at once what the
last training found and queue a task (``tasks.train_assistant``) that evaluates, fits on all
coded passages and stores, as the task's result, the probabilities of every uncoded passage
(:class:`Trained`). Every web process reads the same stored result, so the next page needs no
model. A training belongs to a state of the coding, its *data key* (:func:`_data_key`: the
codebook, which sources are coded, their excerpts and every passage); a page that finds no
training of the current key queues one, and meanwhile shows the previous one's suggestions.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import TaskResultStatus
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from amniyat.accounts import policies
from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record, audit_records
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.coding.services import VIEW_TEXT, coding_changed, excerpt_create
from amniyat.drivers.models import Code, CodeQuality, Excerpt, Passage, Source, Suggestion
from amniyat.findings import charts

if TYPE_CHECKING:
    import numpy.typing as npt
    from django.http import HttpRequest
    from django_tasks_db.models import DBTaskResultQuerySet
    from scipy.sparse import spmatrix

Verb = AuditEvent.Verb

# A code needs this many coded passages before the assistant learns it at all.
MIN_POSITIVES = 8
# ... and this many held-out passages before its precision and recall mean anything.
MIN_HELD_OUT = 2
# Reliable: of its suggestions at least 60 % right, and it finds at least 40 % of the passages
# coders mark. Below that, showing its suggestions costs coders more than it saves.
MIN_PRECISION = 0.6
MIN_RECALL = 0.4
TEST_SIZE = 0.25
SEED = 0
# The probability from which the model says yes (see "Model" above).
THRESHOLD = 0.5
# Below this the model says no firmly enough not to ask.
ASK_FROM = 0.3
# Inverse regularisation strength of the logistic regressions. Less than scikit-learn's
# default (1.0): rows are unit-length tf-idf vectors over thousands of n-grams, so each weight
# is small, and with the few hundred coded passages of a programme C=1 shrinks the model until
# rarer codes are missed (low recall) although its suggestions would be right.
REGULARISATION_C = 4.0
CODED_ORIGINS = (Excerpt.Origin.MANUAL, Excerpt.Origin.IMPORTED)
CHART_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


class Reliability(models.TextChoices):
    RELIABLE = "reliable", gettext_lazy("reliable")
    POOR = "poor", gettext_lazy("hidden: too many mistakes")
    NOT_HELD_OUT = "not_held_out", gettext_lazy("hidden: too few held-out examples")
    FEW_EXAMPLES = "few_examples", gettext_lazy("not enough examples")
    NOT_EVALUATED = "not_evaluated", gettext_lazy("not evaluated yet")


class TooLittleCodedData(Exception):
    """The programme's coded passages cannot train or test a model; the message says why, in
    the language active when it is read (``kind`` and ``count`` are kept with a training)."""

    def __init__(self, kind: str, count: int = 0) -> None:
        super().__init__(kind, count)
        self.kind = kind
        self.count = count

    def __str__(self) -> str:
        return problem_message(self.kind, self.count)


def problem_message(kind: str, count: int = 0) -> str:
    """Why the assistant cannot learn, in the active language."""
    if kind == "few_sources":
        return _(
            "Too little coded data: code at least two sources by hand "
            "(now {count}) so that one can be held out."
        ).format(count=count)
    if kind == "few_examples":
        return _(
            "Too little coded data: no code has been applied to {minimum} passages yet; "
            "the assistant needs at least that many examples of a code to learn it."
        ).format(minimum=MIN_POSITIVES)
    if kind == "one_source":
        return _("At least two coded sources are needed to hold one out.")
    return _("The coded passages have too little text to learn from.")


@dataclass(frozen=True)
class CodeFigures:
    """How well the assistant predicts one code on held-out passages."""

    code: Code
    trained_on: int  # training passages with the code
    support: int  # held-out passages with the code
    precision: float | None  # None: it marked no held-out passage (or was not trained)
    recall: float | None  # None: no held-out passage has the code
    status: Reliability

    @property
    def reliable(self) -> bool:
        return self.status == Reliability.RELIABLE


@dataclass(frozen=True)
class Evaluation:
    programme_id: int
    test_size: float
    seed: int
    training_passage_ids: frozenset[int]
    held_out_passage_ids: frozenset[int]
    training_source_ids: frozenset[int]
    held_out_source_ids: frozenset[int]
    codes: list[CodeFigures]

    @property
    def reliable_codes(self) -> list[Code]:
        return [figures.code for figures in self.codes if figures.reliable]


@dataclass(frozen=True)
class SuggestedCode:
    code: Code
    probability: float


@dataclass(frozen=True)
class PassageSuggestion:
    """An uncoded passage, in its paragraph, with the codes the assistant asks about."""

    passage: Passage
    before: str  # the paragraph up to the passage
    text: str
    after: str  # the paragraph after the passage
    codes: list[SuggestedCode]
    margin: float  # the smallest |p − 0.5| among the codes: 0 is a coin toss


def reliability(
    *, trained_on: int, support: int, precision: float | None, recall: float | None
) -> Reliability:
    """The one rule deciding whether a code's suggestions are shown (see the module's text)."""
    if trained_on + support < MIN_POSITIVES:
        return Reliability.FEW_EXAMPLES
    if support < MIN_HELD_OUT:
        return Reliability.NOT_HELD_OUT
    if (
        precision is not None
        and recall is not None
        and precision >= MIN_PRECISION
        and recall >= MIN_RECALL
    ):
        return Reliability.RELIABLE
    return Reliability.POOR


# The coded data ---------------------------------------------------------------------------


@dataclass
class _CodedData:
    """The programme's coded passages and their labels, without their text (loaded only when
    a model has to be fitted)."""

    code_ids: list[int]
    coded_source_ids: frozenset[int]
    passage_ids: npt.NDArray[np.int64]
    passage_source_ids: npt.NDArray[np.int64]
    spans: list[tuple[int, int]]
    labels: npt.NDArray[np.bool_]  # passages × codes

    def positives(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.labels.sum(axis=0), dtype=np.int64)

    def texts(self) -> list[str]:
        texts = dict(Source.objects.filter(pk__in=self.coded_source_ids).values_list("pk", "text"))
        return [
            texts[source_id][start:end]
            for source_id, (start, end) in zip(
                self.passage_source_ids.tolist(), self.spans, strict=True
            )
        ]


def covers(excerpt: tuple[int, int], passage: tuple[int, int]) -> bool:
    """Whether an excerpt span covers a passage span (overlap ≥ half of either)."""
    overlap = min(excerpt[1], passage[1]) - max(excerpt[0], passage[0])
    if overlap <= 0:
        return False
    return 2 * overlap >= passage[1] - passage[0] or 2 * overlap >= excerpt[1] - excerpt[0]


def _coded_source_ids(programme: Programme) -> frozenset[int]:
    return frozenset(
        Excerpt.objects.filter(source__programme=programme, origin__in=CODED_ORIGINS)
        .order_by()  # DISTINCT on the ids alone, without the ordering's joins
        .values_list("source_id", flat=True)
        .distinct()
    )


def _coded_data(programme: Programme) -> _CodedData:
    code_ids = list(
        Code.objects.filter(programme=programme).order_by("pk").values_list("pk", flat=True)
    )
    coded = _coded_source_ids(programme)
    passages = list(
        Passage.objects.filter(source_id__in=coded)
        .order_by("source_id", "position")
        .values_list("pk", "source_id", "start", "end")
    )
    excerpts = list(
        Excerpt.objects.filter(source_id__in=coded)
        .order_by("pk")
        .values_list("pk", "source_id", "code_id", "start", "end")
    )
    by_source: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for _pk, source_id, code_id, start, end in excerpts:
        by_source[source_id].append((code_id, start, end))
    column = {code_id: j for j, code_id in enumerate(code_ids)}
    labels = np.zeros((len(passages), len(code_ids)), dtype=np.bool_)
    for i, (_pk, source_id, start, end) in enumerate(passages):
        for code_id, e_start, e_end in by_source.get(source_id, ()):
            if covers((e_start, e_end), (start, end)):
                labels[i, column[code_id]] = True
    return _CodedData(
        code_ids=code_ids,
        coded_source_ids=coded,
        passage_ids=np.array([p[0] for p in passages], dtype=np.int64),
        passage_source_ids=np.array([p[1] for p in passages], dtype=np.int64),
        spans=[(p[2], p[3]) for p in passages],
        labels=labels,
    )


# Splitting and fitting --------------------------------------------------------------------


def split_by_source(
    groups: npt.NDArray[np.int64],
    labels: npt.NDArray[np.bool_],
    *,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
) -> npt.NDArray[np.bool_]:
    """Which passages to hold out (True), keeping each source (``groups``) whole and each code
    (column of ``labels``) in both parts where it can: iterative stratification of sources."""
    rng = np.random.default_rng(seed)
    sources, which = np.unique(groups, return_inverse=True)
    n_sources = len(sources)
    if n_sources < 2:
        raise TooLittleCodedData("one_source")
    sizes = np.bincount(which, minlength=n_sources).astype(np.float64)
    counts = np.zeros((n_sources, labels.shape[1]), dtype=np.float64)
    np.add.at(counts, which, labels.astype(np.float64))
    ratios = np.array([1.0 - test_size, test_size])
    wanted_size = ratios * len(groups)  # [training, held out]
    wanted = np.outer(ratios, counts.sum(axis=0))
    side = np.full(n_sources, -1)
    order = rng.permutation(n_sources)

    def place(source: int, candidates: npt.NDArray[np.int64]) -> None:
        if candidates.size > 1:
            by_size = wanted_size[candidates]
            candidates = candidates[by_size == by_size.max()]
        chosen = int(candidates[0] if candidates.size == 1 else rng.choice(candidates))
        side[source] = chosen
        wanted[chosen] -= counts[source]
        wanted_size[chosen] -= sizes[source]

    while (side < 0).any():
        left = counts[side < 0].sum(axis=0)
        present = np.flatnonzero(left > 0)
        if present.size == 0:
            for source in order:
                if side[source] < 0:
                    place(int(source), np.array([0, 1]))
            break
        code = present[np.argmin(left[present])]
        for source in order:
            if side[source] < 0 and counts[source, code] > 0:
                need = wanted[:, code]
                place(int(source), np.flatnonzero(need == need.max()))
    # Both sides need a source: move the smallest one across if one side came out empty.
    for empty in (1, 0):
        if not (side == empty).any():
            others = np.flatnonzero(side != empty)
            side[others[np.argmin(sizes[others])]] = empty
    return np.asarray(side[which] == 1, dtype=np.bool_)


@dataclass
class _Model:
    """A vectoriser and one classifier per code (codes never seen as positive have none)."""

    vectorizer: TfidfVectorizer
    classifiers: dict[int, LogisticRegression]

    def probabilities(self, texts: Sequence[str]) -> dict[int, npt.NDArray[np.float64]]:
        """Per code the probability of each text (see the module's text for what it means)."""
        if not texts or not self.classifiers:
            return {code_id: np.zeros(len(texts)) for code_id in self.classifiers}
        features = self.vectorizer.transform(texts)
        return {
            code_id: _positive_probability(classifier, features)
            for code_id, classifier in self.classifiers.items()
        }


def _positive_probability(
    classifier: LogisticRegression, features: spmatrix
) -> npt.NDArray[np.float64]:
    column = list(classifier.classes_).index(True)
    return np.asarray(classifier.predict_proba(features)[:, column], dtype=np.float64)


def _fit(
    texts: Sequence[str], labels: npt.NDArray[np.bool_], code_ids: Sequence[int], *, seed: int
) -> _Model:
    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        sublinear_tf=True,
        min_df=2,
        dtype=np.float32,
    )
    try:
        features = vectorizer.fit_transform(texts)
    except ValueError:  # no n-gram in two passages: nothing to learn from
        raise TooLittleCodedData("little_text") from None
    classifiers: dict[int, LogisticRegression] = {}
    for j, code_id in enumerate(code_ids):
        y = labels[:, j]
        if not y.any() or y.all():
            continue
        classifier = LogisticRegression(
            solver="liblinear",
            class_weight="balanced",
            C=REGULARISATION_C,
            random_state=seed,
        )
        classifiers[code_id] = classifier.fit(features, y)
    return _Model(vectorizer=vectorizer, classifiers=classifiers)


# Evaluation -------------------------------------------------------------------------------


def _check_enough(data: _CodedData) -> None:
    if len(data.coded_source_ids) < 2:
        raise TooLittleCodedData("few_sources", len(data.coded_source_ids))
    if not (data.positives() >= MIN_POSITIVES).any():
        raise TooLittleCodedData("few_examples")


def evaluate(
    *,
    programme: Programme,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    acting_user: User | None = None,
    actor_label: str = "",
    request: HttpRequest | None = None,
) -> Evaluation:
    """Hold out a share of the coded sources, fit on the rest, count per code precision and
    recall on the held-out passages, and store the figures (:class:`CodeQuality`).

    Raises :class:`TooLittleCodedData` (nothing stored) when there is nothing to evaluate."""
    if not 0.05 <= test_size <= 0.5:
        raise ValueError(_("The held-out share must be between 0.05 and 0.5."))
    if acting_user is not None:
        require(acting_user, "codebook.view", programme)
    return _evaluate(
        programme=programme,
        data=_coded_data(programme),
        test_size=test_size,
        seed=seed,
        acting_user=acting_user,
        actor_label=actor_label,
        request=request,
    )


def _evaluate(
    *,
    programme: Programme,
    data: _CodedData,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    acting_user: User | None = None,
    actor_label: str = "",
    request: HttpRequest | None = None,
) -> Evaluation:
    _check_enough(data)
    codes = {code.pk: code for code in Code.objects.filter(programme=programme)}
    held_out = split_by_source(data.passage_source_ids, data.labels, test_size=test_size, seed=seed)
    training = ~held_out
    positives = data.positives()
    learnable = [j for j, count in enumerate(positives) if count >= MIN_POSITIVES]
    texts = data.texts()
    model = _fit(
        [text for text, kept in zip(texts, training.tolist(), strict=True) if kept],
        data.labels[training][:, learnable],
        [data.code_ids[j] for j in learnable],
        seed=seed,
    )
    found = model.probabilities(
        [text for text, kept in zip(texts, held_out.tolist(), strict=True) if kept]
    )
    figures: list[CodeFigures] = []
    for j, code_id in enumerate(data.code_ids):
        truth = data.labels[held_out, j]
        trained_on, support = int(data.labels[training, j].sum()), int(truth.sum())
        precision: float | None = None
        recall: float | None = None
        if code_id in found:
            marked = found[code_id] >= THRESHOLD
            hits = int((marked & truth).sum())
            precision = hits / int(marked.sum()) if marked.any() else None
            recall = hits / support if support else None
        elif j in learnable and support:
            recall = 0.0  # learnable, but all its examples were held out: it finds none
        figures.append(
            CodeFigures(
                code=codes[code_id],
                trained_on=trained_on,
                support=support,
                precision=precision,
                recall=recall,
                status=reliability(
                    trained_on=trained_on, support=support, precision=precision, recall=recall
                ),
            )
        )
    evaluation = Evaluation(
        programme_id=programme.pk,
        test_size=test_size,
        seed=seed,
        training_passage_ids=frozenset(data.passage_ids[training].tolist()),
        held_out_passage_ids=frozenset(data.passage_ids[held_out].tolist()),
        training_source_ids=frozenset(data.passage_source_ids[training].tolist()),
        held_out_source_ids=frozenset(data.passage_source_ids[held_out].tolist()),
        codes=figures,
    )
    with transaction.atomic():
        for row in figures:
            CodeQuality.objects.update_or_create(
                code=row.code,
                defaults={
                    "precision": row.precision,
                    "recall": row.recall,
                    "support": row.support,
                    "trained_on": row.trained_on,
                },
            )
        coding_changed(programme_id=programme.pk)
        if acting_user is not None or actor_label:
            audit_record(
                actor=acting_user,
                actor_label=actor_label,
                verb=Verb.UPDATED,
                obj=programme,
                programme=programme,
                request=request,
                details={
                    "assisted_coding": "evaluated",
                    "held_out_passages": len(evaluation.held_out_passage_ids),
                    "test_size": test_size,
                    "seed": seed,
                    "reliable_codes": [code.key for code in evaluation.reliable_codes],
                },
            )
    return evaluation


def code_quality(*, user: User, programme: Programme) -> list[CodeFigures]:
    """The stored figures for every code of the codebook, as the user may read it."""
    if not policies.can(user, "codebook.view", programme):
        return []
    return _stored_figures(codebook_selectors.code_list(user=user, programme=programme))


def _stored_figures(codes: models.QuerySet[Code]) -> list[CodeFigures]:
    rows = []
    for code in codes.select_related("quality"):
        quality: CodeQuality | None = getattr(code, "quality", None)
        if quality is None:
            rows.append(CodeFigures(code, 0, 0, None, None, Reliability.NOT_EVALUATED))
            continue
        rows.append(
            CodeFigures(
                code=code,
                trained_on=quality.trained_on,
                support=quality.support,
                precision=quality.precision,
                recall=quality.recall,
                status=reliability(
                    trained_on=quality.trained_on,
                    support=quality.support,
                    precision=quality.precision,
                    recall=quality.recall,
                ),
            )
        )
    return rows


def quality_chart(rows: list[CodeFigures]) -> dict[str, Any]:
    """Vega-Lite: precision and recall per evaluated code, with the thresholds; codes whose
    suggestions are hidden are drawn pale. The same numbers are in the table beside it."""
    precision, recall = _("precision"), _("recall")
    values: list[dict[str, Any]] = []
    for row in rows:
        if row.status in (Reliability.FEW_EXAMPLES, Reliability.NOT_EVALUATED):
            continue
        label = f"{row.code.name} ({row.code.key})"
        shown = _("shown") if row.reliable else _("hidden")
        for measure, value in ((precision, row.precision), (recall, row.recall)):
            values.append(
                {"code": label, "measure": measure, "value": value or 0.0, "suggestions": shown}
            )
    return {
        "$schema": CHART_SCHEMA,
        "width": 300,  # drawn on the server; the SVG scales to the screen
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "code", "type": "nominal", "title": None, "axis": {"labelLimit": 220}},
            "yOffset": {"field": "measure"},
            "x": {
                "field": "value",
                "type": "quantitative",
                "scale": {"domain": [0, 1]},
                "axis": {"format": ".0%"},
                "title": None,
            },
            "color": {
                "field": "measure",
                "type": "nominal",
                "scale": {"domain": [precision, recall], "range": ["#1f5c4a", "#d08c2b"]},
                "legend": {"orient": "top", "title": None},
            },
            "opacity": {
                "field": "suggestions",
                "type": "nominal",
                "scale": {"domain": [_("shown"), _("hidden")], "range": [1.0, 0.35]},
                "legend": {"orient": "top", "title": _("suggestions")},
            },
            "tooltip": [
                {"field": "code"},
                {"field": "measure"},
                {"field": "value", "format": ".0%"},
                {"field": "suggestions"},
            ],
        },
    }


def evaluated(rows: Iterable[CodeFigures]) -> bool:
    return any(row.status != Reliability.NOT_EVALUATED for row in rows)


def quality_charts_draw(programme: Programme) -> None:
    """Draw the chart of the stored figures in every interface language, where the pages
    find drawings (:func:`amniyat.findings.charts.render_svg` keeps them on disk, shared by
    the web workers). Drawing one takes about half a second: done after a training, in the
    task, the page shows the chart at once. A chart whose labels changed since (a code
    renamed) is drawn by the page that first needs it."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            rows = _stored_figures(Code.objects.filter(programme=programme))
            if not evaluated(rows):
                return
            charts.render_svg(quality_chart(rows))


def _figures_forget(programme: Programme) -> None:
    """Delete the programme's figures per code (the coding they were of is gone): the
    coding revision changes only if there were any, as a page that finds too little coded
    data calls this on every request."""
    with transaction.atomic():
        deleted, _by_model = CodeQuality.objects.filter(code__programme=programme).delete()
        if deleted:
            coding_changed(programme_id=programme.pk)


def _reliable_codes(programme: Programme) -> dict[int, Code]:
    reliable = {}
    for quality in CodeQuality.objects.filter(code__programme=programme).select_related("code"):
        status = reliability(
            trained_on=quality.trained_on,
            support=quality.support,
            precision=quality.precision,
            recall=quality.recall,
        )
        if status == Reliability.RELIABLE:
            reliable[quality.code_id] = quality.code
    return reliable


# Training, in the background --------------------------------------------------------------

# Results read from the task store, parsed once per process: run id (or, trained here, the
# programme and data key) → what the training found. Small: a few programmes' latest runs.
_TRAINED: OrderedDict[str, Trained] = OrderedDict()
_TRAINED_KEPT = 16
_LOCK = threading.Lock()
# How many uncoded passages are scored at once (bounds the memory of the feature matrix).
SCORE_BATCH = 2000


class TrainingStatus(StrEnum):
    READY = "ready"  # the last training is of the coding as it stands
    QUEUED = "queued"  # a training is waiting for a worker
    RUNNING = "running"  # a worker is training
    FAILED = "failed"  # the training of the coding as it stands failed
    TOO_LITTLE = "too_little"  # fewer than two coded sources: nothing to train on


@dataclass(frozen=True)
class Trained:
    """What one training found, stored as its task's result: for every passage of the sources
    uncoded at the time, the probability of each learnt code where it is at least
    :data:`ASK_FROM`; or why nothing could be learnt; and the size of its held-out test."""

    data_key: str
    probabilities: dict[int, dict[int, float]]  # passage id → code id → probability
    problem: tuple[str, int] | None = None  # (kind, count) of :class:`TooLittleCodedData`
    held_out_passages: int = 0
    held_out_sources: int = 0
    reliable_codes: int = 0
    codes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "data_key": self.data_key,
            "probabilities": {
                str(passage): {str(code): p for code, p in codes.items()}
                for passage, codes in self.probabilities.items()
            },
            "problem": list(self.problem) if self.problem else None,
            "held_out_passages": self.held_out_passages,
            "held_out_sources": self.held_out_sources,
            "reliable_codes": self.reliable_codes,
            "codes": self.codes,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Trained:
        problem = value.get("problem")
        return cls(
            data_key=str(value.get("data_key", "")),
            probabilities={
                int(passage): {int(code): float(p) for code, p in codes.items()}
                for passage, codes in (value.get("probabilities") or {}).items()
            },
            problem=(str(problem[0]), int(problem[1])) if problem else None,
            held_out_passages=int(value.get("held_out_passages", 0)),
            held_out_sources=int(value.get("held_out_sources", 0)),
            reliable_codes=int(value.get("reliable_codes", 0)),
            codes=int(value.get("codes", 0)),
        )

    @property
    def summary(self) -> str:
        """The evaluation in one sentence ("" when nothing could be learnt)."""
        if self.problem:
            return ""
        return _(
            "Evaluated on {held_out} held-out passages of {sources} sources; "
            "suggestions are shown for {reliable} of {codes} codes."
        ).format(
            held_out=self.held_out_passages,
            sources=self.held_out_sources,
            reliable=self.reliable_codes,
            codes=self.codes,
        )


@dataclass(frozen=True)
class Training:
    """What a page can say at once about a programme's assistant."""

    status: TrainingStatus
    # The latest finished training: of the coding as it stands if ``current``, else of
    # earlier coding (its suggestions are still worth asking about meanwhile).
    trained: Trained | None
    current: bool
    coded_source_ids: frozenset[int]
    problem: str = ""  # why there are no suggestions, translated; "" if there is no such reason
    # The coding revision read before anything else (``coding_selectors.coding_revision``):
    # what the page ranks is kept under it. None: read it again.
    coding_revision: str | None = None

    @property
    def pending(self) -> bool:
        return self.status in (TrainingStatus.QUEUED, TrainingStatus.RUNNING)


def assist_cache_clear() -> None:
    """Forget the trainings parsed in this process (tests; after restoring a backup)."""
    with _LOCK:
        _TRAINED.clear()


def _remember(key: str, trained: Trained) -> Trained:
    with _LOCK:
        _TRAINED[key] = trained
        _TRAINED.move_to_end(key)
        while len(_TRAINED) > _TRAINED_KEPT:
            _TRAINED.popitem(last=False)
    return trained


def _recalled(key: str) -> Trained | None:
    with _LOCK:
        trained = _TRAINED.get(key)
        if trained is not None:
            _TRAINED.move_to_end(key)
        return trained


def _data_key(programme: Programme) -> tuple[str, frozenset[int]]:
    """A digest of everything a training depends on, and the coded sources: the codebook,
    which sources are coded and their excerpts (what it learns from) and every passage (what
    it scores). Accepting a suggestion does not change it (the source stays uncoded), so
    deciding does not retrain; coding a source by hand, importing coding, adding or removing
    a source or a code does. The rows are summed up by the database (:func:`_fingerprint`),
    not read: a national programme has tens of thousands of passages."""
    coded = _coded_source_ids(programme)
    fingerprints = (
        _fingerprint(Code.objects.filter(programme=programme), "pk"),
        _fingerprint(
            Passage.objects.filter(source__programme=programme), "pk", "source_id", "start", "end"
        ),
        _fingerprint(
            Excerpt.objects.filter(source_id__in=coded),
            "pk",
            "source_id",
            "code_id",
            "start",
            "end",
        ),
    )
    digest = hashlib.sha256(repr((sorted(coded), fingerprints)).encode())
    return digest.hexdigest(), coded


def _data_key_kept(programme: Programme, revision: str) -> tuple[str, frozenset[int]]:
    """:func:`_data_key`, summed up once per state of the coding (``revision``, read by the
    caller first): every page of the assistant needs it, and it reads every passage."""
    return coding_selectors.coding_kept(
        "assist-data-key",
        programme=programme,
        revision=revision,
        parts=(),
        compute=lambda: _data_key(programme),
    )


# A row's fields folded into one number below 2**31 - 1 (a prime), base a prime above any
# offset: every product stays within 64 bits, on SQLite as on PostgreSQL.
_FOLD_MODULUS = 2**31 - 1
_FOLD_BASE = 1_000_003


def _fingerprint(rows: models.QuerySet[Any], *fields: str) -> tuple[int, int, int]:
    """How many rows, the largest id, and the sum of each row's fields folded together: a
    row added, removed or changed (its offsets, its code) changes it. The fold is written as
    SQL of column names and constants (an expression tree of Django's takes ~1 ms to compile
    per level), with the % operator (Django's Mod() is a Python function per row on SQLite)."""
    meta = rows.model._meta
    quote = connection.ops.quote_name
    folded = "0"
    for name in fields:
        field = meta.pk if name == "pk" else meta.get_field(name)
        column = f"{quote(meta.db_table)}.{quote(field.column)}"
        # %% : the statement goes through the driver's parameter formatting.
        folded = f"(({folded}) * {_FOLD_BASE} + {column} %% {_FOLD_MODULUS}) %% {_FOLD_MODULUS}"
    # Column names and constants only: nothing a person typed reaches this SQL.
    summed = RawSQL(folded, (), output_field=models.BigIntegerField())  # noqa: S611
    found = rows.order_by().aggregate(
        count=models.Count("pk"), last=models.Max("pk"), folded=models.Sum(summed)
    )
    return (found["count"], found["last"] or 0, found["folded"] or 0)


def _runs(programme: Programme) -> DBTaskResultQuerySet:
    """The programme's trainings, as the task store (django-tasks' database backend) keeps
    them: queued, running, finished (their result a :class:`Trained`) or failed."""
    from django_tasks_db.models import DBTaskResult

    from amniyat.drivers.assist.tasks import train_assistant

    return DBTaskResult.objects.filter(
        task_path=train_assistant.module_path, args_kwargs__kwargs__programme_id=programme.pk
    )


def _trained_of_run(run_id: str) -> Trained | None:
    trained = _recalled(f"run:{run_id}")
    if trained is None:
        from django_tasks_db.models import DBTaskResult

        value = DBTaskResult.objects.filter(pk=run_id).values_list("return_value", flat=True)
        stored = value.first()
        if not isinstance(stored, dict):
            return None
        trained = _remember(f"run:{run_id}", Trained.from_json(stored))
    return trained


def _latest_trained(programme: Programme, key: str) -> tuple[Trained | None, bool]:
    """The latest finished training, one of the coding ``key`` if there is; and whether it
    is of that coding."""
    done = _runs(programme).filter(status=TaskResultStatus.SUCCESSFUL, return_value__isnull=False)
    # The latest of that coding if there is one, else the latest: one query for both.
    of_key = models.Case(
        models.When(args_kwargs__kwargs__data_key=key, then=models.Value(1)),
        default=models.Value(0),
        output_field=models.IntegerField(),
    )
    found = (
        done.annotate(of_key=of_key)
        .order_by("-of_key", "-finished_at")
        .values_list("pk", "of_key")
        .first()
    )
    if found is None:
        return None, False
    run_id, current = found
    if (trained := _trained_of_run(str(run_id))) is not None:
        return trained, bool(current)
    if not current:
        return None, False
    # That training's result is gone: the latest, as when there is none of that coding.
    latest = done.order_by("-finished_at").values_list("pk", flat=True).first()
    if latest is not None and (trained := _trained_of_run(str(latest))) is not None:
        return trained, False
    return None, False


def training_ensure(
    *, programme: Programme, acting_user: User | None = None, again: bool = False
) -> Training:
    """What is known now about the programme's assistant, never training here: the latest
    training, and whether one of the coding as it stands is done, under way or failed. Queues
    one (once per state of the coding) if there is none; ``again`` queues one even so
    (Re-evaluate, audited as done by ``acting_user``)."""
    revision = coding_selectors.coding_revision(programme)
    key, coded = _data_key_kept(programme, revision)
    if len(coded) < 2:
        # Nothing to train on; figures of coding that is no longer there go.
        _figures_forget(programme)
        return Training(
            status=TrainingStatus.TOO_LITTLE,
            trained=None,
            current=False,
            coded_source_ids=coded,
            problem=problem_message("few_sources", len(coded)),
            coding_revision=revision,
        )
    newest = (
        _runs(programme)
        .filter(args_kwargs__kwargs__data_key=key)
        .order_by("-enqueued_at")
        .values_list("status", flat=True)
        .first()
    )
    trained, current = _latest_trained(programme, key)
    pending = newest in (TaskResultStatus.READY, TaskResultStatus.RUNNING)
    # A run that ended without a result of its own (another had trained the same coding) no
    # longer counts once that one's result has been pruned.
    lost = newest == TaskResultStatus.SUCCESSFUL and not current
    if newest is None or lost or (again and not pending):
        _enqueue_training(programme=programme, data_key=key, acting_user=acting_user)
        status = TrainingStatus.QUEUED
    else:
        status = {
            TaskResultStatus.READY: TrainingStatus.QUEUED,
            TaskResultStatus.RUNNING: TrainingStatus.RUNNING,
            TaskResultStatus.FAILED: TrainingStatus.FAILED,
        }.get(TaskResultStatus(newest), TrainingStatus.READY)
    problem = ""
    if trained is not None and current and trained.problem:
        problem = problem_message(*trained.problem)
    return Training(
        status=status,
        trained=trained,
        current=current,
        coded_source_ids=coded,
        problem=problem,
        coding_revision=revision,
    )


def _enqueue_training(*, programme: Programme, data_key: str, acting_user: User | None) -> None:
    from amniyat.drivers.assist.tasks import train_assistant

    programme_id = programme.pk
    acting_user_id = acting_user.pk if acting_user is not None else None
    transaction.on_commit(
        lambda: train_assistant.enqueue(
            programme_id=programme_id, data_key=data_key, acting_user_id=acting_user_id
        )
    )


def assistant_train(
    *, programme_id: int, data_key: str = "", acting_user_id: int | None = None
) -> dict[str, Any] | None:
    """A training run (the task's work): :func:`train`, its result as the task stores it.
    None, storing nothing, when the programme is gone or another run already trained the
    same coding (two pages queued it at once)."""
    programme = Programme.objects.filter(pk=programme_id).first()
    if programme is None:
        return None
    acting_user = None
    if acting_user_id is not None:
        acting_user = User.objects.get(pk=acting_user_id)
    elif (
        data_key
        and _runs(programme)
        .filter(
            args_kwargs__kwargs__data_key=data_key,
            status=TaskResultStatus.SUCCESSFUL,
            return_value__isnull=False,
        )
        .exists()
    ):
        return None
    trained = train(programme=programme, acting_user=acting_user)
    quality_charts_draw(programme)
    return trained.to_json()


def train(*, programme: Programme, acting_user: User | None = None) -> Trained:
    """Evaluate on held-out sources (storing the figures, :func:`evaluate`), fit on all coded
    passages and score every uncoded passage. Seconds to minutes: for tasks and commands,
    never for a request. ``acting_user`` (who asked to re-evaluate) is checked and audited."""
    if acting_user is not None:
        require(acting_user, "codebook.view", programme)
    key, _coded = _data_key(programme)
    data = _coded_data(programme)
    try:
        evaluation = _evaluate(programme=programme, data=data, acting_user=acting_user)
        learnable = [j for j, count in enumerate(data.positives()) if count >= MIN_POSITIVES]
        model = _fit(
            data.texts(),
            data.labels[:, learnable],
            [data.code_ids[j] for j in learnable],
            seed=SEED,
        )
    except TooLittleCodedData as problem:
        _figures_forget(programme)
        return Trained(data_key=key, probabilities={}, problem=(problem.kind, problem.count))
    return Trained(
        data_key=key,
        probabilities=_uncoded_probabilities(programme, data.coded_source_ids, model),
        held_out_passages=len(evaluation.held_out_passage_ids),
        held_out_sources=len(evaluation.held_out_source_ids),
        reliable_codes=len(evaluation.reliable_codes),
        codes=len(evaluation.codes),
    )


def _uncoded_probabilities(
    programme: Programme, coded_source_ids: frozenset[int], model: _Model
) -> dict[int, dict[int, float]]:
    """Per passage of every uncoded source, the codes with a probability of at least
    :data:`ASK_FROM` (rounded to 4 places: what the page shows and sends back)."""
    texts = dict(
        Source.objects.filter(programme=programme)
        .exclude(pk__in=coded_source_ids)
        .values_list("pk", "text")
    )
    passages = list(
        Passage.objects.filter(source_id__in=list(texts))
        .order_by("pk")
        .values_list("pk", "source_id", "start", "end")
    )
    found: dict[int, dict[int, float]] = {}
    for first in range(0, len(passages), SCORE_BATCH):
        batch = passages[first : first + SCORE_BATCH]
        scores = model.probabilities(
            [texts[source][start:end] for _pk, source, start, end in batch]
        )
        for i, (pk, _source, _start, _end) in enumerate(batch):
            likely = {
                code_id: round(float(p[i]), 4) for code_id, p in scores.items() if p[i] >= ASK_FROM
            }
            if likely:
                found[pk] = likely
    return found


def _trained_now(programme: Programme, key: str) -> Trained:
    """The training of the coding ``key``: stored by a task, kept in this process, or done here
    and now (for :func:`suggestions_for`; pages use :func:`training_ensure`)."""
    trained, current = _latest_trained(programme, key)
    if trained is not None and current:
        return trained
    remembered = _recalled(f"here:{programme.pk}:{key}")
    if remembered is not None:
        return remembered
    return _remember(f"here:{programme.pk}:{key}", train(programme=programme))


# Suggestions ------------------------------------------------------------------------------


def suggestions_for(
    *, user: User, programme: Programme, source: Source | None = None, limit: int = 20
) -> list[PassageSuggestion]:
    """Uncoded passages of the sources the user may code, with the reliable codes the model is
    unsure or sure of, least sure first; nothing is applied. Trains here and now if the coding
    changed since the last training (the command line and tests; pages use :func:`queue_for`,
    which never trains)."""
    revision = coding_selectors.coding_revision(programme)
    key, coded = _data_key_kept(programme, revision)
    return _suggestions(
        user=user,
        programme=programme,
        trained=_trained_now(programme, key),
        coded_source_ids=coded,
        revision=revision,
        source=source,
        limit=limit,
    )


def queue_for(
    *,
    user: User,
    programme: Programme,
    training: Training,
    source: Source | None = None,
    limit: int = 20,
) -> list[PassageSuggestion]:
    """The passages a page asks about, from what the last training found (see
    :func:`suggestions_for`): none while nothing has been trained yet."""
    if training.trained is None:
        return []
    return _suggestions(
        user=user,
        programme=programme,
        trained=training.trained,
        coded_source_ids=training.coded_source_ids,
        revision=(
            coding_selectors.coding_revision(programme)
            if training.coding_revision is None
            else training.coding_revision
        ),
        source=source,
        limit=limit,
    )


@dataclass(frozen=True)
class _Ranked:
    """A passage to ask about, as it is kept between requests: ids, offsets and scores only
    (its text is read, decrypted and audited, only when it is shown)."""

    passage_id: int
    source_id: int
    paragraph: tuple[int, int]  # the offsets of its paragraph in the source
    codes: tuple[tuple[int, float], ...]  # (code id, probability), most probable first
    margin: float


def _suggestions(
    *,
    user: User,
    programme: Programme,
    trained: Trained,
    coded_source_ids: frozenset[int],
    revision: str,
    source: Source | None,
    limit: int,
) -> list[PassageSuggestion]:
    if not trained.probabilities:
        return []
    # Sources coded since the training are training data now, not asked about.
    sources_qs = coding_selectors.source_list(user=user, programme=programme).exclude(
        pk__in=coded_source_ids
    )
    if source is not None:
        sources_qs = sources_qs.filter(pk=source.pk)
    passage_rows = coding_selectors.passage_list(user=user, programme=programme)

    def rank() -> list[_Ranked]:
        return _ranked(
            user=user,
            programme=programme,
            trained=trained,
            sources_qs=sources_qs,
            passage_rows=passage_rows,
            limit=limit,
        )

    scope = coding_selectors.coding_scope(user, programme)
    if scope is None:
        ranked = rank()
    else:
        # Ranked once per state of the coding, training, scope and question; every request
        # reads only the passages it shows.
        ranked = coding_selectors.coding_kept(
            "assist-queue",
            programme=programme,
            revision=revision,
            parts=(scope, trained.data_key, source.pk if source else "", max(limit, 0)),
            compute=rank,
        )
    if not ranked:
        return []
    codes = Code.objects.in_bulk({code_id for row in ranked for code_id, _p in row.codes})
    shown_passages = passage_rows.in_bulk([row.passage_id for row in ranked])
    sources = {
        s.pk: s for s in sources_qs.filter(pk__in={row.source_id for row in ranked}).defer(None)
    }
    suggestions = []
    for row in ranked:
        passage = shown_passages.get(row.passage_id)
        if passage is None or row.source_id not in sources:
            continue
        passage.source = sources[row.source_id]
        text = passage.source.text
        start, end = row.paragraph
        suggestions.append(
            PassageSuggestion(
                passage=passage,
                before=text[start : passage.start],
                text=text[passage.start : passage.end],
                after=text[passage.end : end],
                codes=[
                    SuggestedCode(code=codes[code_id], probability=probability)
                    for code_id, probability in row.codes
                    if code_id in codes
                ],
                margin=row.margin,
            )
        )
    return suggestions


def _ranked(
    *,
    user: User,
    programme: Programme,
    trained: Trained,
    sources_qs: models.QuerySet[Source],
    passage_rows: models.QuerySet[Passage],
    limit: int,
) -> list[_Ranked]:
    """The ``limit`` passages to ask about first, ranked from passage offsets alone."""
    found = trained.probabilities
    reliable = _reliable_codes(programme)
    if not reliable:
        return []
    sources = [s.pk for s in sources_qs if policies.can(user, "source.code", s)]
    if not sources:
        return []
    passages = list(
        passage_rows.filter(source_id__in=sources)
        .order_by("source_id", "position")
        .values_list("pk", "source_id", "position", "paragraph", "start", "end")
    )
    covered: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for source_id, code_id, start, end in Excerpt.objects.filter(source_id__in=sources).values_list(
        "source_id", "code_id", "start", "end"
    ):
        covered[source_id].append((code_id, start, end))
    decided = set(
        Suggestion.objects.filter(passage__source_id__in=sources).values_list(
            "passage_id", "code_id"
        )
    )
    ranked: list[tuple[float, int, int, int, int, list[SuggestedCode]]] = []
    for pk, source_id, position, paragraph, start, end in passages:
        probabilities = found.get(pk)
        if not probabilities:
            continue
        done = {
            code_id
            for code_id, e_start, e_end in covered.get(source_id, ())
            if covers((e_start, e_end), (start, end))
        }
        candidates = [
            SuggestedCode(code=code, probability=probabilities[code_id])
            for code_id, code in reliable.items()
            if probabilities.get(code_id, 0.0) >= ASK_FROM
            and code_id not in done
            and (pk, code_id) not in decided
        ]
        if not candidates:
            continue
        candidates.sort(key=lambda c: (-c.probability, c.code.key))
        margin = min(abs(c.probability - THRESHOLD) for c in candidates)
        ranked.append((margin, source_id, position, pk, paragraph, candidates))
    ranked.sort(key=lambda row: row[:3])
    paragraphs: dict[tuple[int, int], tuple[int, int]] = {}
    for _pk, source_id, _position, paragraph, start, end in passages:
        first, last = paragraphs.get((source_id, paragraph), (start, end))
        paragraphs[(source_id, paragraph)] = (min(first, start), max(last, end))
    return [
        _Ranked(
            passage_id=pk,
            source_id=source_id,
            paragraph=paragraphs[(source_id, paragraph)],
            codes=tuple((c.code.pk, c.probability) for c in candidates),
            margin=margin,
        )
        for margin, source_id, _position, pk, paragraph, candidates in ranked[: max(limit, 0)]
    ]


def suggestions_viewed(
    *,
    user: User,
    programme: Programme,
    suggestions: Iterable[PassageSuggestion],
    request: HttpRequest | None = None,
) -> None:
    """Audit that the user read these passages (one row per source)."""
    by_source: dict[int, list[PassageSuggestion]] = defaultdict(list)
    for suggestion in suggestions:
        by_source[suggestion.passage.source_id].append(suggestion)
    audit_records(
        actor=user,
        verb=VIEW_TEXT,
        objects=[
            (
                shown[0].passage.source,
                {"for": "assisted coding", "passages": [s.passage.pk for s in shown]},
            )
            for shown in by_source.values()
        ],
        programme=programme,
        request=request,
    )


def _decision_check(*, user: User, passage: Passage, code: Code, probability: float) -> Source:
    source = passage.source
    require(user, "source.code", source)
    if code.programme_id != source.programme_id:
        raise ValidationError({"code": _("This code is not in the programme's codebook.")})
    if not 0.0 <= probability <= 1.0:
        raise ValidationError({"probability": _("A probability lies between 0 and 1.")})
    if Suggestion.objects.filter(passage=passage, code=code).exists():
        raise ValidationError(_("Someone has already decided on this suggestion."))
    for start, end in Excerpt.objects.filter(source=source, code=code).values_list("start", "end"):
        if covers((start, end), (passage.start, passage.end)):
            raise ValidationError(_("This passage already has this code."))
    return source


def _record_decision(
    *,
    user: User,
    passage: Passage,
    code: Code,
    probability: float,
    decision: str,
    programme: Programme,
    request: HttpRequest | None,
    **details: Any,
) -> Suggestion:
    """Remember a person's decision on a suggestion (so it is not offered again), audited."""
    suggestion = Suggestion.objects.create(
        passage=passage, code=code, probability=probability, decision=decision, decided_by=user
    )
    coding_changed(programme_id=programme.pk)
    audit_record(
        actor=user,
        verb=Verb.CREATED,
        obj=suggestion,
        programme=programme,
        request=request,
        details={
            "decision": str(decision),
            "code": code.key,
            **details,
            "probability": round(probability, 3),
        },
    )
    return suggestion


def suggestion_accept(
    *,
    user: User,
    passage: Passage,
    code: Code,
    probability: float,
    request: HttpRequest | None = None,
) -> Excerpt:
    """A person accepts a suggestion: the passage becomes an excerpt with the code, coded by
    them (origin "assisted"), and the decision is remembered."""
    try:
        with transaction.atomic():
            source = _decision_check(user=user, passage=passage, code=code, probability=probability)
            excerpt = excerpt_create(
                user=user,
                source=source,
                code=code,
                start=passage.start,
                end=passage.end,
                origin=Excerpt.Origin.ASSISTED,
            )
            _record_decision(
                user=user,
                passage=passage,
                code=code,
                probability=probability,
                decision=Suggestion.Decision.ACCEPTED,
                programme=source.programme,
                request=request,
                excerpt=excerpt.pk,
            )
    except IntegrityError:  # the same decision, sent twice at once
        raise ValidationError(_("Someone has already decided on this suggestion.")) from None
    return excerpt


def suggestion_reject(
    *,
    user: User,
    passage: Passage,
    code: Code,
    probability: float,
    request: HttpRequest | None = None,
) -> Suggestion:
    """A person rejects a suggestion: nothing is coded and the pair is not asked again."""
    try:
        with transaction.atomic():
            source = _decision_check(user=user, passage=passage, code=code, probability=probability)
            suggestion = _record_decision(
                user=user,
                passage=passage,
                code=code,
                probability=probability,
                decision=Suggestion.Decision.REJECTED,
                programme=source.programme,
                request=request,
            )
    except IntegrityError:
        raise ValidationError(_("Someone has already decided on this suggestion.")) from None
    return suggestion

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
Fitted models are kept in memory per programme (:data:`_MODELS`), keyed by a fingerprint of the
coded data, so pages reuse them until the coding changes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from amniyat.accounts import policies
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.coding.services import VIEW_TEXT, excerpt_create
from amniyat.drivers.models import Code, CodeQuality, Excerpt, Passage, Source, Suggestion

if TYPE_CHECKING:
    import numpy.typing as npt
    from django.http import HttpRequest
    from scipy.sparse import spmatrix

    from amniyat.accounts.models import Programme, User

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


class Reliability(models.TextChoices):
    RELIABLE = "reliable", gettext_lazy("reliable")
    POOR = "poor", gettext_lazy("hidden: too many mistakes")
    NOT_HELD_OUT = "not_held_out", gettext_lazy("hidden: too few held-out examples")
    FEW_EXAMPLES = "few_examples", gettext_lazy("not enough examples")
    NOT_EVALUATED = "not_evaluated", gettext_lazy("not evaluated yet")


class TooLittleCodedData(Exception):
    """The programme's coded passages cannot train or test a model; the message says why."""


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
    fingerprint: str

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
    digest = hashlib.sha256()
    digest.update(repr((code_ids, passages, excerpts)).encode())
    return _CodedData(
        code_ids=code_ids,
        coded_source_ids=coded,
        passage_ids=np.array([p[0] for p in passages], dtype=np.int64),
        passage_source_ids=np.array([p[1] for p in passages], dtype=np.int64),
        spans=[(p[2], p[3]) for p in passages],
        labels=labels,
        fingerprint=digest.hexdigest(),
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
        raise TooLittleCodedData(_("At least two coded sources are needed to hold one out."))
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
    fingerprint: str = ""
    # passage id → (its text, its probabilities for every classified code), reused by pages.
    predicted: dict[int, tuple[str, dict[int, float]]] = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> dict[int, npt.NDArray[np.float64]]:
        """Per code the probability of each text (see the module's text for what it means)."""
        if not texts or not self.classifiers:
            return {code_id: np.zeros(len(texts)) for code_id in self.classifiers}
        features = self.vectorizer.transform(texts)
        return {
            code_id: _positive_probability(classifier, features)
            for code_id, classifier in self.classifiers.items()
        }

    def passage_probabilities(
        self, passages: Sequence[tuple[int, str]]
    ) -> dict[int, dict[int, float]]:
        """``{passage id: {code id: p}}``, computing only passages not seen before."""
        missing = [(pk, text) for pk, text in passages if self.predicted.get(pk, ("",))[0] != text]
        if missing:
            found = self.probabilities([text for _pk, text in missing])
            for i, (pk, text) in enumerate(missing):
                self.predicted[pk] = (text, {code_id: float(p[i]) for code_id, p in found.items()})
        return {pk: self.predicted[pk][1] for pk, _text in passages}


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
        raise TooLittleCodedData(
            _("The coded passages have too little text to learn from.")
        ) from None
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

# programme id → fingerprint of the coded data its stored figures were computed from.
_EVALUATED: dict[int, str] = {}
_MODELS: OrderedDict[int, _Model] = OrderedDict()
_MODELS_KEPT = 8
_LOCK = threading.Lock()


def assist_cache_clear() -> None:
    """Forget fitted models and which figures are current (tests; after restoring a backup)."""
    with _LOCK:
        _MODELS.clear()
        _EVALUATED.clear()


def _check_enough(data: _CodedData) -> None:
    if len(data.coded_source_ids) < 2:
        raise TooLittleCodedData(
            _(
                "Too little coded data: code at least two sources by hand "
                "(now {count}) so that one can be held out."
            ).format(count=len(data.coded_source_ids))
        )
    if not (data.positives() >= MIN_POSITIVES).any():
        raise TooLittleCodedData(
            _(
                "Too little coded data: no code has been applied to {minimum} passages yet; "
                "the assistant needs at least that many examples of a code to learn it."
            ).format(minimum=MIN_POSITIVES)
        )


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
    with _LOCK:
        _EVALUATED[programme.pk] = data.fingerprint
    return evaluation


def evaluation_ensure(*, programme: Programme, data: _CodedData | None = None) -> str | None:
    """Evaluate again if the coding changed since the stored figures were computed (in this
    process). Returns why no evaluation is possible, or None."""
    data = data or _coded_data(programme)
    stored = CodeQuality.objects.filter(code__programme=programme)
    with _LOCK:
        current = _EVALUATED.get(programme.pk) == data.fingerprint
    if current and stored.exists():
        return None
    try:
        _evaluate(programme=programme, data=data)
    except TooLittleCodedData as problem:
        stored.delete()  # figures of coding that is no longer there
        with _LOCK:
            _EVALUATED.pop(programme.pk, None)
        return str(problem)
    return None


def code_quality(*, user: User, programme: Programme) -> list[CodeFigures]:
    """The stored figures for every code of the codebook, as the user may read it."""
    if not policies.can(user, "codebook.view", programme):
        return []
    rows = []
    for code in codebook_selectors.code_list(user=user, programme=programme).select_related(
        "quality"
    ):
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


def _model(programme: Programme, data: _CodedData) -> _Model | None:
    """The model fitted on all the programme's coded passages, fitted again when they change."""
    with _LOCK:
        model = _MODELS.get(programme.pk)
        if model is not None and model.fingerprint == data.fingerprint:
            _MODELS.move_to_end(programme.pk)
            return model
    learnable = [j for j, count in enumerate(data.positives()) if count >= MIN_POSITIVES]
    if not learnable:
        return None
    try:
        model = _fit(
            data.texts(),
            data.labels[:, learnable],
            [data.code_ids[j] for j in learnable],
            seed=SEED,
        )
    except TooLittleCodedData:
        return None
    model.fingerprint = data.fingerprint
    with _LOCK:
        _MODELS[programme.pk] = model
        while len(_MODELS) > _MODELS_KEPT:
            _MODELS.popitem(last=False)
    return model


# Suggestions ------------------------------------------------------------------------------


def suggestions_for(
    *, user: User, programme: Programme, source: Source | None = None, limit: int = 20
) -> list[PassageSuggestion]:
    """Uncoded passages of the sources the user may code, with the reliable codes the model is
    unsure or sure of, least sure first; nothing is applied."""
    data = _coded_data(programme)
    evaluation_ensure(programme=programme, data=data)
    reliable = _reliable_codes(programme)
    if not reliable:
        return []
    model = _model(programme, data)
    if model is None:
        return []
    sources_qs = coding_selectors.source_list(user=user, programme=programme).exclude(
        pk__in=data.coded_source_ids
    )
    if source is not None:
        sources_qs = sources_qs.filter(pk=source.pk)
    sources = {s.pk: s for s in sources_qs.defer(None) if policies.can(user, "source.code", s)}
    if not sources:
        return []
    passages = list(
        coding_selectors.passage_list(user=user, programme=programme)
        .filter(source_id__in=list(sources))
        .order_by("source_id", "position")
    )
    covered: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for source_id, code_id, start, end in Excerpt.objects.filter(
        source_id__in=list(sources)
    ).values_list("source_id", "code_id", "start", "end"):
        covered[source_id].append((code_id, start, end))
    decided = set(
        Suggestion.objects.filter(passage__source_id__in=list(sources)).values_list(
            "passage_id", "code_id"
        )
    )
    texts = {p.pk: sources[p.source_id].text[p.start : p.end] for p in passages}
    found = model.passage_probabilities([(p.pk, texts[p.pk]) for p in passages])
    ranked: list[tuple[float, int, int, Passage, list[SuggestedCode]]] = []
    for passage in passages:
        done = {
            code_id
            for code_id, start, end in covered.get(passage.source_id, ())
            if covers((start, end), (passage.start, passage.end))
        }
        candidates = [
            SuggestedCode(code=code, probability=found[passage.pk][code_id])
            for code_id, code in reliable.items()
            if code_id in found[passage.pk]
            and found[passage.pk][code_id] >= ASK_FROM
            and code_id not in done
            and (passage.pk, code_id) not in decided
        ]
        if not candidates:
            continue
        candidates.sort(key=lambda c: (-c.probability, c.code.key))
        margin = min(abs(c.probability - THRESHOLD) for c in candidates)
        ranked.append((margin, passage.source_id, passage.position, passage, candidates))
    ranked.sort(key=lambda row: row[:3])
    paragraphs: dict[tuple[int, int], tuple[int, int]] = {}
    for p in passages:
        key = (p.source_id, p.paragraph)
        start, end = paragraphs.get(key, (p.start, p.end))
        paragraphs[key] = (min(start, p.start), max(end, p.end))
    suggestions = []
    for margin, _source_id, _position, passage, candidates in ranked[: max(limit, 0)]:
        text = sources[passage.source_id].text
        start, end = paragraphs[(passage.source_id, passage.paragraph)]
        passage.source = sources[passage.source_id]
        suggestions.append(
            PassageSuggestion(
                passage=passage,
                before=text[start : passage.start],
                text=text[passage.start : passage.end],
                after=text[passage.end : end],
                codes=candidates,
                margin=margin,
            )
        )
    return suggestions


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
    for shown in by_source.values():
        audit_record(
            actor=user,
            verb=VIEW_TEXT,
            obj=shown[0].passage.source,
            programme=programme,
            request=request,
            details={"for": "assisted coding", "passages": [s.passage.pk for s in shown]},
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

"""What the findings pages show of a findings record, made once per record, data state and
language, and kept in the web process: the indicators' views, every card and the table of
them all, each indicator's district chart, the gender gaps, the baseline → endline comparison
of two records, and the files their tables download as.

A record's numbers never change once computed (a new computation is a new ``computed_at``),
so the record's id and ``computed_at`` and the reader's language say all that these depend on
(with the titles a page gives its tables, in the keys where they are used). What reaches
these functions was found through a selector that took the reader: whoever asks for a
record's pieces may see that record. Nothing here is personal or free text: findings are
aggregated and disclosure-controlled before they are stored.

They are kept as objects in the process, not in Django's cache, because unpickling them costs
about what making them does (the demo's cards: 15 ms a request), and reading the stored
results costs 7 ms (half a megabyte of JSON), so pages load their findings without them
(`Findings.results` deferred) and only what is missing here reads them. Each piece is kept an
hour at most, as the cache kept them, so that a place renamed shows within the hour. Nobody
may change what is handed out: a page puts its notes and download links on copies
(`dataclasses.replace`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.core.kept import Kept
from amniyat.core.tables import table_response
from amniyat.findings import charts, present
from amniyat.findings.models import Findings
from amniyat.stats import Estimate, compare_independent

if TYPE_CHECKING:
    from amniyat.findings.tables import PageTable

T = TypeVar("T")

# Records' results (about 2 MB each in memory); what the pages make of a record in a language
# (a few hundred kilobytes, and each district map drawn, about 50 kB); comparisons; files a
# download writes (up to 200 kB each).
_RESULTS = Kept(size=8)
_SHOWN = Kept(size=24)
_CHANGES = Kept(size=16)
_FILES = Kept(size=32)


def forget() -> None:
    """Empty what this process keeps (tests: ids and times repeat between databases)."""
    for kept in (_RESULTS, _SHOWN, _CHANGES, _FILES):
        kept.clear()


def _state(findings: Findings) -> tuple[int, float]:
    return (findings.pk, findings.computed_at.timestamp() if findings.computed_at else 0.0)


def results_of(findings: Findings) -> dict[str, Any]:
    """The record's stored results, read once per data state (from the database only if the
    record was loaded without them)."""

    def read() -> dict[str, Any]:
        if "results" not in findings.get_deferred_fields():
            return cast(dict[str, Any], findings.results)
        stored = Findings.objects.filter(pk=findings.pk).values_list("results", flat=True)
        return cast(dict[str, Any], stored.first() or {})

    return _RESULTS.get(_state(findings), read)


class Shown:
    """One findings record as the pages show it in one language. Build it with `shown`."""

    def __init__(self, findings: Findings) -> None:
        results = results_of(findings)
        self.language = get_language() or "en"
        self.design: dict[str, Any] = results.get("design", {})
        self.min_cell: int = present.smallest_cell(results)
        self.views = present.indicator_views(results, choices=present.choice_labels(findings.form))
        # What the rest needs of the results, so that they need not be kept with this.
        self._by_district = present.districts_by_indicator(results)
        self.gaps = present.gender_gaps(results)
        self._made: dict[Hashable, Any] = {}

    def _once(self, key: Hashable, make: Callable[[], T]) -> T:
        if key not in self._made:
            self._made[key] = make()
        return cast(T, self._made[key])

    def view(self, indicator: str) -> present.IndicatorView | None:
        """The view of ``indicator``; else the first one (None without any)."""
        return next(
            (v for v in self.views if v.id == indicator), self.views[0] if self.views else None
        )

    def district_chart(self, view: present.IndicatorView) -> present.Chart | None:
        return self._once(
            ("district", view.id),
            lambda: present.district_chart_of(
                self._by_district.get(view.id, []), view, min_cell=self.min_cell
            ),
        )

    def cards(self, title: str) -> tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]:
        """Every indicator's card with its table, and the table of them all."""

        def make() -> tuple[list[tuple[present.IndicatorView, PageTable]], PageTable]:
            cards = [(view, present.indicator_table(view, title=title)) for view in self.views]
            return cards, present.indicators_table(cards, title=title)

        return self._once(("cards", title), make)

    def gap_chart(self) -> present.Chart | None:
        return self._once("gap-chart", lambda: present.gap_chart(self.gaps, min_cell=self.min_cell))

    def gap_table(self, title: str) -> PageTable:
        return self._once(
            ("gap-table", title),
            lambda: present.gap_table(self.gaps, min_cell=self.min_cell, title=title),
        )


def shown(findings: Findings) -> Shown:
    """The record as the pages show it in the reader's language (made once per data state
    and language)."""
    return _SHOWN.get(("shown", *_state(findings), get_language() or "en"), lambda: Shown(findings))


# --- Baseline → endline ------------------------------------------------------------------


class Change:
    """The comparison of two records, its chart and its table, as the change page shows them
    in one language. Build it with `change`."""

    def __init__(self, base: Findings, end: Findings, *, baseline: str, endline: str) -> None:
        names = hashlib.sha256(f"{baseline}\n{endline}".encode()).hexdigest()[:12]
        states = [f"{pk}-{at}" for pk, at in (_state(base), _state(end))]
        # What the comparison shown depends on: the page keeps its drawing of it by this key
        # (and its own query).
        self.key = "-".join([*states, get_language() or "en", names])
        before, after = results_of(base), results_of(end)
        self.designs = (before.get("design", {}), after.get("design", {}))
        self.rows = change_rows(before, after)
        self.chart = present.change_chart(self.rows, baseline=baseline, endline=endline)
        self.table = present.change_table(self.rows, baseline=baseline, endline=endline)


def change(base: Findings, end: Findings, *, baseline: str, endline: str) -> Change:
    """Made once per pair, data state, language and the two assessments' names (each
    difference's test is computed in pure Python, the chart drawn)."""
    key = ("change", *_state(base), *_state(end), get_language() or "en", baseline, endline)
    return _CHANGES.get(key, lambda: Change(base, end, baseline=baseline, endline=endline))


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


def change_rows(base: dict[str, Any], end: dict[str, Any]) -> list[dict[str, Any]]:
    """Baseline → endline of every indicator the two results share, overall and for women and
    men, each difference tested as between independent samples."""
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


# --- Files ---------------------------------------------------------------------------------


def download(table: PageTable, *, file_format: str) -> HttpResponse:
    """The table as a file. Writing a workbook of every indicator takes a tenth of a second,
    so each file is kept by everything it holds (title, headers, every cell, notes, name):
    the same cells give the same file, whoever asks, and other cells can never find it."""
    content = table.table()
    key = (
        file_format,
        table.file_stem,
        content.title,
        tuple(content.columns),
        tuple(tuple(row) for row in content.rows),
        tuple(content.notes),
    )

    def write() -> tuple[bytes, str, str]:
        made = table_response(content, file_format=file_format, file_stem=table.file_stem)
        return made.content, made["Content-Type"], made["Content-Disposition"]

    body, content_type, disposition = _FILES.get(key, write)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = disposition
    return response

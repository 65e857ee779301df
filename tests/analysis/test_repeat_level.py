"""Indicators counted per repetition of a repeat: household members, with the household (the
submission) as the cluster, its weight inherited, and cells that must rest on enough households
as well as enough members."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from openpyxl import load_workbook

from amniyat.accounts.models import Membership
from amniyat.analysis import dump_indicators, load_indicators, run_analysis
from amniyat.analysis.cli import analyze_cli
from amniyat.analysis.errors import IndicatorError, LevelError, UnknownFieldError
from amniyat.analysis.indicators import Repeat
from amniyat.analysis.output import reason_text
from amniyat.fieldwork.forms.services import assessment_create, form_add, sensitivity_set
from amniyat.fieldwork.imports.schema import columnar_answers, plan_for, split_answers
from amniyat.fieldwork.models import Assessment, FormVersion, Submission
from amniyat.fieldwork.submissions.frames import form_repeats, repeat_frame, submissions_frame
from amniyat.fieldwork.submissions.services import submissions_changed
from amniyat.findings import services
from amniyat.findings.models import Findings
from amniyat.findings.present import Cell
from amniyat.stats import Design
from tests.factories import ProgrammeFactory, member_of, workbook

SURVEY = [
    ["type", "name", "label::English (en)", "label::Russian (ru)"],
    ["text", "village", "Village", "Село"],
    ["select_one sex", "sex", "Respondent's sex", "Пол респондента"],
    ["decimal", "hh_weight", "Weight", "Вес"],
    ["begin_repeat", "members", "Household members", "Члены домохозяйства"],
    ["text", "member_name", "Name", "Имя"],
    ["integer", "member_age", "Age", "Возраст"],
    ["select_one yes_no", "had_incident", "Any incident?", "Был инцидент?"],
    ["begin_repeat", "incidents", "Incidents", "Инциденты"],
    ["select_one incident", "incident_type", "What happened?", "Что случилось?"],
    ["select_multiple reported", "reported_to", "Reported to", "Кому сообщили"],
    ["end_repeat", "", "", ""],
    ["end_repeat", "", "", ""],
    ["begin_repeat", "vehicles", "Vehicles", "Транспорт"],
    ["text", "vehicle_type", "Kind of vehicle", "Вид транспорта"],
    ["end_repeat", "", "", ""],
]
CHOICES = [
    ["list_name", "name", "label::English (en)"],
    ["sex", "female", "Female"],
    ["sex", "male", "Male"],
    ["yes_no", "yes", "Yes"],
    ["yes_no", "no", "No"],
    ["incident", "theft", "Theft"],
    ["incident", "fraud", "Fraud"],
    ["reported", "police", "Police"],
    ["reported", "family", "Family"],
]
CLASSES = {
    "village": "public",
    "sex": "public",
    "hh_weight": "internal",  # a design field: shapes estimates, never shown
    "members/member_name": "personal",
    "members/member_age": "public",
    "members/had_incident": "public",
    "members/incidents/incident_type": "public",
    "members/incidents/reported_to": "public",
    "vehicles/vehicle_type": "public",
    "meta/instanceID": "internal",
}
INCIDENT_SHARE = """
indicators:
  - id: member_incident
    label: Household members who experienced an incident
    type: proportion
    level: members
    numerator: ${incidents} > 0
"""

Household = dict[str, Any]


def xlsform() -> bytes:
    return workbook(
        {
            "survey": SURVEY,
            "choices": CHOICES,
            "settings": [["form_id", "version"], ["household_security", "1"]],
        }
    )


def household_version(*, cluster: str = "") -> FormVersion:
    assessment = assessment_create(
        acting_user=None,
        programme=ProgrammeFactory(),
        title="Household survey",
        kind="baseline",
        weight_field="hh_weight",
        cluster_field=cluster,
    )
    version = form_add(
        acting_user=None, assessment=assessment, file_name="household.xlsx", content=xlsform()
    )
    return sensitivity_set(acting_user=None, version=version, classes=CLASSES)


def store(version: FormVersion, households: list[Household]) -> None:
    """Store each household's answers as every reader stores them (`columnar_answers`): the
    nested repetitions as lists, personal answers apart."""
    plan = plan_for(version)
    already = Submission.objects.filter(form=version.form).count()
    for number, household in enumerate(households, already):
        data, protected = split_answers(columnar_answers(household, plan), plan)
        Submission.objects.create(
            form=version.form,
            form_version=version,
            instance_id=f"uuid:household-{version.pk}-{number}",
            content_hash=f"{number}",
            submitted_at=datetime(2024, 5, 1, 9, number, tzinfo=UTC),
            data=data,
            protected_data=json.dumps(protected),
            source=Submission.Source.DEMO,
        )
    # As every writer of submissions does: the form's data revision changes with them.
    submissions_changed(form_ids=[version.form_id])


def member(
    age: int | None, incidents: Sequence[tuple[str, list[str]]] = (), **answers: Any
) -> dict[str, Any]:
    """A member's answers, one object per repetition of the repeats inside (nested)."""
    found: dict[str, Any] = {"members/member_name": f"Person {age}"}
    found |= {f"members/{name}": answer for name, answer in answers.items()}
    if age is not None:
        found["members/member_age"] = age
    if incidents:
        found["members/incidents"] = [
            {"members/incidents/incident_type": kind, "members/incidents/reported_to": to}
            for kind, to in incidents
        ]
    return found


def household(village: str, sex: str, weight: float, members: list[dict[str, Any]]) -> Household:
    found: Household = {"village": village, "sex": sex, "hh_weight": weight}
    if members:
        found["members"] = members
    return found


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


# --- (a) the frame ---------------------------------------------------------------------------


def test_the_repeat_frame_has_one_row_per_repetition_at_any_depth(db: None) -> None:
    version = household_version()
    store(
        version,
        [
            household(
                "Vakhsh",
                "female",
                1.5,
                [
                    member(34, [("theft", ["police", "family"]), ("fraud", [])]),
                    member(12, had_incident="no"),
                ],
            ),
            household("Bokhtar", "male", 2.0, [member(None, [("theft", ["police"])])]),
            household("Nurek", "male", 1.0, []),  # no members: no row
        ],
    )
    form = version.form

    members = repeat_frame(form, "members")
    assert members.select(
        "village", "sex", "member_age", "had_incident", "incidents", "_members_index"
    ).rows() == [
        ("Vakhsh", "female", 34, None, 2, 1),
        ("Vakhsh", "female", 12, "no", 0, 2),
        ("Bokhtar", "male", None, None, 1, 1),
    ]
    # Typed like the submissions frame; the submission's columns come along.
    assert members.schema["member_age"] == pl.Int64
    assert members.schema["incidents"] == pl.Int64
    assert members.schema["hh_weight"] == pl.Float64
    for column in ("_instance_id", "_place_id", "_submitted_at", "_version_id"):
        assert members.schema[column] == submissions_frame(form).schema[column]
    # Personal answers are never read; another repeat's are not in this one's rows.
    assert "member_name" not in members.columns
    assert "vehicle_type" not in members.columns

    incidents = repeat_frame(form, "members/incidents")
    assert incidents.select(
        "village", "member_age", "incident_type", "reported_to", "_members_index",
        "_incidents_index",
    ).rows() == [
        ("Vakhsh", 34, "theft", "police family", 1, 1),
        ("Vakhsh", 34, "fraud", "", 1, 2),  # none chosen, as XForms hold it
        ("Bokhtar", None, "theft", "police", 1, 1),
    ]  # fmt: skip
    assert incidents["_instance_id"].n_unique() == 2

    # Design fields come with ``always``, as in the submissions frame; findings read only public
    # answers.
    public = repeat_frame(form, "members", classes=frozenset({"public"}), always=("hh_weight",))
    assert public["hh_weight"].to_list() == [1.5, 1.5, 2.0]
    assert "instanceID" not in public.columns

    # Cached like the submissions frame, and rebuilt after a new submission.
    cached = set(Path(_cache()).glob(f"repeat-{form.pk}-*.parquet"))
    assert len(cached) == 3  # members, incidents, members for findings
    assert repeat_frame(form, "members").equals(members)
    store(version, [household("Vose", "female", 1.0, [member(40)])])
    assert repeat_frame(form, "members").height == 4
    # The stale frame of members is gone, the new one in its place.
    assert len(set(Path(_cache()).glob(f"repeat-{form.pk}-*.parquet")) - cached) == 1
    assert len(set(Path(_cache()).glob(f"repeat-{form.pk}-*.parquet"))) == 3


def _cache() -> str:
    from django.conf import settings

    return str(Path(settings.MEDIA_ROOT).parent / "cache" / "frames")


def test_the_form_s_repeats_name_their_questions_and_counts(db: None) -> None:
    version = household_version()
    repeats = form_repeats(version)
    assert repeats["members"] == Repeat(
        path="members",
        name="members",
        parent=None,
        columns=("member_age", "had_incident", "incidents"),
        labels={"en": "Household members", "ru": "Члены домохозяйства"},
    )
    assert repeats["members/incidents"].parent == "members"
    assert repeats["members/incidents"].columns == ("incident_type", "reported_to")
    assert repeats["vehicles"].columns == ("vehicle_type",)
    everything = form_repeats(version, classes=None)
    assert "member_name" in everything["members"].columns


# --- (b) estimates ----------------------------------------------------------------------------


def generated_households(seed: int = 11, n: int = 16) -> list[Household]:
    rng = np.random.default_rng(seed)
    villages = ["Vakhsh", "Bokhtar", "Nurek", "Vose"]
    households = []
    for number in range(n):
        members = []
        # Household 3 has no members; it was sampled all the same, so it is a PSU (of zero).
        for _ in range(int(rng.integers(1, 6)) if number != 3 else 0):
            count = int(rng.choice([0, 0, 1, 2]))
            members.append(member(int(rng.integers(1, 80)), [("theft", ["police"])] * count))
        households.append(
            household(
                villages[number % 4],
                "female" if number % 2 else "male",
                float(rng.choice([1.0, 1.5, 2.5])),
                members,
            )
        )
    return households


def hand_estimate(
    households: list[Household], cluster_of: Any = None
) -> tuple[float, float, int, int]:
    """The share of members with an incident, a ratio estimator, and its linearised standard
    error with the household's weight and the household (or ``cluster_of(household)``) as the
    primary sampling unit, sampled with replacement (Lumley 2010, §2.2, 3.1; Wolter 2007, §6.5):

        R = Σ_h w_h Σ_i y_hi / Σ_h w_h m_h
        z_c = Σ_{h in c} w_h Σ_i (y_hi − R) / Σ_h w_h m_h
        V = n / (n − 1) Σ_c (z_c − z̄)²         (n PSUs, a household without members too)
    """
    weights = np.array([h["hh_weight"] for h in households])
    ys = [
        np.array([1.0 if m.get("members/incidents") else 0.0 for m in h.get("members", [])])
        for h in households
    ]
    size = sum(w * len(y) for w, y in zip(weights, ys, strict=True))
    ratio = sum(w * y.sum() for w, y in zip(weights, ys, strict=True)) / size
    scores: dict[Any, float] = {}
    for number, (w, y) in enumerate(zip(weights, ys, strict=True)):
        psu = cluster_of(households[number]) if cluster_of else number
        scores[psu] = scores.get(psu, 0.0) + w * (y - ratio).sum() / size
    z = np.array(list(scores.values()))
    variance = len(z) / (len(z) - 1) * ((z - z.mean()) ** 2).sum()
    return ratio, math.sqrt(variance), sum(len(y) for y in ys), len(z) - 1


def test_a_member_level_share_is_a_ratio_with_households_as_clusters(db: None) -> None:
    version = household_version()
    households = generated_households()
    store(version, households)
    services.indicator_set_save(
        acting_user=None, programme=version.form.assessment.programme, spec=INCIDENT_SHARE
    )
    findings = services.findings_for(version.form, enqueue=False)
    assert findings is not None
    findings = services.findings_compute(findings.pk)
    assert findings.status == Findings.Status.READY, findings.error

    overall = next(e for e in findings.results["estimates"] if not e["by"])
    ratio, se, members, df = hand_estimate(households)
    assert overall["n"] == members  # n counts members, not households
    assert overall["estimate"] == pytest.approx(ratio, rel=1e-12)
    assert overall["se"] == pytest.approx(se, rel=1e-10)
    assert findings.respondents == len(households)
    assert findings.results["design"]["degrees_of_freedom"] == df
    assert findings.results["levels"]["member_incident"]["repeat"] == "members"

    # The page says what n counts, with the repeat's label.
    programme = version.form.assessment.programme
    client = Client()
    client.force_login(member_of(programme, Membership.Role.ANALYST))
    page = client.get(f"/p/{programme.slug}/findings/{version.form.assessment.pk}/")
    assert "(n counts Household members)" in page.content.decode()


def test_the_design_s_own_clusters_hold_the_households(db: None) -> None:
    version = household_version(cluster="village")
    households = generated_households(seed=5, n=24)
    store(version, households)
    form = version.form
    frame = submissions_frame(form, always=("hh_weight",))
    result = run_analysis(
        frame,
        load_indicators(INCIDENT_SHARE),
        design=Design(weight="hh_weight", cluster="village"),
        min_cell=3,
        repeats=form_repeats(version),
        repeat_frames={"members": repeat_frame(form, "members", always=("hh_weight",))},
    )
    ratio, se, members, df = hand_estimate(households, cluster_of=lambda h: h["village"])
    estimate = result.estimates[0].estimate
    assert (estimate.n, estimate.df) == (members, df)
    assert estimate.value == pytest.approx(ratio, rel=1e-12)
    assert estimate.se == pytest.approx(se, rel=1e-10)


def test_a_member_level_question_can_be_read_with_the_household_s_answers(db: None) -> None:
    version = household_version()
    store(
        version,
        [
            household("Vakhsh", sex, 1.0, [member(30 + k, had_incident=answer)])
            for k, (sex, answer) in enumerate(
                [("female", "yes"), ("female", "no"), ("male", "yes"), ("female", "yes")] * 3
            )
        ],
    )
    spec = """
indicators:
  - id: incident_in_female_headed
    label: Members who had an incident, households answered by a woman
    type: proportion
    level: members
    numerator: ${had_incident} = 'yes'
    filter: ${sex} = 'female'
"""
    form = version.form
    result = run_analysis(
        submissions_frame(form),
        load_indicators(spec),
        repeats=form_repeats(version),
        repeat_frames={"members": repeat_frame(form, "members")},
    )
    estimate = result.estimates[0].estimate
    assert estimate.n == 9
    assert estimate.value == pytest.approx(6 / 9)


# --- (c) disclosure control ---------------------------------------------------------------------


def test_members_of_too_few_households_are_withheld(db: None) -> None:
    version = household_version()
    big = [member(20 + k, [("theft", [])] * (k % 2)) for k in range(6)]
    store(
        version,
        [household("Vakhsh", "female", 1.0, big) for _ in range(3)]
        + [household("Nurek", "male", 1.0, big[:1]) for _ in range(6)],
    )
    form = version.form
    result = run_analysis(
        submissions_frame(form),
        load_indicators(INCIDENT_SHARE),
        by=[["sex"]],
        compare=[],
        min_cell=5,
        repeats=form_repeats(version),
        repeat_frames={"members": repeat_frame(form, "members")},
    )
    cells = {tuple(f.domain.values()): f.estimate for f in result.estimates}
    # 18 members, but from 3 households: withheld.
    women = cells[("female",)]
    assert women.n == 18 and women.suppressed and women.value is None
    assert women.reason == "min_submissions"
    # 6 members from 6 households would be shown, but then the women's share would follow
    # from the total: withheld to protect it.
    men = cells[("male",)]
    assert men.n == 6 and men.suppressed and men.reason == "complementary"
    assert cells[()].value is not None and cells[()].n == 24

    # The same rule for a comparison, and the page's and the table's words for it.
    compared = run_analysis(
        submissions_frame(form),
        load_indicators(INCIDENT_SHARE),
        compare=[_comparison()],
        min_cell=5,
        repeats=form_repeats(version),
        repeat_frames={"members": repeat_frame(form, "members")},
    ).comparisons[0]
    assert compared.difference.suppressed and compared.difference.value is None
    assert compared.difference.a.reason == "min_submissions"
    cell = Cell("", "proportion", 18, None, None, None, True, "min_submissions", min_cell=5)
    assert cell.note == "suppressed (from fewer than 5 submissions)"
    assert reason_text("min_submissions", 5, str) == "suppressed: from fewer than 5 submissions"


def _comparison() -> Any:
    from amniyat.analysis.runner import Comparison

    return Comparison("sex", "female", "male")


def test_a_single_household_never_makes_a_cell(db: None) -> None:
    version = household_version()
    store(
        version,
        [household("Vakhsh", "female", 1.0, [member(20 + k) for k in range(6)])]
        + [household("Nurek", "female", 1.0, [member(30 + k)]) for k in range(5)],
    )
    form = version.form
    result = run_analysis(
        submissions_frame(form),
        load_indicators(
            "indicators:\n  - {id: age, label: Age, type: mean, level: members, "
            "value: '${member_age}'}\n"
        ),
        by=[["village"]],
        min_cell=5,
        repeats=form_repeats(version),
        repeat_frames={"members": repeat_frame(form, "members")},
    )
    cells = {tuple(f.domain.values()): f.estimate for f in result.estimates}
    one_household = cells[("Vakhsh",)]
    assert one_household.n == 6 and one_household.suppressed and one_household.value is None
    assert one_household.reason == "min_submissions"
    assert cells[("Nurek",)].reason == "complementary"
    assert cells[()].n == 11 and cells[()].value == pytest.approx((sum(range(20, 26)) + 160) / 11)


# --- (d) validation -----------------------------------------------------------------------------

REPEATS = {
    "members": Repeat("members", "members", None, ("member_age", "had_incident", "incidents")),
    "members/incidents": Repeat(
        "members/incidents", "incidents", "members", ("incident_type", "reported_to")
    ),
    "vehicles": Repeat("vehicles", "vehicles", None, ("vehicle_type",)),
}
FIELDS = {"village", "sex", "hh_weight"}


def problem(level: str | None, expression: str) -> str:
    spec = (
        "indicators:\n  - id: x\n    label: X\n    type: proportion\n"
        + (f"    level: {level}\n" if level else "")
        + f'    numerator: "{expression}"\n'
    )
    with pytest.raises((LevelError, UnknownFieldError)) as raised:
        load_indicators(spec, fields=FIELDS, repeats=REPEATS)
    return str(raised.value)


def test_levels_and_the_fields_they_hold_are_checked() -> None:
    assert problem("member", "${had_incident} = 'yes'") == (
        "indicator x: level member names no repeat of the form; did you mean members?"
    )
    assert problem("households", "${village} = 'x'") == (
        "indicator x: level households names no repeat of the form; its repeats are members, "
        "members/incidents, vehicles"
    )
    assert problem("members", "${incident_type} = 'theft'") == (
        "indicator x is counted per members but reads ${incident_type}, a question of the "
        "repeat members/incidents inside it, which has many answers per members; count per "
        "members/incidents instead (level: members/incidents)"
    )
    assert problem("members", "${vehicle_type} = 'car'") == (
        "indicator x is counted per members but reads ${vehicle_type}, a question of the repeat "
        "vehicles, which does not hold members; a row of members holds the answers of members, "
        "of the repeats holding it and of the form"
    )
    assert problem(None, "${had_incident} = 'yes'") == (
        "indicator x reads ${had_incident}, a question of the repeat members; give the "
        "indicator level: members to count one row per repetition"
    )
    assert problem("members", "${had_incidnet} = 'yes'") == (
        "indicator x reads ${had_incidnet}, which is not in the data or the form; did you mean "
        "${had_incident}?"
    )
    # By name or path; a row of an inner repeat holds the answers of the repeats holding it.
    spec = (
        "indicators:\n  - {id: x, label: X, type: proportion, level: incidents, "
        "numerator: \"${member_age} < 18 and ${village} = 'Vakhsh'\"}\n"
    )
    (indicator,) = load_indicators(spec, fields=FIELDS, repeats=REPEATS)
    assert indicator.level == "members/incidents"
    assert load_indicators(dump_indicators([indicator])) == [indicator]
    assert load_indicators(spec.replace("incidents,", "members/incidents,"))[0].level == (
        "members/incidents"
    )


def test_a_level_must_be_a_name(db: None) -> None:
    with pytest.raises(IndicatorError, match="level must name a repeat of the form"):
        load_indicators(
            "indicators:\n  - {id: x, label: X, type: mean, level: '${members}', value: '1'}\n"
        )


def test_a_data_file_has_no_repeats(tmp_path: Path) -> None:
    data = tmp_path / "survey.csv"
    data.write_text("sex,age\nfemale,30\nmale,40\n", encoding="utf-8")
    spec = tmp_path / "indicators.yaml"
    spec.write_text(INCIDENT_SHARE, encoding="utf-8")
    err = io.StringIO()
    status = analyze_cli([str(data), "--indicators", str(spec)], stdout=io.StringIO(), stderr=err)
    assert status == 2
    assert "level members names no repeat, and the form (or data file) has none" in (err.getvalue())


def test_saving_indicators_checks_their_levels_against_the_forms(db: None) -> None:
    version = household_version()
    programme = version.form.assessment.programme
    with pytest.raises(ValidationError) as raised:
        services.indicator_set_save(
            acting_user=None,
            programme=programme,
            spec=INCIDENT_SHARE.replace("${incidents} > 0", "${incident_type} = 'theft'"),
        )
    assert "inside it, which has many answers per members" in str(raised.value)
    # A personal question of the repeat is known (so its name is right) but never in findings.
    services.indicator_set_save(
        acting_user=None,
        programme=programme,
        spec=INCIDENT_SHARE.replace("${incidents} > 0", "${member_name} = 'x'"),
    )
    store(version, generated_households())
    findings = services.findings_for(version.form, enqueue=False)
    assert findings is not None
    findings = services.findings_compute(findings.pk)
    assert findings.status == Findings.Status.FAILED
    assert "member_name" in findings.error and "not classed public" in findings.error


def test_analyze_counts_members_of_a_stored_assessment(db: None, tmp_path: Path) -> None:
    version = household_version()
    store(version, generated_households())
    spec = tmp_path / "indicators.yaml"
    spec.write_text(INCIDENT_SHARE, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assessment: Assessment = version.form.assessment
    status = analyze_cli(
        ["--assessment", str(assessment.pk), "--indicators", str(spec)], stdout=out, stderr=err
    )
    assert status == 0, err.getvalue()
    assert "n counts Household members (one per repetition of members)" in out.getvalue()

    book = tmp_path / "members.xlsx"
    arguments = ["--assessment", str(assessment.pk), "--indicators", str(spec)]
    assert analyze_cli([*arguments, "--output", str(book)], stderr=err) == 0, err.getvalue()
    notes = load_workbook(book)["Notes"]
    assert ["member_incident", "Household members"] in [
        [row[0], row[-1]] for row in notes.iter_rows(values_only=True) if row
    ]
    out = io.StringIO()
    assert analyze_cli([*arguments, "--format", "json"], stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["levels"] == {
        "member_incident": {
            "repeat": "members",
            "labels": {"en": "Household members", "ru": "Члены домохозяйства"},
        }
    }

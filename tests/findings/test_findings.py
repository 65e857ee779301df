"""Findings: computed from stored submissions with the programme's indicators, disclosure-
controlled, drafts for analysts, published ones for everybody in the programme."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from amniyat.accounts.models import Membership, Programme
from amniyat.analysis.cli import analyze_cli
from amniyat.demo import survey as demo_survey
from amniyat.demo.build import INDICATORS_FILE, _store_generated
from amniyat.fieldwork.forms.services import assessment_create, form_add, sensitivity_set
from amniyat.fieldwork.models import Assessment, FormVersion
from amniyat.findings import services
from amniyat.findings.models import Findings
from tests.factories import ProgrammeFactory, member_of, shipped_place

TJ_DISTRICTS = [
    "TJ-SU-BGH", "TJ-SU-ISF", "TJ-KT-KUL", "TJ-KT-VAK", "TJ-RA-VAH",
    "TJ-KT-HAM", "TJ-KT-KUS", "TJ-RA-NUR", "TJ-RA-TOJ", "TJ-GB-VAN",
]  # fmt: skip


def survey_assessment(n: int = 600, *, kind: str = "baseline", programme=None):  # type: ignore[no-untyped-def]
    """An assessment of the demo perception survey with ``n`` generated respondents."""
    programme = programme or ProgrammeFactory(
        districts=[shipped_place(code) for code in TJ_DISTRICTS]
    )
    version = survey_version(programme, title=f"Perception survey {kind}", kind=kind)
    frame = demo_survey.generate_responses("TJ", phase=kind, n=n, seed=3)  # type: ignore[arg-type]
    _store_generated(version, frame)
    return version.form.assessment


def survey_version(programme: Programme, *, title: str, kind: str = "baseline") -> FormVersion:
    """The demo perception survey (Tajikistan) as the form of a new assessment, every field
    classed, no submissions yet."""
    assessment = assessment_create(
        acting_user=None,
        programme=programme,
        title=title,
        kind=kind,
        weight_field="weight",
        strata_field="stratum",
        cluster_field="cluster",
    )
    version = form_add(
        acting_user=None,
        assessment=assessment,
        file_name="community_security_tj.xlsx",
        content=demo_survey.build_xlsform("TJ"),
    )
    undecided = {path: "public" for path in version.fields_lacking_sensitivity()}
    return sensitivity_set(acting_user=None, version=version, classes=undecided)


def compute(assessment: Assessment) -> Findings:
    findings = services.findings_for(assessment.forms.get(), enqueue=False)
    assert findings is not None
    return services.findings_compute(findings.pk)


@pytest.fixture
def assessment(db: None) -> Assessment:
    assessment = survey_assessment()
    services.indicator_set_save(
        acting_user=None,
        programme=assessment.programme,
        spec=INDICATORS_FILE.read_text(encoding="utf-8"),
    )
    return assessment


def test_findings_are_computed_weighted_and_disclosure_controlled(assessment: Assessment) -> None:
    findings = compute(assessment)
    assert findings.status == Findings.Status.READY, findings.error
    assert findings.respondents == 600
    design = findings.results["design"]
    assert (design["weight"], design["strata"], design["cluster"]) == (
        "weight",
        "stratum",
        "cluster",
    )
    overall = next(
        e for e in findings.results["estimates"] if e["indicator"] == "safe_night" and not e["by"]
    )
    assert (
        0 < overall["estimate"] < 1 and overall["ci_low"] < overall["estimate"] < overall["ci_high"]
    )
    small = [e for e in findings.results["estimates"] if e["n"] < design["min_cell"] and e["n"] > 0]
    assert small, "sex × district cells of a 600-person survey include some below 5"
    for cell in small:
        assert cell["suppressed"] and cell["estimate"] is None and cell["se"] is None


def test_a_new_submission_makes_the_findings_stale(assessment: Assessment) -> None:
    first = compute(assessment)
    form = assessment.forms.get()
    assert services.findings_for(form, enqueue=False) == first
    frame = demo_survey.generate_responses("TJ", phase="baseline", n=100, seed=99)
    _store_generated(form.current_version(), frame)  # type: ignore[arg-type]
    assert services.findings_for(form, enqueue=False) != first


def test_indicators_naming_an_unknown_field_are_refused(assessment: Assessment) -> None:
    spec = (
        "indicators:\n  - id: x\n    label: X\n    type: proportion\n"
        "    numerator: ${no_such_field} = 'yes'\n"
    )
    with pytest.raises(ValidationError) as raised:
        services.indicator_set_save(acting_user=None, programme=assessment.programme, spec=spec)
    assert "no_such_field" in str(raised.value)
    assert assessment.programme.indicator_sets.count() == 1


def _numbers_on(page: str) -> set[str]:
    return set(re.findall(r"\d+ %|\d+%", page))


def test_viewers_see_only_published_findings_and_no_suppressed_number(
    assessment: Assessment,
) -> None:
    programme = assessment.programme
    findings = compute(assessment)
    viewer = member_of(programme, Membership.Role.VIEWER)
    analyst = member_of(programme, Membership.Role.ANALYST)
    client = Client()
    client.force_login(viewer)
    url = f"/p/{programme.slug}/findings/{assessment.pk}/"
    assert client.get(url).status_code == 404

    services.findings_publish(acting_user=analyst, findings=findings)
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "suppressed (fewer than 5 respondents)" in text
    gap = client.get(url + "gender/")
    assert gap.status_code == 200


def test_findings_of_another_programme_answer_404(assessment: Assessment) -> None:
    compute(assessment)
    outsider_programme = ProgrammeFactory()
    outsider = member_of(outsider_programme, Membership.Role.LEAD)
    client = Client()
    client.force_login(outsider)
    assert (
        client.get(f"/p/{assessment.programme.slug}/findings/{assessment.pk}/").status_code == 404
    )
    assert client.get(f"/p/{outsider_programme.slug}/findings/{assessment.pk}/").status_code == 404


def test_baseline_to_endline_compares_independent_surveys(assessment: Assessment) -> None:
    endline = survey_assessment(kind="endline", programme=assessment.programme)
    compute(assessment)
    compute(endline)
    lead = member_of(assessment.programme, Membership.Role.LEAD)
    client = Client()
    client.force_login(lead)
    page = client.get(
        f"/p/{assessment.programme.slug}/findings/change/?baseline={assessment.pk}&endline={endline.pk}"
    )
    assert page.status_code == 200
    assert "Feel safe or very safe in their area at night" in page.content.decode()
    assert "points" in page.content.decode()
    assert "Only assessments whose findings have been published" not in page.content.decode()


def test_a_donor_compares_published_findings_only_and_is_told_so(assessment: Assessment) -> None:
    endline = survey_assessment(kind="endline", programme=assessment.programme)
    compute(assessment)
    draft = compute(endline)
    lead = member_of(assessment.programme, Membership.Role.LEAD)
    services.findings_publish(acting_user=lead, findings=compute(assessment))
    client = Client()
    client.force_login(member_of(assessment.programme, Membership.Role.VIEWER))

    page = client.get(f"/p/{assessment.programme.slug}/findings/change/").content.decode()

    assert "Only assessments whose findings have been published" in page
    assert f'<option value="{assessment.pk}"' in page
    assert f'<option value="{endline.pk}"' not in page  # its findings are a draft
    assert draft.published_at is None


def test_analyze_reads_a_stored_assessment_with_its_design(assessment: Assessment) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = analyze_cli(
        [
            "--assessment",
            str(assessment.pk),
            "--indicators",
            str(INDICATORS_FILE),
            "--by",
            "sex",
            "--format",
            "json",
        ],
        stdout=out,
        stderr=err,
    )
    assert status == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert result["design"]["weight"] == "weight" and result["design"]["cluster"] == "cluster"
    assert {tuple(e["by"]) for e in result["estimates"]} == {(), ("sex",)}


def test_findings_refuse_an_indicator_that_reads_answers_not_classed_public(
    assessment: Assessment,
) -> None:
    version = assessment.forms.get().current_version()
    assert version is not None
    version.sensitivity["safety/safe_night"] = "internal"
    version.save(update_fields=["sensitivity"])
    findings = compute(assessment)
    assert findings.status == Findings.Status.FAILED
    assert "safe_night" in findings.error and "public" in findings.error


def test_analysts_break_findings_down_by_any_public_closed_question(
    assessment: Assessment,
) -> None:
    findings = compute(assessment)
    programme = assessment.programme
    analyst = member_of(programme, Membership.Role.ANALYST)
    client = Client()
    client.force_login(analyst)
    url = f"/p/{programme.slug}/findings/{assessment.pk}/"
    page = client.get(url + "?by=returning_migrant").content.decode()
    assert 'option value="returning_migrant" selected' in page
    assert "Break down by another question" in page
    # A field that is not a public closed question is not offered and not computed.
    assert client.get(url + "?by=causes").status_code == 200
    assert 'value="causes"' not in client.get(url).content.decode()

    viewer = member_of(programme, Membership.Role.VIEWER)
    services.findings_publish(acting_user=analyst, findings=findings)
    client.force_login(viewer)
    assert "Break down by another question" not in client.get(url).content.decode()


def test_removing_the_demo_takes_its_surveys_and_findings_too(assessment: Assessment) -> None:
    from amniyat.accounts.models import Programme
    from amniyat.demo.build import DEMO_SLUGS, remove_demo
    from amniyat.fieldwork.models import Submission

    compute(assessment)
    # The demo removes its own programmes only: those it made, at their addresses.
    Programme.objects.filter(pk=assessment.programme_id).update(is_demo=True, slug=DEMO_SLUGS[0])
    remove_demo()
    assert not Programme.objects.filter(pk=assessment.programme_id).exists()
    assert not Submission.objects.exists() and not Findings.objects.exists()


def test_an_assessment_with_two_questionnaires_shows_each_one_s_findings(
    assessment: Assessment,
) -> None:
    """A second form of the same assessment (here the Uzbek questionnaire, 250 respondents)
    gets its own findings; the page offers a choice of questionnaire and shows the one
    asked for."""
    version = form_add(
        acting_user=None,
        assessment=assessment,
        file_name="community_security_uz.xlsx",
        content=demo_survey.build_xlsform("UZ"),
    )
    undecided = {path: "public" for path in version.fields_lacking_sensitivity()}
    version = sensitivity_set(acting_user=None, version=version, classes=undecided)
    _store_generated(version, demo_survey.generate_responses("UZ", phase="baseline", n=250, seed=5))
    first, second = assessment.forms.order_by("pk")
    for form in (first, second):
        findings = services.findings_for(form, enqueue=False)
        assert findings is not None
        assert services.findings_compute(findings.pk).status == Findings.Status.READY
    analyst = member_of(assessment.programme, Membership.Role.ANALYST)
    client = Client()
    client.force_login(analyst)
    url = f"/p/{assessment.programme.slug}/findings/{assessment.pk}/"
    page = client.get(url).content.decode()
    assert 'name="form"' in page and "600 respondents" in page
    chosen = client.get(f"{url}?form={second.pk}").content.decode()
    assert "250 respondents" in chosen
    assert client.get(f"{url}gender/?form={second.pk}").status_code == 200

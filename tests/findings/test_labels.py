"""Indicator labels on the findings pages: stored in every language, shown in the reader's."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.findings import present, services
from amniyat.findings.models import Findings
from tests.factories import member_of

from .test_findings import compute, survey_assessment

SPEC = """
indicators:
  - id: safe_night
    label:
      en: Feel safe or very safe in their area at night
      ru: Чувствуют себя в безопасности или в полной безопасности в своей местности ночью
      tg: Шабона дар маҳалли худ худро бехатар ё хеле бехатар ҳис мекунанд
      uz: Kechasi o'z hududida o'zini xavfsiz yoki juda xavfsiz his qiladiganlar
    type: proportion
    numerator: ${safe_night} = 'very_safe' or ${safe_night} = 'safe'
  - id: trust_police_score
    label: Trust in the police, mean score (1-5)
    type: mean
    value: ${trust_police}
  - id: concern
    label: {en: Names as a main security concern, tg: Ҳамчун мушкили асосии амниятӣ номбар мекунанд}
    type: proportion
    expand: ${concerns}
"""
SAFE_NIGHT_TG = "Шабона дар маҳалли худ худро бехатар ё хеле бехатар ҳис мекунанд"
SAFE_NIGHT_EN = "Feel safe or very safe in their area at night"


@pytest.fixture
def assessment(db: None) -> Assessment:
    assessment = survey_assessment(n=300)
    services.indicator_set_save(acting_user=None, programme=assessment.programme, spec=SPEC)
    return assessment


def reader(assessment: Assessment, language: str) -> Client:
    client = Client()
    client.force_login(member_of(assessment.programme, Membership.Role.ANALYST))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def page(client: Client, assessment: Assessment, suffix: str = "") -> str:
    response = client.get(f"/p/{assessment.programme.slug}/findings/{assessment.pk}/{suffix}")
    assert response.status_code == 200
    return response.content.decode()


def test_stored_results_keep_every_language_of_every_label(assessment: Assessment) -> None:
    findings = compute(assessment)
    assert findings.status == Findings.Status.READY, findings.error
    stored = findings.results["labels_by_language"]
    assert stored["safe_night"]["tg"] == SAFE_NIGHT_TG
    assert set(stored["safe_night"]) == {"en", "ru", "tg", "uz"}
    assert stored["trust_police_score"] == {"en": "Trust in the police, mean score (1-5)"}
    # English stays where pages that know only one language read it.
    assert findings.results["labels"]["safe_night"] == SAFE_NIGHT_EN


def test_the_findings_page_in_tajik_shows_the_tajik_labels(assessment: Assessment) -> None:
    compute(assessment)
    tajik = page(reader(assessment, "tg"), assessment)
    assert SAFE_NIGHT_TG in tajik and SAFE_NIGHT_EN not in tajik
    # A label written only in English is shown in English.
    assert "Trust in the police, mean score (1-5)" in tajik
    english = page(reader(assessment, "en"), assessment)
    assert SAFE_NIGHT_EN in english and SAFE_NIGHT_TG not in english


def test_expanded_labels_use_the_form_s_choice_labels_in_the_reader_s_language(
    assessment: Assessment,
) -> None:
    findings = compute(assessment)
    stored = findings.results["labels_by_language"]["concern.unemployment"]
    assert stored["en"] == "Names as a main security concern: Unemployment"
    assert stored["tg"] == "Ҳамчун мушкили асосии амниятӣ номбар мекунанд: Бекорӣ"
    # No Russian label of the indicator: its English, with the form's Russian choice label.
    assert stored["ru"] == "Names as a main security concern: Безработица"
    assert "Ҳамчун мушкили асосии амниятӣ номбар мекунанд: Бекорӣ" in page(
        reader(assessment, "tg"), assessment
    )


def test_the_gender_gap_page_shows_labels_in_the_reader_s_language(
    assessment: Assessment,
) -> None:
    findings = compute(assessment)
    assert SAFE_NIGHT_TG in page(reader(assessment, "tg"), assessment, "gender/")
    with translation.override("tg"):
        gaps = {gap.indicator: gap.label for gap in present.gender_gaps(findings.results)}
    assert gaps["safe_night"] == SAFE_NIGHT_TG


def test_results_stored_before_labels_had_languages_still_render(
    assessment: Assessment,
) -> None:
    findings = compute(assessment)
    results = dict(findings.results)
    del results["labels_by_language"]
    Findings.objects.filter(pk=findings.pk).update(results=results)
    tajik = page(reader(assessment, "tg"), assessment)
    assert SAFE_NIGHT_EN in tajik  # the English label they hold
    assert "Names as a main security concern: Unemployment" in tajik
    assert page(reader(assessment, "tg"), assessment, "gender/").count(SAFE_NIGHT_EN) >= 1
    # Results without any labels show the indicator's id.
    assert present.measure_label({}, "safe_night", "tg") == "safe_night"


def test_the_fields_to_break_down_by_are_named_in_the_reader_s_language(
    assessment: Assessment,
) -> None:
    form = assessment.forms.get()
    with translation.override("tg"):
        fields = dict(services.disaggregation_fields(form))
    assert fields["returning_migrant"].startswith("Оё шумо дар се соли охир")
    with translation.override("en"):
        fields = dict(services.disaggregation_fields(form))
    assert fields["returning_migrant"].startswith("In the past three years")


def test_a_breakdown_is_never_by_the_design_nor_by_what_the_indicator_reads(
    assessment: Assessment,
) -> None:
    findings = compute(assessment)
    form = assessment.forms.get()

    offered = dict(services.disaggregation_fields(form))
    for_safe_night = dict(
        services.disaggregation_fields(
            form, indicator="safe_night", indicator_set=findings.indicator_set
        )
    )

    assert not {"weight", "stratum", "cluster"} & set(offered)
    assert not any("consent" in column for column in offered)
    # The indicator broken down by its own question would only restate it.
    assert "safe_night" in offered and "safe_night" not in for_safe_night
    assert set(for_safe_night) == set(offered) - {"safe_night"}

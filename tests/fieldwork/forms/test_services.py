"""Writes to assessments and forms: checked by the policy, atomic, audited, and a bad upload
changes nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.forms import services
from amniyat.fieldwork.forms.xlsform import FormError
from amniyat.fieldwork.models import Assessment, Form, FormVersion, Submission
from amniyat.places.models import Place
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.forms.test_xlsform import HEADER, safety_survey, workbook

Role = Membership.Role
Verb = AuditEvent.Verb
UNDECIDED = [
    "age",
    "sex",
    "region",
    "district",
    "concerns",
    "household/member/member_age",
]


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    assessment = services.assessment_create(
        acting_user=lead, programme=programme, title="Baseline 2024", kind="baseline"
    )
    return {
        "programme": programme,
        "lead": lead,
        "analyst": member_of(programme, Role.ANALYST),
        "facilitator": member_of(programme, Role.FACILITATOR),
        "assessment": assessment,
    }


def _add(scene: dict[str, Any], content: bytes | None = None, **kwargs: Any) -> FormVersion:
    return services.form_add(
        acting_user=kwargs.pop("user", scene["lead"]),
        assessment=kwargs.pop("assessment", scene["assessment"]),
        file_name=kwargs.pop("file_name", "safety.xlsx"),
        content=content if content is not None else safety_survey(**kwargs),
    )


def _classify_all(scene: dict[str, Any], version: FormVersion, value: str = "internal") -> None:
    services.sensitivity_set(
        acting_user=scene["lead"],
        version=version,
        classes=dict.fromkeys(version.fields_lacking_sensitivity(), value),
    )


# ----------------------------------------------------------------------------------------
# Assessments.


def test_an_assessment_is_created_and_audited(scene: dict[str, Any]) -> None:
    assessment = scene["assessment"]
    event = AuditEvent.objects.get(object_type="fieldwork.assessment", object_id=assessment.pk)

    assert (event.verb, event.actor, event.programme) == (
        Verb.CREATED,
        scene["lead"],
        scene["programme"],
    )


def test_a_facilitator_may_not_create_an_assessment(scene: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        services.assessment_create(
            acting_user=scene["facilitator"],
            programme=scene["programme"],
            title="Rapid",
            kind="rapid",
        )
    assert Assessment.objects.count() == 1


def test_an_assessment_checks_its_places_dates_and_title(scene: dict[str, Any]) -> None:
    elsewhere = Place.objects.get(code="UZ-JI-JIZ")
    with pytest.raises(ValidationError) as caught:
        services.assessment_create(
            acting_user=scene["lead"],
            programme=scene["programme"],
            title="Endline",
            kind="endline",
            places=[elsewhere],
        )
    assert caught.value.message_dict == {"places": ["Choose places that this programme works in."]}
    with pytest.raises(ValidationError) as caught:
        services.assessment_create(
            acting_user=scene["lead"],
            programme=scene["programme"],
            title="Endline",
            kind="endline",
            starts_on=datetime.date(2024, 5, 1),
            ends_on=datetime.date(2024, 4, 1),
        )
    assert caught.value.message_dict == {"ends_on": ["Fieldwork cannot end before it starts."]}
    with pytest.raises(ValidationError):
        services.assessment_create(
            acting_user=scene["lead"],
            programme=scene["programme"],
            title="Baseline 2024",
            kind="endline",
        )
    assert Assessment.objects.count() == 1


def test_an_assessment_update_is_audited_with_its_changes(scene: dict[str, Any]) -> None:
    vakhsh = Place.objects.get(code="TJ-KT-VAK")
    services.assessment_update(
        acting_user=scene["analyst"],
        assessment=scene["assessment"],
        title="Baseline, spring 2024",
        places=[vakhsh],
    )
    event = AuditEvent.objects.filter(verb=Verb.UPDATED).get()

    assert event.details["changes"] == {
        "title": ["Baseline 2024", "Baseline, spring 2024"],
        "places": [[], [vakhsh.pk]],
    }
    assert list(scene["assessment"].places.all()) == [vakhsh]


def test_the_sampling_design_must_name_fields_of_the_forms(scene: dict[str, Any]) -> None:
    _add(scene)
    with pytest.raises(ValidationError) as caught:
        services.assessment_update(
            acting_user=scene["lead"], assessment=scene["assessment"], weight_field="wieght"
        )
    assert caught.value.message_dict == {
        "weight_field": ["No form of this assessment has a field “wieght”."]
    }
    scene["assessment"].refresh_from_db()
    assert scene["assessment"].weight_field == ""
    services.assessment_update(
        acting_user=scene["lead"], assessment=scene["assessment"], strata_field="region"
    )


# ----------------------------------------------------------------------------------------
# Forms.


def test_the_first_upload_creates_the_form_and_its_version(scene: dict[str, Any]) -> None:
    content = safety_survey()
    version = _add(scene, content)
    form = version.form

    assert (form.form_id, form.title, form.is_open) == (
        "safety_survey",
        "Community safety survey",
        False,
    )
    assert version.version == "2024060101"
    assert version.languages == ["English (en)", "Russian (ru)", "Tajik (tg)"]
    assert version.xlsform_name == "safety.xlsx"
    assert bytes(version.xlsform) == content  # the file as uploaded
    assert version.created_by == scene["lead"]
    assert version.fields_lacking_sensitivity() == UNDECIDED
    assert version.sensitivity["respondent_name"] == "sensitive"
    event = AuditEvent.objects.get(object_type="fieldwork.formversion")
    assert event.details == {
        "form": form.pk,
        "form_id": "safety_survey",
        "version": "2024060101",
        "file": "safety.xlsx",
        "fields": 14,
        "new_form": True,
    }


def test_a_new_version_lives_beside_the_old_and_keeps_its_classes(scene: dict[str, Any]) -> None:
    first = _add(scene)
    services.sensitivity_set(
        acting_user=scene["lead"],
        version=first,
        classes={"age": "public", "respondent_name": "personal"},
    )
    second = _add(scene, version="2024070101")

    assert second.form_id == first.form_id
    assert list(Form.objects.get().versions.values_list("version", flat=True)) == [
        "2024070101",
        "2024060101",
    ]
    assert second.sensitivity["age"] == "public"
    assert second.sensitivity["respondent_name"] == "personal"
    assert Form.objects.get().current_version() == second


def test_a_version_already_here_is_refused_and_nothing_changes(scene: dict[str, Any]) -> None:
    _add(scene)
    events = AuditEvent.objects.count()
    with pytest.raises(FormError) as caught:
        _add(scene)

    [problem] = caught.value.problems
    assert problem.message == (
        "Version “2024060101” of the form “safety_survey” is already here. Change the version "
        "on the settings sheet and upload the form again."
    )
    assert (problem.sheet, problem.column) == ("settings", "version")
    assert FormVersion.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_a_broken_form_stores_nothing(scene: dict[str, Any]) -> None:
    events = AuditEvent.objects.count()
    with pytest.raises(FormError):
        _add(scene, workbook({"survey": [HEADER, ["txet", "a", "A"]]}))

    assert Form.objects.count() == 0
    assert FormVersion.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_only_leads_and_analysts_add_forms(scene: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        _add(scene, user=scene["facilitator"])
    _add(scene, user=scene["analyst"])
    assert FormVersion.objects.count() == 1


def test_the_system_adds_forms_as_the_cli(scene: dict[str, Any]) -> None:
    services.form_add(
        acting_user=None,
        actor_label="cli",
        assessment=scene["assessment"],
        file_name="safety.xlsx",
        content=safety_survey(),
    )
    event = AuditEvent.objects.get(object_type="fieldwork.formversion")
    assert (event.actor, event.actor_label) == (None, "cli")


# ----------------------------------------------------------------------------------------
# Sensitivity.


def test_sensitivity_is_set_and_the_changes_audited(scene: dict[str, Any]) -> None:
    version = _add(scene)
    services.sensitivity_set(
        acting_user=scene["analyst"],
        version=version,
        classes={"age": "public", "sex": "public", "respondent_name": None},
    )
    version.refresh_from_db()

    assert version.sensitivity["age"] == "public"
    assert "respondent_name" not in version.sensitivity
    event = AuditEvent.objects.get(verb=Verb.UPDATED, object_type="fieldwork.formversion")
    assert event.details == {
        "sensitivity": {
            "age": [None, "public"],
            "respondent_name": ["sensitive", None],
            "sex": [None, "public"],
        }
    }


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({"nope": "public"}, "This version has no field nope."),
        ({"age": "secret"}, "Choose public, internal, personal or sensitive for age."),
    ],
)
def test_unknown_fields_and_classes_are_refused(
    scene: dict[str, Any], classes: dict[str, str], message: str
) -> None:
    version = _add(scene)
    with pytest.raises(ValidationError) as caught:
        services.sensitivity_set(acting_user=scene["lead"], version=version, classes=classes)
    assert caught.value.messages == [message]
    version.refresh_from_db()
    assert "age" not in version.sensitivity


def test_a_version_with_submissions_keeps_its_classes(scene: dict[str, Any]) -> None:
    version = _add(scene)
    Submission.objects.create(
        form=version.form,
        form_version=version,
        instance_id="uuid:1",
        content_hash="x",
        submitted_at=timezone.now(),
        source=Submission.Source.IMPORT,
    )
    with pytest.raises(ValidationError) as caught:
        services.sensitivity_set(
            acting_user=scene["lead"], version=version, classes={"respondent_name": "public"}
        )
    assert "already holds submissions" in caught.value.messages[0]
    version.refresh_from_db()
    assert version.sensitivity["respondent_name"] == "sensitive"


# ----------------------------------------------------------------------------------------
# Publishing.


def test_publishing_is_refused_while_fields_lack_a_class(scene: dict[str, Any]) -> None:
    version = _add(scene)
    with pytest.raises(ValidationError) as caught:
        services.form_publish(acting_user=scene["lead"], form=version.form)

    assert caught.value.messages == [
        "Set a sensitivity class for every field before publishing. Still without one: "
        "version “2024060101”: age, sex, region, district, concerns and "
        "household/member/member_age."
    ]
    assert not Form.objects.get().is_open


def test_a_classified_form_is_published_and_closed(scene: dict[str, Any]) -> None:
    version = _add(scene)
    _classify_all(scene, version)
    form = services.form_publish(acting_user=scene["lead"], form=version.form)

    assert form.is_open and Form.objects.get().is_open
    services.form_close(acting_user=scene["analyst"], form=form)
    assert not Form.objects.get().is_open
    changes = [
        e.details["changes"]["is_open"]
        for e in AuditEvent.objects.filter(object_type="fieldwork.form").order_by("pk")
    ]
    assert changes == [[False, True], [True, False]]


def test_an_open_form_refuses_to_lose_a_class_or_gain_an_unclassified_version(
    scene: dict[str, Any],
) -> None:
    version = _add(scene)
    _classify_all(scene, version)
    services.form_publish(acting_user=scene["lead"], form=version.form)

    with pytest.raises(ValidationError) as caught:
        services.sensitivity_set(acting_user=scene["lead"], version=version, classes={"age": ""})
    assert "every field needs a class" in caught.value.messages[0]

    sheets_with_new_field = workbook(
        {
            "survey": [HEADER, ["integer", "age", "Age"], ["integer", "income", "Income"]],
            "settings": [["form_id", "version"], ["safety_survey", "2"]],
        }
    )
    with pytest.raises(FormError) as form_error:
        _add(scene, sheets_with_new_field)
    assert "these fields of the new version have no sensitivity class yet: income" in str(
        form_error.value.problems[0]
    )
    assert FormVersion.objects.count() == 1


def test_a_form_id_open_in_another_assessment_of_the_programme_is_refused(
    scene: dict[str, Any],
) -> None:
    first = _add(scene)
    _classify_all(scene, first)
    services.form_publish(acting_user=scene["lead"], form=first.form)
    endline = services.assessment_create(
        acting_user=scene["lead"], programme=scene["programme"], title="Endline", kind="endline"
    )
    second = _add(scene, assessment=endline)
    _classify_all(scene, second)

    with pytest.raises(ValidationError) as caught:
        services.form_publish(acting_user=scene["lead"], form=second.form)
    assert (
        "already open for collection in the assessment “Baseline 2024”"
        in (caught.value.messages[0])
    )


def test_a_facilitator_may_not_publish(scene: dict[str, Any]) -> None:
    version = _add(scene)
    _classify_all(scene, version)
    with pytest.raises(PermissionDenied):
        services.form_publish(acting_user=scene["facilitator"], form=version.form)
    assert not Form.objects.get().is_open

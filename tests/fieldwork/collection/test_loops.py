"""A form with ``begin loop over`` a list, sent from a phone: the submission names one group
per choice, as pyxform's instance does, and every answer in it is stored under that path."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from defusedxml import ElementTree as defused

from amniyat.accounts.models import Membership
from amniyat.fieldwork.collection.services import device_create, submission_receive
from amniyat.fieldwork.forms.services import (
    assessment_create,
    form_add,
    form_publish,
    sensitivity_set,
)
from amniyat.fieldwork.imports.schema import stored_answers
from tests.factories import ProgrammeFactory, member_of

# KoboToolbox's transportation.xls, from kpi's test fixtures (see imports/real/README.md).
FORM = Path(__file__).resolve().parents[1] / "imports" / "real" / "loop" / "form.xlsx"
LOOP = "transport/loop_over_transport_types_frequency"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_a_phones_answers_inside_a_loop_are_stored_per_choice() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Membership.Role.LEAD)
    assessment = assessment_create(
        acting_user=lead, programme=programme, title="Baseline", kind="baseline"
    )
    version = form_add(
        acting_user=lead, assessment=assessment, file_name="form.xlsx", content=FORM.read_bytes()
    )
    sensitivity_set(
        acting_user=lead,
        version=version,
        classes={field["path"]: "public" for field in version.schema},
    )
    form_publish(acting_user=lead, form=version.form)
    device, _password = device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[assessment],
        username="phone-loop",
    )
    # The form's own instance, filled in as ODK Collect fills it in.
    template = defused.fromstring(version.xform).find(
        ".//{http://www.w3.org/2002/xforms}instance/*"
    )
    assert template is not None
    answers = {
        "transport/available_transportation_types_to_referral_facility": "ambulance bicycle",
        f"{LOOP}/ambulance/frequency_to_referral_facility": "daily",
        f"{LOOP}/bicycle/frequency_to_referral_facility": "weekly",
        "meta/instanceID": "uuid:loop-1",
    }
    submission_receive(device=device, xml=tostring(_filled(template, answers, ())))

    stored = version.form.submissions.get()
    # Each is a question of the form, classed public, so stored plain: an element the form
    # does not know would be kept encrypted, as protected.
    assert stored.protected_data in ("", None, "{}")
    assert stored_answers(stored.data, stored.protected_data or "") == {
        "transport/available_transportation_types_to_referral_facility": ["ambulance", "bicycle"],
        f"{LOOP}/ambulance/frequency_to_referral_facility": "daily",
        f"{LOOP}/bicycle/frequency_to_referral_facility": "weekly",
    }


def _filled(node: Element, answers: dict[str, str], above: tuple[str, ...]) -> Element:
    copy = Element(node.tag.split("}")[-1], dict(node.attrib))
    for child in node:
        name = child.tag.split("}")[-1]
        path = (*above, name)
        if len(child):
            copy.append(_filled(child, answers, path))
        else:
            SubElement(copy, name).text = answers.get("/".join(path), "")
    return copy

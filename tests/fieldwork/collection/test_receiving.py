"""The form versions a submission is checked against are read once per programme collection
revision, not once per submission; every change to what a device may send to is seen on
the very next request."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amniyat.accounts.models import Membership, Programme
from amniyat.demo import survey as demo_survey
from amniyat.fieldwork.collection import services
from amniyat.fieldwork.collection.openrosa import auth
from amniyat.fieldwork.forms.services import form_add, form_close, form_publish, sensitivity_set
from amniyat.fieldwork.models import Submission
from amniyat.places import selectors as places_selectors
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.collection.openrosa_helpers import (
    PASSWORD_HASHERS,
    Collect,
    make_form,
    submission_xml,
)

Role = Membership.Role


@pytest.fixture(autouse=True)
def _fast_hashes_and_media(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    form, version = make_form(programme)
    device, password = services.device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username="receiving-phone",
    )
    return {
        "programme": programme,
        "lead": lead,
        "form": form,
        "version": version,
        "collect": Collect(device.username, password),
        "url": f"/collect/{programme.slug}/submission",
    }


def _send(scene: dict[str, Any], n: int, **kwargs: Any) -> Any:
    xml = submission_xml(f"uuid:4b1f0c7e-0000-4000-8000-{n:012d}", **kwargs)
    return scene["collect"].submit(scene["url"], xml)


def test_a_known_version_is_not_read_again(scene: dict[str, Any]) -> None:
    assert _send(scene, 1).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert _send(scene, 2).status_code == 201
    assert not [q for q in queries.captured_queries if "fieldwork_formversion" in q["sql"]]


def test_a_closed_form_is_refused_at_once_and_a_reopened_one_accepted(
    scene: dict[str, Any],
) -> None:
    assert _send(scene, 1).status_code == 201
    form_close(acting_user=scene["lead"], form=scene["form"])
    assert _send(scene, 2).status_code == 404
    form_publish(acting_user=scene["lead"], form=scene["form"])
    assert _send(scene, 3).status_code == 201
    assert Submission.objects.count() == 2


def test_new_sensitivity_classes_are_used_at_once(scene: dict[str, Any]) -> None:
    """A version that holds no submission yet may still be reclassed: the next submission is
    split by the new classes, not by those read before."""
    assert _send(scene, 1, age="not a number").status_code == 400  # read, nothing stored
    version = scene["version"]
    sensitivity_set(acting_user=scene["lead"], version=version, classes={"/data/name": "public"})
    assert _send(scene, 2).status_code == 201
    stored = Submission.objects.get()
    assert stored.data["/data/name"] == "Dilnoza"  # public now: not in the encrypted part


@pytest.mark.parametrize("change", ["close", "publish", "sensitivity", "new_version"])
def test_every_change_to_what_devices_send_to_gives_a_new_revision(
    scene: dict[str, Any], change: str
) -> None:
    programme: Programme = scene["programme"]
    before = Programme.objects.get(pk=programme.pk).collection_revision
    lead, form = scene["lead"], scene["form"]
    if change == "close":
        form_close(acting_user=lead, form=form)
    elif change == "publish":
        form_close(acting_user=lead, form=form)
        before = Programme.objects.get(pk=programme.pk).collection_revision
        form_publish(acting_user=lead, form=form)
    elif change == "sensitivity":
        sensitivity_set(acting_user=lead, version=scene["version"], classes={"/data/age": "public"})
    else:
        form_add(
            acting_user=lead,
            assessment=form.assessment,
            file_name="community_security_tj.xlsx",
            content=demo_survey.build_xlsform("TJ"),
        )
    assert Programme.objects.get(pk=programme.pk).collection_revision != before


def test_the_reads_of_every_submission_run_sql_written_once(scene: dict[str, Any]) -> None:
    """The device, the resend check and the place named: none falls back to the ORM."""
    assert _send(scene, 1).status_code == 201
    reads = (auth._DEVICE_READ, services._STORED_READ, places_selectors._PLACES_NAMED)
    for read in reads:
        assert read._compiled
        assert None not in read._compiled.values()

"""What the fieldwork pages cost the server: each reads as many queries for a form of 3 fields
and 3 submissions as for one of 30 fields and 30 submissions (no query per field, choice,
submission or place), and none reads more than a few. Twenty readers at once share two web
workers, so a page must take a few tens of milliseconds (#14 point 3)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Form, Submission
from amniyat.places import services
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of, shipped_place
from tests.fieldwork.imports.test_importers import make_form
from tests.queries import differences, queries_of

Role = Membership.Role
DISTRICTS = ("TJ-KT-VAK", "TJ-KT-KUL", "TJ-KT-HAM")


def _schema(size: int) -> list[dict[str, Any]]:
    """``size`` questions of three choices each, labelled in English and Russian."""
    return [
        {
            "name": f"q{i}",
            "path": f"q{i}",
            "type": "select_one",
            "label": {"en": f"Question {i}", "ru": f"Вопрос {i}"},
            "choices": [
                {"name": name, "label": {"en": name.title(), "ru": name.upper()}}
                for name in ("yes", "no", "maybe")
            ],
        }
        for i in range(size)
    ]


def _scene(size: int) -> tuple[Form, dict[str, Client]]:
    """A form of ``size`` questions and ``size`` submissions from three districts, and a
    client for its programme's lead and analyst."""
    places = [shipped_place(code) for code in DISTRICTS]
    programme = ProgrammeFactory(districts=places)
    schema = _schema(size)
    form = make_form(programme, schema=schema, sensitivity=dict.fromkeys(
        (q["path"] for q in schema), "public"
    ))  # fmt: skip
    version = form.versions.get()
    start = timezone.now() - datetime.timedelta(days=size)
    Submission.objects.bulk_create(
        Submission(
            form=form,
            form_version=version,
            instance_id=f"uuid:{form.pk}-{n}",
            content_hash=f"{form.pk}-{n}",
            place=places[n % len(places)],
            submitted_at=start + datetime.timedelta(days=n),
            data={q["path"]: ("yes", "no", "maybe")[n % 3] for q in schema},
            source=Submission.Source.IMPORT,
        )
        for n in range(size)
    )
    clients = {}
    for role in (Role.LEAD, Role.ANALYST):
        clients[role] = Client()
        clients[role].force_login(member_of(programme, role))
    # A facilitator whose organisation works in two of the three districts.
    partner = OrganisationFactory(name=f"Partner of {programme.slug}")
    clients[Role.FACILITATOR] = Client()
    clients[Role.FACILITATOR].force_login(
        member_of(programme, Role.FACILITATOR, organisation=partner)
    )
    services.partner_area_assign(
        acting_user=None, programme=programme, organisation=partner, places=places[:2]
    )
    return form, clients


def _pages(form: Form) -> list[tuple[str, str]]:
    slug, assessment = form.assessment.programme.slug, form.assessment
    return [
        (Role.LEAD, f"/p/{slug}/forms/{form.pk}/submissions/"),
        (Role.ANALYST, f"/p/{slug}/forms/{form.pk}/submissions/"),
        (Role.FACILITATOR, f"/p/{slug}/forms/{form.pk}/submissions/"),
        (Role.LEAD, f"/p/{slug}/forms/{form.pk}/submissions/export/"),
        (Role.ANALYST, f"/p/{slug}/assessments/forms/{form.pk}/"),
        (Role.ANALYST, f"/p/{slug}/assessments/forms/{form.pk}/sensitivity/"),
        (Role.LEAD, f"/p/{slug}/forms/{form.pk}/import/"),
        (Role.LEAD, f"/p/{slug}/assessments/"),
        (Role.LEAD, f"/p/{slug}/assessments/new/"),
        (Role.LEAD, f"/p/{slug}/assessments/{assessment.pk}/"),
        (Role.LEAD, f"/p/{slug}/assessments/{assessment.pk}/edit/"),
    ]


# The most any of these pages reads, the session, the user and the programme included: the
# submissions table, as much for a facilitator as for a lead, since a facilitator's area is one
# recursive subquery inside the queries that count and list the submissions and their places
# (policies.facilitator_area), not a query per level of places (13 then, 16 before that).
MOST_QUERIES = 12


@pytest.mark.django_db
def test_fieldwork_pages_read_as_much_for_3_fields_and_submissions_as_for_30() -> None:
    counts = []
    for size in (3, 30):
        form, clients = _scene(size)
        counts.append([queries_of(clients[role], url) for role, url in _pages(form)])
    assert [len(q) for q in counts[0]] == [len(q) for q in counts[1]], differences(*counts)
    most = max(counts[1], key=len)
    assert len(most) <= MOST_QUERIES, str(most)


@pytest.mark.django_db
def test_a_forms_page_lists_each_questions_choices_in_each_language() -> None:
    """The choices' lists are written by the view, a list per language, each label escaped."""
    form, clients = _scene(2)
    version = form.versions.get()
    version.schema[0]["choices"][0]["label"]["en"] = "<b>Yes</b>"
    version.save(update_fields=["schema"])
    slug = form.assessment.programme.slug
    page = clients[Role.ANALYST].get(f"/p/{slug}/assessments/forms/{form.pk}/").content.decode()
    assert "<li><code>yes</code> &lt;b&gt;Yes&lt;/b&gt;</li>" in page
    assert "<li><code>no</code> NO</li>" in page  # the Russian column
    assert page.count("<summary><small>3 choices</small></summary>") == 4  # 2 questions × 2


@pytest.mark.django_db
def test_the_submissions_table_writes_each_answer_as_it_is() -> None:
    """Answers are written once per question and value, and told apart by type: 1, 1.0 and
    True are equal in Python but are three different answers; each is escaped."""
    form, clients = _scene(1)
    Submission.objects.filter(form=form).delete()
    schema = [{"name": "n", "path": "n", "type": "decimal", "label": {"en": "N"}}]
    version = form.versions.get()
    version.schema, version.sensitivity = schema, {"n": "public"}
    version.save(update_fields=["schema", "sensitivity"])
    answers = (1, 1.0, True, "<b>1</b>", 1)
    Submission.objects.bulk_create(
        Submission(
            form=form,
            form_version=version,
            instance_id=f"uuid:n{n}",
            content_hash=f"n{n}",
            submitted_at=timezone.now() - datetime.timedelta(days=n),
            data={"n": answer},
            source=Submission.Source.IMPORT,
        )
        for n, answer in enumerate(answers)
    )
    slug = form.assessment.programme.slug
    page = clients[Role.LEAD].get(f"/p/{slug}/forms/{form.pk}/submissions/").content.decode()
    cells = re.findall(r"<td>([^<]*)</td></tr>", page)  # a row's last cell: the answer
    assert cells == ["1", "1.0", "True", "&lt;b&gt;1&lt;/b&gt;", "1"]

"""The counts a programme's home page and representativeness page keep between requests
(``selectors._kept``): after every kind of change to its groups, members and targets, what is
kept is what counting them afresh gives, and the home page's second request counts nothing."""

from __future__ import annotations

import ast
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

import amniyat
from amniyat.accounts.models import Membership, Programme, User
from amniyat.communities import selectors, services
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    RepresentationTargetFactory,
    member_of,
)
from tests.queries import queries_of

Role = Membership.Role
DAY = datetime.date(2022, 3, 1)
MEMBERS = 'FROM "communities_groupmember"'


def _figures(user: User, programme: Programme, on: datetime.date = DAY) -> tuple[Any, ...]:
    overview = selectors.targets_overview(user=user, programme=programme, on=on, named=1)
    overall, rows = selectors.programme_representativeness(user=user, programme=programme, on=on)
    return overview, overall, rows


def _afresh(user: User, programme: Programme, on: datetime.date = DAY) -> tuple[Any, ...]:
    cache.clear()
    return _figures(user, programme, on)


@pytest.fixture
def programme() -> Programme:
    """Three groups of three members: "A" meets the target of 40 % women, "B" and "D" do not
    (the home page names "B", the first by name)."""
    programme = ProgrammeFactory()
    RepresentationTargetFactory(programme=programme)
    for name, sexes in (
        ("A", ["female", "female", "male"]),
        ("B", ["male", "male", "male"]),
        ("D", ["male", "male", "female"]),
    ):
        group = CommunityGroupFactory(programme=programme, name=name)
        for sex in sexes:
            GroupMemberFactory(group=group, sex=sex)
    return programme


def _group(programme: Programme, name: str) -> CommunityGroup:
    return CommunityGroup.objects.get(programme=programme, name=name)


def _member(programme: Programme, name: str, sex: str) -> GroupMember:
    member = GroupMember.objects.filter(group=_group(programme, name), sex=sex).first()
    assert member is not None
    return member


CHANGES: dict[str, Callable[[User, Programme], object]] = {
    "member added": lambda lead, p: services.member_add(
        acting_user=lead,
        group=_group(p, "B"),
        sex="female",
        age_band="18_24",
        joined_on=datetime.date(2021, 12, 1),
    ),
    "member changed": lambda lead, p: services.member_update(
        acting_user=lead, member=_member(p, "A", "male"), age_band="18_24"
    ),
    "member left": lambda lead, p: services.member_leave(
        acting_user=lead, member=_member(p, "A", "female"), on=datetime.date(2022, 1, 15)
    ),
    "group renamed": lambda lead, p: services.group_update(
        acting_user=lead, group=_group(p, "D"), name="0 first by name"
    ),
    "group added": lambda lead, p: services.group_create(
        acting_user=lead,
        programme=p,
        name="0 first by name",
        kind=CommunityGroup.Kind.COMMUNITY_GROUP,
        place=p.places.get(),
        facilitating_organisation=p.lead_organisation,
        established_on=datetime.date(2021, 9, 1),
    ),
    "target set": lambda lead, p: services.target_set(
        acting_user=lead,
        programme=p,
        dimension=RepresentationTarget.Dimension.YOUTH,
        min_count=1,
    ),
    "target changed": lambda lead, p: services.target_set(
        acting_user=lead,
        programme=p,
        dimension=RepresentationTarget.Dimension.WOMEN,
        min_share=70,
    ),
    "target deleted": lambda lead, p: services.target_delete(
        acting_user=lead, target=RepresentationTarget.objects.get(programme=p)
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("role", [Role.LEAD, Role.FACILITATOR, Role.VIEWER])
def test_what_is_kept_is_counted_afresh_after_every_change(
    programme: Programme, change: str, role: str
) -> None:
    lead = member_of(programme, Role.LEAD)
    reader = lead if role == Role.LEAD else member_of(programme, role)
    before = _figures(reader, programme)
    assert _figures(reader, programme) == before == _afresh(reader, programme)
    _figures(reader, programme)  # kept again
    CHANGES[change](lead, programme)
    shown = _figures(reader, programme)
    after = _afresh(reader, programme)
    # What was kept before the change is not shown after it...
    assert shown == after
    # ...and each change changes what the pages show (else this test could not fail), but a
    # group's name, which those who see aggregates only are not shown.
    assert (after != before) is not (role == Role.VIEWER and change == "group renamed")


@pytest.mark.django_db
def test_counts_are_kept_for_the_day_they_are_counted_on(programme: Programme) -> None:
    lead = member_of(programme, Role.LEAD)
    member = _member(programme, "B", "male")
    GroupMember.objects.filter(pk=member.pk).update(left_on=datetime.date(2022, 3, 2))
    on_the_day = _figures(lead, programme)
    next_day = datetime.date(2022, 3, 2)
    shown = _figures(lead, programme, next_day)
    assert shown == _afresh(lead, programme, next_day)
    assert shown != on_the_day


@pytest.mark.django_db
def test_a_facilitator_is_not_given_what_is_kept_for_the_lead(programme: Programme) -> None:
    partner = OrganisationFactory()
    programme.partners.add(partner)
    partner_group = CommunityGroupFactory(
        programme=programme, name="Partner's", facilitating_organisation=partner
    )
    GroupMemberFactory(group=partner_group)
    lead = member_of(programme, Role.LEAD)
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    kept_for_the_lead = _figures(lead, programme)
    shown = _figures(facilitator, programme)
    assert shown == _afresh(facilitator, programme)
    assert shown[1] != kept_for_the_lead[1]


@pytest.mark.django_db
def test_the_home_page_counts_the_members_once(programme: Programme) -> None:
    client = Client()
    client.force_login(member_of(programme, Role.LEAD))
    url = f"/p/{programme.slug}/"
    first = queries_of(client, url, warm=False)
    second = queries_of(client, url, warm=False)
    assert [q for q in first if MEMBERS in q]
    assert not [q for q in second if MEMBERS in q]
    assert len(second) < len(first)


# Every way the code writes groups, members or targets: the ORM's writes on their managers or
# querysets, and saves and deletes of instances of them.
SOURCE = Path(amniyat.__file__).parent
_MODELS = ("CommunityGroup", "GroupMember", "RepresentationTarget")
_WRITES = ("create", "bulk_create", "update", "delete", "bulk_update", "get_or_create")
_INSTANCES = ("group", "member", "target")


def _writes_members(tree: ast.AST, text: str) -> bool:
    for node in ast.walk(tree):
        # An admin of the models writes through Django's ModelAdmin methods.
        if (
            isinstance(node, ast.FunctionDef)
            and node.name in ("save_model", "delete_model", "delete_queryset")
            and any(model in text for model in _MODELS)
        ):
            return True
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        if node.func.attr in _WRITES and receiver.startswith(
            tuple(f"{model}.objects" for model in _MODELS)
        ):
            return True
        if node.func.attr in ("save", "delete") and receiver in _INSTANCES:
            return True
    return False


def test_every_module_that_writes_members_changes_the_revision() -> None:
    """A new write path (a bulk import of members, a merge of groups) must call
    ``members_changed`` in its transaction, or programme pages would show old counts."""
    writers = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if _writes_members(ast.parse(text), text):
            writers[path.relative_to(SOURCE).as_posix()] = "members_changed(" in text
    # The writers known today are found, so the search itself works.
    assert {"communities/services.py", "communities/admin.py", "demo/build.py"} <= set(writers)
    # Translations save a group's names in other languages (its ``target``), which no count
    # reads.
    writers.pop("accounts/translations/services.py", None)
    assert [path for path, changes in writers.items() if not changes] == []

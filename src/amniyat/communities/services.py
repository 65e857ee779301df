"""Every write to community groups, their members and the programme's composition targets."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record, audit_records_across
from amniyat.communities.models import (
    CommunityGroup,
    GroupMember,
    MembersRevision,
    RepresentationTarget,
    new_members_revision,
)
from amniyat.core.services import changed_fields
from amniyat.places.models import Place
from amniyat.places.selectors import programme_place_ids
from amniyat.places.services import check_in_partner_area

Verb = AuditEvent.Verb
GROUP_FIELDS = (
    "name",
    "kind",
    "place",
    "facilitating_organisation",
    "is_new",
    "established_on",
    "closed_on",
    "description",
)
MEMBER_FIELDS = ("display_name", "sex", "age_band", "sectors", "joined_on", "left_on")


def members_changed(*, programme_id: int) -> None:
    """Give the programme's members revision (:class:`MembersRevision`) a new value, in the
    transaction of the change: every write to its groups, members or targets calls this, and
    so must any new one (a bulk writer too; ``tests/communities/test_kept_counts.py`` reads
    the source for writers that do not), or its home page's figures stay those counted
    before it."""
    MembersRevision.objects.bulk_create(
        [MembersRevision(programme_id=programme_id, revision=new_members_revision())],
        update_conflicts=True,
        unique_fields=["programme"],
        update_fields=["revision"],
    )


def _check_group_invariants(group: CommunityGroup, acting_user: User | None) -> None:
    group.full_clean()
    programme = group.programme
    if group.place_id not in programme_place_ids(programme) or group.place.level not in (
        Place.Level.DISTRICT,
        Place.Level.COMMUNITY,
    ):
        raise ValidationError(
            {"place": _("Choose a district or community that this programme works in.")}
        )
    if group.facilitating_organisation_id not in programme.taking_part_ids(with_donor=False):
        raise ValidationError(
            {"facilitating_organisation": _("This organisation is not a partner of the programme.")}
        )
    if acting_user is not None:
        # A facilitator's group sits in their organisation's assigned area: where a group is
        # never decides what its facilitators read, but a group outside it would be work
        # they could not follow.
        check_in_partner_area(acting_user, programme, group.place, field="place")
        own = policies.organisation_for_new_group(acting_user, programme)
        if own is not None and group.facilitating_organisation_id != own:
            raise ValidationError(
                {
                    "facilitating_organisation": _(
                        "You can only add groups facilitated by your own organisation."
                    )
                }
            )


def group_create(
    *, acting_user: User | None, programme: Programme, **values: Any
) -> CommunityGroup:
    if acting_user is not None:
        require(acting_user, "group.create", programme)
    group = CommunityGroup(programme=programme, **values)
    _check_group_invariants(group, acting_user)
    with transaction.atomic():
        group.save()
        members_changed(programme_id=programme.pk)
        audit_record(actor=acting_user, verb=Verb.CREATED, obj=group, programme=programme)
    return group


def group_update(*, acting_user: User, group: CommunityGroup, **values: Any) -> CommunityGroup:
    require(acting_user, "group.edit", group)
    unknown = set(values) - set(GROUP_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    changes = changed_fields(group, values)
    if not changes:
        return group
    _check_group_invariants(group, acting_user)
    with transaction.atomic():
        group.save(update_fields=[*changes, "updated_at"])
        members_changed(programme_id=group.programme_id)
        audit_record(
            actor=acting_user,
            verb=Verb.UPDATED,
            obj=group,
            programme=group.programme,
            details={"changes": changes},
        )
    return group


def _check_member(member: GroupMember) -> None:
    member.full_clean()
    group = member.group
    if group.established_on and member.joined_on < group.established_on:
        raise ValidationError(
            {"joined_on": _("A member cannot join before the group was established.")}
        )
    if group.closed_on and member.joined_on > group.closed_on:
        raise ValidationError({"joined_on": _("The group had closed by then.")})


def member_add(*, acting_user: User | None, group: CommunityGroup, **values: Any) -> GroupMember:
    if acting_user is not None:
        require(acting_user, "member.create", group)
    values["sectors"] = sorted(set(values.get("sectors") or []))
    if acting_user is not None and not policies.can(acting_user, "member.view_personal", group):
        # Someone who may not read names may not record them either.
        values.pop("display_name", None)
    member = GroupMember(group=group, **values)
    _check_member(member)
    with transaction.atomic():
        member.save()
        members_changed(programme_id=group.programme_id)
        audit_record(
            actor=acting_user,
            verb=Verb.CREATED,
            obj=member,
            programme=group.programme,
            details={"group": group.pk},
        )
    return member


def member_update(*, acting_user: User, member: GroupMember, **values: Any) -> GroupMember:
    require(acting_user, "member.edit", member)
    unknown = set(values) - set(MEMBER_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "sectors" in values:
        values["sectors"] = sorted(set(values["sectors"] or []))
    if "display_name" in values and not policies.can(acting_user, "member.view_personal", member):
        # Someone who may not read the name may not overwrite it either.
        values.pop("display_name")
    changes = changed_fields(member, values)
    if not changes:
        return member
    _check_member(member)
    with transaction.atomic():
        member.save(update_fields=list(changes))
        members_changed(programme_id=member.group.programme_id)
        audit_record(
            actor=acting_user,
            verb=Verb.UPDATED,
            obj=member,
            programme=member.group.programme,
            # Field names only: the audit trail must not copy personal data.
            details={"fields": sorted(changes)},
        )
    return member


def member_leave(*, acting_user: User, member: GroupMember, on: datetime.date) -> GroupMember:
    return member_update(acting_user=acting_user, member=member, left_on=on)


def personal_data_viewed(
    *,
    user: User,
    members: list[GroupMember],
    request: HttpRequest | None = None,
) -> None:
    """Record that ``user`` was shown the display names of ``members``: a row per group (its
    members' ids), the rows of a page written at once, whatever groups it holds."""
    by_group: dict[int, list[GroupMember]] = {}
    for member in members:
        by_group.setdefault(member.group_id, []).append(member)
    audit_records_across(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        objects=[
            (shown[0].group, shown[0].group.programme, {"members": [m.pk for m in shown]})
            for shown in by_group.values()
        ],
        request=request,
    )


def target_set(
    *,
    acting_user: User | None,
    programme: Programme,
    dimension: str,
    sector: str = "",
    min_share: Any = None,
    min_count: int | None = None,
) -> RepresentationTarget:
    if acting_user is not None:
        require(acting_user, "target.manage", programme)
    sector = sector if dimension == RepresentationTarget.Dimension.SECTOR else ""
    target = RepresentationTarget.objects.filter(
        programme=programme, dimension=dimension, sector=sector
    ).first() or RepresentationTarget(programme=programme, dimension=dimension, sector=sector)
    target.min_share = min_share
    target.min_count = min_count
    target.full_clean(validate_constraints=False)
    with transaction.atomic():
        created = target.pk is None
        target.save()
        members_changed(programme_id=programme.pk)
        audit_record(
            actor=acting_user,
            verb=Verb.CREATED if created else Verb.UPDATED,
            obj=target,
            programme=programme,
            details={"min_share": str(min_share), "min_count": min_count},
        )
    return target


def target_delete(*, acting_user: User, target: RepresentationTarget) -> None:
    require(acting_user, "target.manage", target.programme)
    with transaction.atomic():
        audit_record(actor=acting_user, verb=Verb.DELETED, obj=target, programme=target.programme)
        target.delete()
        members_changed(programme_id=target.programme_id)

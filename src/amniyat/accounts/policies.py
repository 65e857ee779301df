"""The one policy: who may do what to which object.

Every permission question in Amniyat is a verb asked of :func:`can` ("group.edit",
"member.view_personal", …) or a scope asked of one of the ``*_scope`` functions, which
selectors turn into querysets. Views, the API, the CLI and tasks never look at roles
themselves. An object a user may not see is treated as absent (404), not forbidden.

Roles, per programme:

============  ==============================================================================
lead          everything in the programme, including team, targets and the audit log
analyst       every group and its data in the programme; no team or target changes
facilitator   the groups, notes and maps of their own organisation, and the submissions from
              the places the lead assigned to it (PartnerArea); members' names and
              protected answers only when their membership grants it
group member  their own group (its priorities and action plans), read only; they post
              progress updates on its plan and dispute a reported status
viewer        published, aggregated material only: programme counts and representativeness,
              the public pages of published action plans
============  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from amniyat.accounts.models import Membership, Programme

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from amniyat.accounts.models import User
    from amniyat.communities.models import CommunityGroup, GroupMember
    from amniyat.places.models import Place

    AnyUser = User | AnonymousUser

Role = Membership.Role
FULL_VIEW_ROLES = frozenset({Role.LEAD, Role.ANALYST})
_CACHE_ATTR = "_amniyat_memberships"


def membership_rows() -> QuerySet[Membership]:
    """Memberships as the policy and the pages read them: with the organisation, and the
    programme with its country (named on the home pages; not its outline and population), so
    that a page finds the programme it names among them (``accounts.selectors.programme_get``)
    without another query. Every request builds this statement: each table joined costs
    compiling it, so nothing is joined that only one page reads (the donor)."""
    return Membership.objects.select_related("organisation", "programme__country").defer(
        "programme__country__boundary", "programme__country__population"
    )


def memberships(user: AnyUser) -> dict[int, Membership]:
    """The user's memberships by programme id, cached on the user object, which is read
    afresh for each request: a membership granted or revoked counts from the next request."""
    if not user.is_authenticated or not user.is_active:
        return {}
    cached: dict[int, Membership] | None = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = {m.programme_id: m for m in membership_rows().filter(user_id=user.pk)}
        setattr(user, _CACHE_ATTR, cached)
    return cached


def remember_memberships(user: AnyUser, rows: Iterable[Membership]) -> None:
    """Keep memberships read with the user (``accounts.backends``) for this request."""
    setattr(user, _CACHE_ATTR, {m.programme_id: m for m in rows})


def forget_memberships(user: AnyUser) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def role_in(user: AnyUser, programme: Programme | int) -> str | None:
    programme_id = programme if isinstance(programme, int) else programme.pk
    membership = memberships(user).get(programme_id)
    return membership.role if membership else None


def membership_in(user: AnyUser, programme: Programme | int) -> Membership | None:
    programme_id = programme if isinstance(programme, int) else programme.pk
    return memberships(user).get(programme_id)


def _programmes_with(user: AnyUser, roles: Iterable[str]) -> list[int]:
    wanted = set(roles)
    return [pid for pid, m in memberships(user).items() if m.role in wanted]


# ----------------------------------------------------------------------------------------
# Scopes: the Q objects selectors filter with.


def programme_scope(user: AnyUser) -> Q:
    ids = list(memberships(user))
    return Q(pk__in=ids) if ids else Q(pk__in=[])


def group_scope(user: AnyUser, prefix: str = "") -> Q:
    """Which community groups the user sees; ``prefix`` lets related models reuse it."""
    scope = Q(pk__in=[])
    for programme_id, m in memberships(user).items():
        if m.role in FULL_VIEW_ROLES:
            scope |= Q(**{f"{prefix}programme_id": programme_id})
        elif m.role == Role.FACILITATOR:
            scope |= Q(
                **{
                    f"{prefix}programme_id": programme_id,
                    f"{prefix}facilitating_organisation_id": m.organisation_id,
                }
            )
        elif m.role == Role.GROUP_MEMBER and m.community_group_id:
            scope |= Q(**{f"{prefix}pk" if prefix == "" else f"{prefix}id": m.community_group_id})
    return scope


def place_scope(user: AnyUser) -> Q:
    """Shared reference places for everyone signed in; a programme's own communities for its
    members other than viewers."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    inside = _programmes_with(user, [Role.LEAD, Role.ANALYST, Role.FACILITATOR, Role.GROUP_MEMBER])
    return Q(programme__isnull=True) | Q(programme_id__in=inside)


def organisation_scope(user: AnyUser) -> Q:
    """Organisations taking part in (leading, funding or partnering) the user's programmes."""
    ids = list(memberships(user))
    if not ids:
        return Q(pk__in=[])
    return Q(led_programmes__in=ids) | Q(partner_programmes__in=ids) | Q(funded_programmes__in=ids)


def membership_scope(user: AnyUser) -> Q:
    """Team lists: leads see their programme's team; everyone sees their own membership."""
    lead_of = _programmes_with(user, [Role.LEAD])
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(programme_id__in=lead_of) | Q(user_id=user.pk)


def fieldwork_programmes(user: AnyUser) -> list[int]:
    """Programmes whose assessments and forms the user works with."""
    return _programmes_with(user, [Role.LEAD, Role.ANALYST, Role.FACILITATOR])


# The tables are named as written (places.selectors' recursive queries do the same; the ORM
# has no recursive query); tests/places/test_partner_area.py compares the answer with a walk
# of the tree.
_AREA_SQL = (
    "WITH RECURSIVE area(id) AS ("
    ' SELECT t.place_id FROM "places_partnerarea_places" t'
    ' JOIN "places_partnerarea" a ON t.partnerarea_id = a.id'
    " WHERE a.programme_id = %s AND a.organisation_id = %s"
    ' UNION SELECT p.id FROM "places_place" p JOIN area ON p.parent_id = area.id'
    ") SELECT id FROM area"
)


def facilitator_area(membership: Membership) -> RawSQL:
    """The places a facilitator's organisation works in: those the programme's lead assigned
    to it (:class:`~amniyat.places.models.PartnerArea`), with everything inside them, as a
    subquery that a scope filters with (``place_id__in``): one recursive statement read in
    the query that uses it, whatever the tree's depth, never a copy that a lead's change
    could leave stale.

    Nothing the partner writes (a group, a community, a submission) enters here, so no write
    of theirs widens what they may read."""
    return RawSQL(_AREA_SQL, (membership.programme_id, membership.organisation_id))  # noqa: S611


def facilitator_place_ids(membership: Membership) -> set[int]:
    """:func:`facilitator_area` read now (one query)."""
    from amniyat.places.models import Place

    area = Place.objects.filter(pk__in=facilitator_area(membership)).order_by()
    return set(area.values_list("pk", flat=True))


def partner_place_ids(user: AnyUser, programme: Programme | int) -> set[int] | None:
    """Where ``user`` may put place-bound work (groups, communities) in ``programme``: the
    area their organisation was assigned, for facilitators; ``None`` (the whole programme) for
    leads and analysts."""
    m = membership_in(user, programme)
    if m is not None and m.role == Role.FACILITATOR:
        return facilitator_place_ids(m)
    return None


def submission_scope(user: AnyUser, prefix: str = "") -> Q:
    """Submissions: leads and analysts see their programmes' all; facilitators those from
    their organisation's places; nobody else any."""
    scope = Q(pk__in=[])
    for programme_id, m in memberships(user).items():
        if m.role in FULL_VIEW_ROLES:
            scope |= Q(**{f"{prefix}form__assessment__programme_id": programme_id})
        elif m.role == Role.FACILITATOR:
            scope |= Q(
                **{
                    f"{prefix}form__assessment__programme_id": programme_id,
                    f"{prefix}place_id__in": facilitator_area(m),
                }
            )
    return scope


def report_scope(user: AnyUser, prefix: str = "") -> Q:
    """Reports: leads and analysts see their programmes' all, everyone else in a programme
    its published ones."""
    full = _programmes_with(user, FULL_VIEW_ROLES)
    others = [pid for pid in memberships(user) if pid not in full]
    return Q(**{f"{prefix}programme_id__in": full}) | Q(
        **{f"{prefix}programme_id__in": others, f"{prefix}status": "published"}
    )


def plan_scope(user: AnyUser, prefix: str = "", *, public: bool = False) -> Q:
    """Action plans, as the priority lists they answer: a group's plan is seen by whoever sees
    the group (:func:`group_scope`: leads and analysts, its partner's facilitators, its
    members); a plan of a place rather than a group (platform level) by the programme's leads
    and analysts only.

    ``public``: the plans whose public page the user may read (published, without personal
    data): those above, and the published plans of the programmes where the user is a viewer
    (donors, authorities). Viewers read nothing else of a plan, published or not."""
    full = [pid for pid, m in memberships(user).items() if m.role in FULL_VIEW_ROLES]
    of_group = (
        Q(**{f"{prefix}group__isnull": False})
        & Q(**{f"{prefix}programme_id": F(f"{prefix}group__programme_id")})
        & group_scope(user, f"{prefix}group__")
    )
    scope = Q(**{f"{prefix}programme_id__in": full}) | of_group
    if public:
        viewing = _programmes_with(user, [Role.VIEWER])
        if viewing:
            scope |= Q(
                **{f"{prefix}programme_id__in": viewing, f"{prefix}published_at__isnull": False}
            )
    return scope


def consultation_scope(user: AnyUser, prefix: str = "") -> Q:
    """Consultations, as the action plans of the same group are (:func:`plan_scope`): a
    group's by whoever sees the group; a place's or the whole programme's by the programme's
    leads and analysts."""
    return plan_scope(user, prefix)


def _owned_scope(user: AnyUser, prefix: str = "") -> Q:
    """Objects a partner's team owns (``organisation``): leads and analysts see their
    programmes' all, facilitators their own organisation's, nobody else any."""
    scope = Q(pk__in=[])
    for programme_id, m in memberships(user).items():
        if m.role in FULL_VIEW_ROLES:
            scope |= Q(**{f"{prefix}programme_id": programme_id})
        elif m.role == Role.FACILITATOR:
            scope |= Q(
                **{
                    f"{prefix}programme_id": programme_id,
                    f"{prefix}organisation_id": m.organisation_id,
                }
            )
    return scope


def source_scope(user: AnyUser, prefix: str = "") -> Q:
    """Focus-group, interview and workshop notes (and through them excerpts and passages)."""
    return _owned_scope(user, prefix)


def driver_map_scope(user: AnyUser, prefix: str = "") -> Q:
    """Driver maps: those who analyse see all, facilitators their organisation's, and everyone
    in the programme the published ones."""
    scope = _owned_scope(user, prefix)
    everyone = list(memberships(user))
    if everyone:
        scope |= Q(
            **{f"{prefix}programme_id__in": everyone, f"{prefix}published_at__isnull": False}
        )
    return scope


def _owned_editable(user: AnyUser, obj: Any) -> bool:
    """A source or a map: leads and analysts edit all, facilitators their organisation's."""
    m = membership_in(user, obj.programme_id)
    if m is None:
        return False
    if m.role in FULL_VIEW_ROLES:
        return True
    return m.role == Role.FACILITATOR and obj.organisation_id == m.organisation_id


def _map_visible(user: AnyUser, driver_map: Any) -> bool:
    if _owned_editable(user, driver_map):
        return True
    return driver_map.published_at is not None and role_in(user, driver_map.programme_id) in set(
        Role.values
    )


def _map_evidence_visible(user: AnyUser, driver_map: Any) -> bool:
    """Every excerpt behind a map for those who may edit it; others see only publishable
    quotes (redacted), and only of published maps."""
    return _owned_editable(user, driver_map)


def _protected_answers_visible(user: AnyUser, programme: Programme | int) -> bool:
    m = membership_in(user, programme)
    if m is None:
        return False
    if m.role in FULL_VIEW_ROLES:
        return True
    return m.role == Role.FACILITATOR and m.can_view_personal_data


# ----------------------------------------------------------------------------------------
# Verbs.


def can(user: AnyUser, verb: str, obj: Any = None) -> bool:
    """Answer "may ``user`` do ``verb`` to ``obj``?" for every verb the product knows."""
    rule = _RULES.get(verb)
    if rule is None:
        raise KeyError(f"Unknown permission verb: {verb}")
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(rule(user, obj))


def require(user: AnyUser, verb: str, obj: Any = None) -> None:
    """Raise ``PermissionDenied`` unless the policy allows ``verb`` on ``obj``: the first line
    of every service."""
    if not can(user, verb, obj):
        raise PermissionDenied(_("You may not do this."))


def _programme_role_in(roles: Iterable[str]) -> Any:
    wanted = frozenset(roles)

    def rule(user: AnyUser, programme: Programme) -> bool:
        return role_in(user, programme) in wanted

    return rule


def _group_visible(user: AnyUser, group: CommunityGroup) -> bool:
    m = membership_in(user, group.programme_id)
    if m is None:
        return False
    if m.role in FULL_VIEW_ROLES:
        return True
    if m.role == Role.FACILITATOR:
        return group.facilitating_organisation_id == m.organisation_id
    if m.role == Role.GROUP_MEMBER:
        return m.community_group_id == group.pk
    return False


def _group_editable(user: AnyUser, group: CommunityGroup) -> bool:
    m = membership_in(user, group.programme_id)
    if m is None:
        return False
    if m.role == Role.LEAD:
        return True
    return m.role == Role.FACILITATOR and group.facilitating_organisation_id == m.organisation_id


def _member_personal_visible(user: AnyUser, member: GroupMember | CommunityGroup) -> bool:
    group = member if not hasattr(member, "group") else member.group
    m = membership_in(user, group.programme_id)
    if m is None or not _group_visible(user, group):
        return False
    if m.role in FULL_VIEW_ROLES:
        return True
    return m.role == Role.FACILITATOR and m.can_view_personal_data


def _plan_visible(user: AnyUser, plan: Any) -> bool:
    if plan.group_id is not None:
        return plan.group.programme_id == plan.programme_id and _group_visible(user, plan.group)
    return role_in(user, plan.programme_id) in FULL_VIEW_ROLES


def _plan_public_visible(user: AnyUser, plan: Any) -> bool:
    """:func:`plan_scope` with ``public``, for one plan."""
    if _plan_visible(user, plan):
        return True
    return plan.published_at is not None and role_in(user, plan.programme_id) == Role.VIEWER


def _plan_editable(user: AnyUser, plan: Any) -> bool:
    """A group's plan: whoever may edit the group (its programme's lead, its partner's
    facilitators); a place's plan: the lead."""
    if plan.group_id is not None:
        return plan.group.programme_id == plan.programme_id and _group_editable(user, plan.group)
    return role_in(user, plan.programme_id) == Role.LEAD


def _plan_group_member(user: AnyUser, plan: Any) -> bool:
    """A member (Role.GROUP_MEMBER) of the community group whose plan it is."""
    if plan.group_id is None or plan.group.programme_id != plan.programme_id:
        return False
    m = membership_in(user, plan.programme_id)
    return m is not None and m.role == Role.GROUP_MEMBER and m.community_group_id == plan.group_id


def _plan_reportable(user: AnyUser, plan: Any) -> bool:
    """Progress on a plan is reported by those responsible: whoever writes the plan, and the
    members of its community group (who may not write the plan itself)."""
    return _plan_editable(user, plan) or _plan_group_member(user, plan)


def _plan_disputable(user: AnyUser, plan: Any) -> bool:
    """A reported status is disputed by the community: the group's members, and the
    facilitators of its partner (never a lead or an analyst, who verify and resolve)."""
    if _plan_group_member(user, plan):
        return True
    return role_in(user, plan.programme_id) == Role.FACILITATOR and _plan_editable(user, plan)


def _plan_verifiable(user: AnyUser, plan: Any) -> bool:
    """Updates are verified by the programme's leads and analysts (of a plan they read)."""
    return role_in(user, plan.programme_id) in FULL_VIEW_ROLES and _plan_visible(user, plan)


def _plan_evidence_all(user: AnyUser, plan: Any) -> bool:
    """Every piece of evidence of a plan, photos not marked publishable among them, for the
    programme's team around it: leads, analysts and those who write the plan. Everyone
    else who reads the plan sees only what is publishable, and what they sent themselves."""
    return role_in(user, plan.programme_id) in FULL_VIEW_ROLES or _plan_editable(user, plan)


def evidence_scope(user: AnyUser, prefix: str = "") -> Q:
    """Evidence of progress updates (``plans.Evidence``): of plans the user reads
    (:func:`plan_scope`); all of it for the team around the plan (:func:`_plan_evidence_all`:
    leads and analysts, the facilitators of the group's partner), only what is marked
    publishable or was sent by the user for anyone else (a group member). Faces in a photo
    not marked publishable are never shown beyond that team."""
    plan = f"{prefix}update__action__objective__plan__"
    everything = Q(pk__in=[])
    for programme_id, m in memberships(user).items():
        if m.role in FULL_VIEW_ROLES:
            everything |= Q(**{f"{plan}programme_id": programme_id})
        elif m.role == Role.FACILITATOR:
            everything |= Q(
                **{
                    f"{plan}programme_id": programme_id,
                    f"{plan}group__programme_id": programme_id,
                    f"{plan}group__facilitating_organisation_id": m.organisation_id,
                }
            )
    shown = everything | Q(**{f"{prefix}publishable": True})
    if user.is_authenticated:
        shown |= Q(**{f"{prefix}uploaded_by_id": user.pk})
    return plan_scope(user, plan) & shown


def _place_visible(user: AnyUser, place: Place) -> bool:
    if place.programme_id is None:
        return True
    return role_in(user, place.programme_id) in {
        Role.LEAD,
        Role.ANALYST,
        Role.FACILITATOR,
        Role.GROUP_MEMBER,
    }


def _place_editable(user: AnyUser, place: Place) -> bool:
    # Communities are shared by every partner's groups, so only the lead renames or moves them.
    return place.programme_id is not None and role_in(user, place.programme_id) == Role.LEAD


_RULES: dict[str, Any] = {
    "programme.view": _programme_role_in(Role.values),
    "programme.manage": _programme_role_in([Role.LEAD]),
    "programme.view_audit": _programme_role_in([Role.LEAD]),
    "programme.view_groups": _programme_role_in(
        [Role.LEAD, Role.ANALYST, Role.FACILITATOR, Role.GROUP_MEMBER]
    ),
    "programme.view_places": _programme_role_in(Role.values),
    "organisation.create": _programme_role_in([Role.LEAD]),
    # Which places a partner organisation works in: the grant its facilitators' reach into
    # place-bound data is read from.
    "partner.assign": _programme_role_in([Role.LEAD]),
    "place.create": _programme_role_in([Role.LEAD, Role.FACILITATOR]),
    "group.create": _programme_role_in([Role.LEAD, Role.FACILITATOR]),
    "group.view": _group_visible,
    "group.edit": _group_editable,
    "member.create": _group_editable,
    "member.edit": lambda user, member: _group_editable(user, member.group),
    "member.view": lambda user, member: _group_visible(user, member.group),
    "member.view_personal": _member_personal_visible,
    "place.view": _place_visible,
    "place.edit": _place_editable,
    "membership.manage": _programme_role_in([Role.LEAD]),
    "target.manage": _programme_role_in([Role.LEAD]),
    # Fieldwork: the object is the programme.
    "assessment.view": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "assessment.manage": _programme_role_in([Role.LEAD, Role.ANALYST]),
    "form.manage": _programme_role_in([Role.LEAD, Role.ANALYST]),
    "submission.import": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "submission.view": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "submission.view_protected": _protected_answers_visible,
    "submission.export": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "device.manage": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    # Findings: drafts for those who analyse; published, disclosure-safe ones for everyone.
    "findings.view_draft": _programme_role_in([Role.LEAD, Role.ANALYST]),
    "findings.view_published": _programme_role_in(Role.values),
    "findings.publish": _programme_role_in([Role.LEAD, Role.ANALYST]),
    "indicators.manage": _programme_role_in([Role.LEAD, Role.ANALYST]),
    # Drivers of insecurity. Sources and maps belong to a partner's team (their organisation).
    "source.view_any": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "source.create": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "source.edit": _owned_editable,
    "source.code": _owned_editable,
    # A quote leaves the team only after two people: one proposes it, a second lead or
    # analyst approves it (that the second is neither its coder nor its proposer is the
    # service's check, answered with a message).
    "excerpt.propose": lambda user, source: (
        _owned_editable(user, source) and role_in(user, source.programme_id) in FULL_VIEW_ROLES
    ),
    "excerpt.approve": lambda user, source: (
        _owned_editable(user, source) and role_in(user, source.programme_id) in FULL_VIEW_ROLES
    ),
    "codebook.view": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "codebook.manage": _programme_role_in([Role.LEAD, Role.ANALYST]),
    "map.view": _map_visible,
    "map.view_evidence": _map_evidence_visible,
    "map.create": _programme_role_in([Role.LEAD, Role.ANALYST, Role.FACILITATOR]),
    "map.edit": _owned_editable,
    "map.publish": lambda user, driver_map: (
        role_in(user, driver_map.programme_id) in FULL_VIEW_ROLES
    ),
    "priorities.view": _group_visible,
    "priorities.edit": _group_editable,
    # Action plans follow the priorities they answer: read by whoever reads the group's
    # priorities, written (plans, endorsements, actions) by whoever edits the group.
    "plan.view": _plan_visible,
    "plan.create": _group_editable,
    "plan.edit": _plan_editable,
    # Consultations are read and written as the plans of the same group are; the issues
    # raised in words and the note on how concerns were reflected (free text, encrypted) are
    # read by the programme's leads and analysts and by whoever may write the consultation.
    "consultation.create": _programme_role_in([Role.LEAD, Role.FACILITATOR]),
    "consultation.view": _plan_visible,
    "consultation.edit": _plan_editable,
    "consultation.view_notes": lambda user, consultation: (
        _plan_visible(user, consultation)
        and (
            role_in(user, consultation.programme_id) in FULL_VIEW_ROLES
            or _plan_editable(user, consultation)
        )
    ),
    # A plan's public page (no personal data): whoever reads the plan, and once it is
    # published the programme's viewers. Publishing it is the lead's.
    "plan.view_public": _plan_public_visible,
    "plan.publish": lambda user, plan: role_in(user, plan.programme_id) == Role.LEAD,
    # Progress updates (plans/updates.py): posted by those responsible (the plan's writers
    # and its group's members), verified by leads and analysts, disputed by the community
    # (the group's members, its facilitators), disputes resolved by the programme's lead.
    "plan.report": _plan_reportable,
    "plan.verify": _plan_verifiable,
    "plan.dispute": _plan_disputable,
    "plan.resolve": lambda user, plan: (
        role_in(user, plan.programme_id) == Role.LEAD and _plan_visible(user, plan)
    ),
    "plan.view_all_evidence": _plan_evidence_all,
    # Reports: written and built by leads and analysts, approved and published by a lead;
    # everyone in the programme reads and downloads those published.
    "report.view": lambda user, report: (
        role_in(user, report.programme_id) in FULL_VIEW_ROLES
        or (report.status == "published" and role_in(user, report.programme_id) is not None)
    ),
    "report.create": _programme_role_in([Role.LEAD, Role.ANALYST]),
    "report.edit": lambda user, report: role_in(user, report.programme_id) in FULL_VIEW_ROLES,
    "report.approve": lambda user, report: role_in(user, report.programme_id) == Role.LEAD,
    # The programme's own Word template (logo, styles, cover), which every DOCX is built on.
    "report.template": _programme_role_in([Role.LEAD]),
}


def requires_two_factor(user: AnyUser) -> bool:
    """Leads, analysts and administrators hold the most sensitive data: they must use a
    second factor."""
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return True
    return any(m.role in FULL_VIEW_ROLES for m in memberships(user).values())


def organisation_for_new_group(user: AnyUser, programme: Programme) -> int | None:
    """The organisation a facilitator's new groups must belong to (None: any partner)."""
    m = membership_in(user, programme)
    if m is not None and m.role == Role.FACILITATOR:
        return m.organisation_id
    return None

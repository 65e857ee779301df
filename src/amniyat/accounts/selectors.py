"""Scoped reads of programmes, organisations and memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.accounts.models import Membership, Organisation, PersonalToken, Programme

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def programmes_visible(*, user: AnyUser) -> QuerySet[Programme]:
    return (
        Programme.objects.filter(policies.programme_scope(user))
        .select_related("country", "lead_organisation", "donor")
        # Every programme page reads this: not the country's outline and population.
        .defer("country__boundary", "country__population")
        .order_by("name")
    )


def programmes_of(*, user: AnyUser) -> list[Programme]:
    """The programmes :func:`programmes_visible` lists, by name, as the request read them with
    the user's memberships (``policies.membership_rows``): no query."""
    programmes = [membership.programme for membership in policies.memberships(user).values()]
    return sorted(programmes, key=lambda programme: (programme.name, programme.pk))


def programme_get(*, user: AnyUser, slug: str) -> Programme:
    """The programme with this slug, or 404 if the user is not a member: found among the
    user's memberships, which the request has read already (``policies.membership_rows``),
    with its country."""
    for membership in policies.memberships(user).values():
        if membership.programme.slug == slug:
            return membership.programme
    raise Http404("No such programme.")


def organisations_visible(
    *, user: AnyUser, programme: Programme | None = None
) -> QuerySet[Organisation]:
    queryset = Organisation.objects.filter(policies.organisation_scope(user))
    if programme is not None:
        # Those taking part (:meth:`Programme.taking_part_ids`), the partners as a subquery of
        # the same statement rather than read first: a form offering them costs one query.
        taking_part = Q(pk=programme.lead_organisation_id) | Q(
            pk__in=programme.partners.values("pk")
        )
        if programme.donor_id:
            taking_part |= Q(pk=programme.donor_id)
        queryset = queryset.filter(taking_part)
    return queryset.distinct().order_by("name")


def organisation_get(*, user: AnyUser, programme: Programme, pk: int) -> Organisation:
    organisation = organisations_visible(user=user, programme=programme).filter(pk=pk).first()
    if organisation is None:
        raise Http404("No such organisation.")
    return organisation


def memberships_visible(*, user: AnyUser, programme: Programme) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(policies.membership_scope(user), programme=programme)
        .select_related("user", "organisation", "community_group")
        .order_by("role", "user__username")
    )


def membership_get(*, user: AnyUser, programme: Programme, pk: int) -> Membership:
    membership = memberships_visible(user=user, programme=programme).filter(pk=pk).first()
    if membership is None or not policies.can(user, "membership.manage", programme):
        raise Http404("No such membership.")
    return membership


def tokens_of(*, user: AnyUser) -> QuerySet[PersonalToken]:
    if not user.is_authenticated:
        return PersonalToken.objects.none()
    return PersonalToken.objects.filter(user_id=user.pk)

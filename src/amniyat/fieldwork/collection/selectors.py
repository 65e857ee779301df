"""Scoped reads of collection: the devices a person may manage, and for a signed-in device the
open forms of the assessments it is assigned to, in its own programme, and nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery

from amniyat.accounts import policies
from amniyat.fieldwork.models import DeviceUser, Form, FormVersion

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


# What receiving a submission reads of a version, its form and its assessment.
_RECEIVING_FIELDS = [
    *(f.name for f in FormVersion._meta.concrete_fields if f.name not in ("xlsform", "xform")),
    *(f"form__{f.name}" for f in Form._meta.concrete_fields),
    "form__assessment__id",
    "form__assessment__programme_id",
]


def devices_visible(*, user: AnyUser, programme: Programme) -> QuerySet[DeviceUser]:
    m = policies.membership_in(user, programme)
    if m is None or not policies.can(user, "device.manage", programme):
        return DeviceUser.objects.none()
    queryset = DeviceUser.objects.filter(programme=programme)
    if m.role == policies.Role.FACILITATOR:
        queryset = queryset.filter(organisation_id=m.organisation_id)
    return queryset


def forms_for_device(*, device: DeviceUser) -> QuerySet[Form]:
    return (
        Form.objects.filter(
            is_open=True,
            assessment__programme_id=device.programme_id,
            assessment__device_users=device,
        )
        .select_related("assessment")
        .order_by("title", "pk")
    )


def versions_for_device(*, device: DeviceUser, form_id: str, version: str) -> list[FormVersion]:
    """The version ``version`` of each form with the id ``form_id`` the device may send to
    (those of :func:`forms_for_device`), each with its form and the programme of its
    assessment, in one query: what receiving a submission reads, and no more (neither the
    XLSForm file nor the XForm)."""
    return list(
        FormVersion.objects.filter(
            version=version,
            form__form_id=form_id,
            form__is_open=True,
            form__assessment__programme_id=device.programme_id,
            form__assessment__device_users=device,
        )
        .select_related("form__assessment")
        .only(*_RECEIVING_FIELDS)
        .order_by()
    )


def forms_with_current_version(*, device: DeviceUser) -> list[tuple[Form, FormVersion]]:
    """Each open form of the device with its newest version, in two queries."""
    newest = FormVersion.objects.filter(form=OuterRef("pk")).order_by("-created_at", "-id")
    forms = list(
        forms_for_device(device=device).annotate(current_id=Subquery(newest.values("pk")[:1]))
    )
    versions = FormVersion.objects.in_bulk([f.current_id for f in forms if f.current_id])
    return [(f, versions[f.current_id]) for f in forms if f.current_id in versions]


def form_for_device(*, device: DeviceUser, pk: int) -> tuple[Form, FormVersion] | None:
    form = forms_for_device(device=device).filter(pk=pk).first()
    version = form.current_version() if form is not None else None
    if form is None or version is None:
        return None
    return form, version

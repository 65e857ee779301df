"""Scoped reads of collection: the devices a person may manage, and for a signed-in device the
open forms of the assessments it is assigned to, in its own programme, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery

from amniyat.accounts import policies
from amniyat.core.kept import Kept
from amniyat.fieldwork.imports.schema import FormPlan, plan_for
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


@dataclass(frozen=True)
class Receiving:
    """A form version a device may send to, with its form (and the form's assessment) and
    its schema read into a plan (on which the answers' checks are kept once built)."""

    form: Form
    version: FormVersion
    plan: FormPlan


# The versions :func:`receiving_for_device` read, kept in this process by device, the revision
# of its programme's collection, form id and version.
_RECEIVING = Kept(size=4096)


def receiving_for_device(*, device: DeviceUser, form_id: str, version: str) -> list[Receiving]:
    """:func:`versions_for_device`, read once per programme collection revision: the OpenRosa
    endpoints read the device and its programme's ``collection_revision`` on every request,
    and every change to what a device may send to gives the programme a new one
    (:func:`amniyat.fieldwork.forms.services.collection_changed`), so a form closed, opened,
    given a new version or other sensitivity classes is seen by every process on its next
    request, while an unchanged form costs no query. (A device's assessments are set when it
    is created, and a revoked device is refused before it gets here.)"""
    return _RECEIVING.get(
        (device.pk, device.programme.collection_revision, form_id, version),
        lambda: [
            Receiving(form=v.form, version=v, plan=plan_for(v))
            for v in versions_for_device(device=device, form_id=form_id, version=version)
        ],
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

"""Pages for the programme's collection devices: the list, a new device with the QR code
that sets up ODK Collect, and revoking a device."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import organisations_visible, programme_get
from amniyat.core.forms import apply_errors
from amniyat.fieldwork.collection import selectors, services
from amniyat.fieldwork.collection.forms import DeviceForm
from amniyat.fieldwork.collection.openrosa import qr
from amniyat.fieldwork.forms import selectors as forms_selectors
from amniyat.fieldwork.models import DeviceUser


def _managed_programme(request: AuthenticatedRequest, slug: str) -> Programme:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "device.manage", programme):
        raise Http404("No such page.")
    return programme


def _device(request: AuthenticatedRequest, programme: Programme, pk: int) -> DeviceUser:
    device = selectors.devices_visible(user=request.user, programme=programme).filter(pk=pk)
    found = device.select_related("organisation").first()
    if found is None:
        raise Http404("No such device.")
    return found


@login_required
def device_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _managed_programme(request, slug)
    devices = (
        selectors.devices_visible(user=request.user, programme=programme)
        .select_related("organisation")
        .prefetch_related("assessments")
    )
    return render(
        request,
        "fieldwork/collection/device_list.html",
        {
            "programme": programme,
            "devices": devices,
            "server_url": _server_url(request, programme),
        },
    )


def _server_url(request: AuthenticatedRequest, programme: Programme) -> str:
    # ODK Collect appends /formList and /submission to this address itself.
    form_list = reverse("fieldwork:openrosa_form_list", args=[programme.slug])
    return request.build_absolute_uri(form_list).removesuffix("/formList")


@login_required
def device_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _managed_programme(request, slug)
    # The programme's lead and partners, a facilitator's own organisation alone: a member
    # sees every organisation taking part in their programme, so these ids are the choices
    # (read once, not again by organisations_visible(programme=), nor counted).
    ids = programme.taking_part_ids(with_donor=False)
    own = policies.organisation_for_new_group(request.user, programme)
    if own is not None:
        ids &= {own}
    form = DeviceForm(
        request.POST if request.method == "POST" else None,
        organisations=organisations_visible(user=request.user).filter(pk__in=ids),
        only_organisation=next(iter(ids)) if len(ids) == 1 else None,
        assessments=forms_selectors.assessments_visible(user=request.user, programme=programme),
    )
    if request.method == "POST" and form.is_valid():
        try:
            device, password = services.device_create(
                acting_user=request.user,
                programme=programme,
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            server_url = _server_url(request, programme)
            payload = qr.collect_settings(
                server_url=server_url,
                username=device.username,
                password=password,
                project=programme.name,
            )
            response = render(
                request,
                "fieldwork/collection/device_created.html",
                {
                    "programme": programme,
                    "device": device,
                    "password": password,
                    "server_url": server_url,
                    "qr": qr.image(
                        payload,
                        title=_("ODK Collect settings for {username}").format(
                            username=device.username
                        ),
                    ),
                },
            )
            # The password is on this page and nowhere else: keep it out of every cache.
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request,
        "fieldwork/collection/device_form.html",
        {"programme": programme, "form": form},
    )


@login_required
def device_revoke(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _managed_programme(request, slug)
    device = _device(request, programme, pk)
    if request.method == "POST":
        services.device_revoke(acting_user=request.user, device=device, request=request)
        messages.success(
            request,
            _("{username} was revoked: it can no longer download forms or send data.").format(
                username=device.username
            ),
        )
        return redirect("fieldwork:device_list", slug=programme.slug)
    return render(
        request,
        "fieldwork/collection/device_revoke.html",
        {"programme": programme, "device": device},
    )

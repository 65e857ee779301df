"""The OpenRosa endpoints of one programme: ``/collect/<slug>/formList``, the form XML, its
manifest, and ``/collect/<slug>/submission``. ODK Collect is configured with
``/collect/<slug>`` as its server address and appends the rest itself.

Every response carries ``X-OpenRosa-Version: 1.0`` and a Date header; none needs a session
or a CSRF token, because the device signs every request (see :mod:`.auth`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFilesSent,
    ValidationError,
)
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from amniyat.core.http import upload_limit
from amniyat.fieldwork.collection import selectors, services
from amniyat.fieldwork.collection.openrosa import auth, responses
from amniyat.fieldwork.models import DeviceUser

DeviceView = Callable[..., HttpResponse]
SUBMISSION_FIELD = "xml_submission_file"


def device_view(*methods: str, submission: bool = False) -> Callable[[DeviceView], DeviceView]:
    """Allow ``methods``, sign the device in for the programme of the URL, and pass it on."""

    def decorate(view: DeviceView) -> DeviceView:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = responses.message(
                    request,
                    _("This address does not accept {method}.").format(method=request.method),
                    status=405,
                    nature="error",
                    submission=submission,
                )
                response["Allow"] = ", ".join(methods)
                return response
            # A submission records its Digest answer in the transaction that stores it.
            outcome = auth.authenticate(
                request, slug, defer_use=submission and request.method == "POST"
            )
            if isinstance(outcome, auth.Denial):
                return responses.unauthorized(request, outcome, submission=submission)
            answer: HttpResponse | None
            try:
                answer = view(request, outcome, *args, **kwargs)
            except auth.Replayed:
                answer = None
            use = auth.pending_use(request)
            if answer is None or (use is not None and not use.recorded and not use.record()):
                # Seen before: whatever the view made of it, a replay is refused.
                denial = auth.replayed(request, slug, outcome)
                return responses.unauthorized(request, denial, submission=submission)
            return answer

        return wrapper

    return decorate


def _not_found(request: HttpRequest, *, submission: bool = False) -> HttpResponse:
    return responses.message(
        request,
        _("No such form is open for this device."),
        status=404,
        nature="error",
        submission=submission,
    )


@device_view("GET", "HEAD")
def form_list(request: HttpRequest, device: DeviceUser) -> HttpResponse:
    wanted = request.GET.get("formID", "")
    slug = device.programme.slug
    entries = []
    for form, version in selectors.forms_with_current_version(device=device):
        if wanted and form.form_id != wanted:
            continue
        entries.append(
            responses.FormEntry(
                form_id=form.form_id,
                name=form.title,
                version=version.version,
                md5=version.md5,
                download_url=request.build_absolute_uri(
                    reverse("fieldwork:openrosa_form", args=[slug, form.pk])
                ),
                manifest_url=request.build_absolute_uri(
                    reverse("fieldwork:openrosa_manifest", args=[slug, form.pk])
                ),
            )
        )
    return responses.form_list(request, entries)


@device_view("GET", "HEAD")
def form_download(request: HttpRequest, device: DeviceUser, pk: int) -> HttpResponse:
    found = selectors.form_for_device(device=device, pk=pk)
    if found is None:
        return _not_found(request)
    _form, version = found
    response = responses.xml_response(request, version.xform.encode("utf-8"))
    response["ETag"] = f'"{version.md5}"'
    return response


@device_view("GET", "HEAD")
def form_manifest(request: HttpRequest, device: DeviceUser, pk: int) -> HttpResponse:
    if selectors.form_for_device(device=device, pk=pk) is None:
        return _not_found(request)
    return responses.manifest(request)


@upload_limit(responses.max_submission_bytes)
@device_view("HEAD", "POST", submission=True)
def submission(request: HttpRequest, device: DeviceUser) -> HttpResponse:
    if request.method == "HEAD":
        # ODK Collect asks first, to sign in and learn the size limit before sending.
        return responses.with_openrosa_headers(request, HttpResponse(status=204), submission=True)

    def reply(text: str, status: int, nature: str) -> HttpResponse:
        return responses.message(request, text, status=status, nature=nature, submission=True)

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > responses.max_submission_bytes():
        return reply(
            _("The submission is larger than this server accepts in one request."),
            413,
            "error",
        )
    try:
        uploads = request.FILES
    except (MultiPartParserError, RequestDataTooBig, TooManyFilesSent) as error:
        return reply(
            _("The submission could not be read: {error}").format(error=error), 400, "error"
        )
    xml_file = uploads.get(SUBMISSION_FIELD)
    if xml_file is None:
        return reply(
            _("The request has no {field} part.").format(field=SUBMISSION_FIELD), 400, "error"
        )
    attachments = [
        upload for name, items in uploads.lists() if name != SUBMISSION_FIELD for upload in items
    ]
    try:
        receipt = services.submission_receive(
            device=device,
            xml=xml_file.read(),
            files=attachments,
            request=request,
            nonce_use=auth.pending_use(request),
        )
    except services.FormUnavailable:
        return _not_found(request, submission=True)
    except services.SubmissionConflict as error:
        return reply(" ".join(error.messages), 409, "error")
    except ValidationError as error:
        return reply(" ".join(error.messages), 400, "error")
    except PermissionDenied:
        return responses.unauthorized(
            request, auth.Denial(_("This device was revoked.")), submission=True
        )
    if receipt.created:
        return reply(_("Thank you: the submission was received."), 201, "submit_success")
    if receipt.attachments_added:
        return reply(
            _("The submission was already received; its new files were added."),
            201,
            "submit_success",
        )
    return reply(
        _("This submission was already received; it is stored once."), 202, "submit_success"
    )

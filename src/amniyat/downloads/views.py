"""A prepared download's page (its progress, then the file) and the file itself."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.http import content_disposition_header

from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.downloads import kinds, selectors, services
from amniyat.downloads.models import Download


def _context(programme: Programme, download: Download) -> dict[str, Any]:
    spec = kinds.kind_of(download.kind)
    expired = services.download_expired(download)
    ready = download.status == Download.Status.SUCCEEDED and not expired
    writing = not download.finished and download.status != Download.Status.QUEUED
    return {
        "programme": programme,
        "download": download,
        "label": spec.label,
        "asked_from": spec.asked_from(programme, download.choices),
        "chosen": spec.chosen(download.choices),
        "writing": spec.writing(download.done, download.total) if writing and spec.writing else "",
        "expired": expired,
        "ready": ready,
        "holds": spec.describe(download.summary) if ready else "",
    }


@login_required
def download_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    download = selectors.download_get(user=request.user, programme=programme, pk=pk)
    return render(request, "downloads/detail.html", _context(programme, download))


@login_required
def download_progress(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The progress partial htmx polls; once the file is written (or not) it comes without
    the polling trigger, so the polling stops."""
    programme = programme_get(user=request.user, slug=slug)
    download = selectors.download_get(user=request.user, programme=programme, pk=pk)
    return render(request, "downloads/partials/progress.html", _context(programme, download))


@login_required
def download_file(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponseBase:
    """The file, for its requester only, while it has not expired."""
    programme = programme_get(user=request.user, slug=slug)
    download = selectors.download_get(user=request.user, programme=programme, pk=pk)
    pieces = services.download_open(download=download, user=request.user, request=request)
    if pieces is None:
        raise Http404("No such file.")
    response = StreamingHttpResponse(pieces, content_type=download.content_type)
    response["Content-Disposition"] = content_disposition_header(True, download.file_name) or ""
    response["Content-Length"] = str(download.size)
    response["Cache-Control"] = "private, no-store"
    return response

"""Codebook pages: the tree of codes with their names, kinds, excerpts and linked indicators;
adding, editing, moving, merging and deleting codes; seeding from the shipped codebook; and
the REFI-QDA (.qdpx) export and import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.downloads.selectors import downloads_of
from amniyat.downloads.services import download_start
from amniyat.drivers.codebook import selectors, services
from amniyat.drivers.codebook.forms import CodeForm, MergeForm, QdpxImportForm
from amniyat.drivers.coding import links, qdpx
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.models import Code
from amniyat.fieldwork.forms.selectors import assessments_visible


def _readable(request: AuthenticatedRequest, slug: str) -> Programme:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "codebook.view", programme):
        raise Http404("No such page.")
    return programme


def _managed(request: AuthenticatedRequest, slug: str) -> Programme:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "codebook.manage", programme):
        raise Http404("No such page.")
    return programme


@login_required
def codebook(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _readable(request, slug)
    user = request.user
    tree = services.codebook_tree(selectors.code_list(user=user, programme=programme))
    counts = dict(
        coding_selectors.excerpt_list(user=user, programme=programme)
        .order_by()
        .values_list("code_id")
        .annotate(n=Count("pk"))
        .values_list("code_id", "n")
    )
    labels = services.indicator_choices(programme)
    values = services.latest_indicator_values(user=user, programme=programme)
    edit_url = links.per_object("drivers:code_edit", slug=programme.slug)
    rows = [
        {
            "code": code,
            "depth": depth,
            "edit_url": edit_url(code.pk),
            "excerpts": counts.get(code.pk, 0),
            "indicators": [
                {"key": key, "label": labels.get(key, key), "value": values.get(key)}
                for key in code.indicator_keys
            ],
        }
        for code, depth in tree
    ]
    return render(
        request,
        "drivers/codebook/index.html",
        {
            "programme": programme,
            "tab": "codebook",
            "rows": rows,
            "can_manage": policies.can(user, "codebook.manage", programme),
            "can_import": policies.can(user, "codebook.manage", programme)
            and policies.can(user, "source.create", programme),
            "downloads": downloads_of(user=user, programme=programme, kind=qdpx.DOWNLOAD.name)[:10],
        },
    )


def _tree(request: AuthenticatedRequest, programme: Programme) -> list[tuple[Code, int]]:
    """The codebook as the forms list it: names, without descriptions and linked indicators."""
    codes = selectors.code_list(user=request.user, programme=programme).select_related(None)
    return services.codebook_tree(codes.only("parent", "position", *services.NAME_FIELDS))


def _outside(tree: list[tuple[Code, int]], code: Code) -> list[tuple[Code, int]]:
    """``tree`` without ``code`` and the codes below it (where it may move, or merge into)."""
    kept: list[tuple[Code, int]] = []
    below_depth: int | None = None
    for listed, depth in tree:
        if below_depth is not None and depth > below_depth:
            continue
        below_depth = depth if listed.pk == code.pk else None
        if below_depth is None:
            kept.append((listed, depth))
    return kept


def _code_form(
    request: AuthenticatedRequest,
    programme: Programme,
    code: Code | None = None,
    *,
    tree: list[tuple[Code, int]] | None = None,
) -> CodeForm:
    tree = _tree(request, programme) if tree is None else tree
    if code is not None:
        tree = _outside(tree, code)
    initial: dict[str, Any] | None = None
    if code is not None:
        initial = {
            field: getattr(code, field)
            for field in (*services.NAME_FIELDS, *services.DESCRIPTION_FIELDS, "kind")
        } | {"parent": str(code.parent_id or ""), "indicator_keys": list(code.indicator_keys)}
    else:
        initial = {"kind": Code.Kind.DRIVER, "parent": request.GET.get("parent", "")}
    return CodeForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        parents=tree,
        indicators=services.indicator_choices(programme),
        code=code,
    )


@login_required
def code_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _managed(request, slug)
    form = _code_form(request, programme)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["parent"] = data.get("parent") or None
        try:
            code = services.code_create(
                user=request.user, programme=programme, request=request, **data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, _("“{code}” is added to the codebook.").format(code=code.name)
            )
            return redirect("drivers:codebook", slug=slug)
    return render(
        request,
        "drivers/codebook/code_form.html",
        {"programme": programme, "tab": "codebook", "form": form, "code": None},
    )


@login_required
def code_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _managed(request, slug)
    code = selectors.code_get(user=request.user, programme=programme, pk=pk)
    tree = _tree(request, programme)
    form = _code_form(request, programme, code, tree=tree)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values["parent"] = values.get("parent") or None
        try:
            services.code_update(user=request.user, code=code, values=values, request=request)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("“{code}” is saved.").format(code=code.name))
            return redirect("drivers:codebook", slug=slug)
    return render(
        request,
        "drivers/codebook/code_form.html",
        {
            "programme": programme,
            "tab": "codebook",
            "form": form,
            "code": code,
            "merge_form": _merge_form(request, programme, code, bound=False, tree=tree),
            "excerpt_count": code.excerpts.count(),
        },
    )


def _merge_form(
    request: AuthenticatedRequest,
    programme: Programme,
    code: Code,
    *,
    bound: bool,
    tree: list[tuple[Code, int]] | None = None,
) -> MergeForm:
    tree = _tree(request, programme) if tree is None else tree
    return MergeForm(request.POST if bound else None, targets=_outside(tree, code))


@login_required
@require_POST
def code_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _managed(request, slug)
    code = selectors.code_get(user=request.user, programme=programme, pk=pk)
    name = code.name
    try:
        services.code_delete(user=request.user, code=code, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("drivers:code_edit", slug=slug, pk=pk)
    messages.success(request, _("“{code}” is deleted.").format(code=name))
    return redirect("drivers:codebook", slug=slug)


@login_required
@require_POST
def code_merge(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _managed(request, slug)
    code = selectors.code_get(user=request.user, programme=programme, pk=pk)
    form = _merge_form(request, programme, code, bound=True)
    if not form.is_valid():
        messages.error(request, _("Choose the code to merge “{code}” into.").format(code=code.name))
        return redirect("drivers:code_edit", slug=slug, pk=pk)
    into = selectors.code_get(user=request.user, programme=programme, pk=form.cleaned_data["into"])
    name = code.name
    try:
        services.code_merge(user=request.user, code=code, into=into, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("drivers:code_edit", slug=slug, pk=pk)
    messages.success(
        request,
        _("“{code}” is merged into “{into}”, with its excerpts.").format(code=name, into=into.name),
    )
    return redirect("drivers:codebook", slug=slug)


@login_required
@require_POST
def codebook_seed(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _managed(request, slug)
    added = services.codebook_seed(programme=programme, user=request.user)
    if added:
        messages.success(
            request,
            _("{count} codes from the programme profiles are added.").format(count=added),
        )
    else:
        messages.info(request, _("The codebook already holds every code from the profiles."))
    return redirect("drivers:codebook", slug=slug)


@login_required
@require_POST
def qdpx_export(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Ask for the programme's REFI-QDA project: it is written in the background (it reads
    every discussion the person may read), and the download's page follows it."""
    programme = _readable(request, slug)
    download = download_start(
        acting_user=request.user, programme=programme, kind=qdpx.DOWNLOAD.name, request=request
    )
    return redirect("downloads:detail", slug=slug, pk=download.pk)


@upload_limit(qdpx.max_qdpx_bytes)
@login_required
def qdpx_import(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not (
        policies.can(request.user, "codebook.manage", programme)
        and policies.can(request.user, "source.create", programme)
    ):
        raise Http404("No such page.")
    form = QdpxImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        assessments=assessments_visible(user=request.user, programme=programme),
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = qdpx.qdpx_import(
                user=request.user,
                programme=programme,
                assessment=form.cleaned_data["assessment"],
                data=upload.file,
                file_name=upload.name or "upload.qdpx",
                kind=form.cleaned_data["kind"],
                language=form.cleaned_data["language"],
                request=request,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Imported {sources} sources with {excerpts} coded excerpts; {created} codes "
                    "added to the codebook, {matched} matched to codes it had."
                ).format(
                    sources=report.sources,
                    excerpts=report.excerpts,
                    created=report.codes_created,
                    matched=report.codes_matched,
                ),
            )
            if report.skipped_sources:
                messages.warning(
                    request,
                    _(
                        "{count} pictures, recordings or PDF files were left out: Amniyat "
                        "imports text sources only."
                    ).format(count=report.skipped_sources),
                )
            if report.dropped_indicators:
                messages.warning(
                    request,
                    _(
                        "Links to indicators this programme does not have were left out: {keys}."
                    ).format(keys=", ".join(sorted(set(report.dropped_indicators)))),
                )
            return redirect("drivers:codebook", slug=slug)
    return render(
        request,
        "drivers/codebook/import.html",
        {"programme": programme, "tab": "codebook", "form": form},
    )

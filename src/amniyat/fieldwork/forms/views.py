"""Pages for assessments and their XLSForms: list, create and edit assessments; upload a form
or a new version of it; read its fields in every language; class each field's sensitivity;
publish and close collection."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.forms import BoundField
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.fieldwork import conf
from amniyat.fieldwork.forms import selectors, services
from amniyat.fieldwork.forms.forms import AssessmentForm, FormUploadForm, SensitivityForm
from amniyat.fieldwork.forms.xlsform import FormError, FormProblem
from amniyat.fieldwork.models import Assessment, Form, FormVersion, Sensitivity
from amniyat.places.forms import place_offer


def _programme(request: AuthenticatedRequest, slug: str, verb: str) -> Programme:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, verb, programme):
        raise Http404("No such page.")
    return programme


def _assessment_form(
    request: AuthenticatedRequest, programme: Programme, **kwargs: Any
) -> AssessmentForm:
    places = place_offer(user=request.user, programme=programme, within="groups")
    return AssessmentForm(_posted(request), places=places, **kwargs)


def _posted(request: AuthenticatedRequest) -> Any:
    """The posted data, even when empty (so that an empty post shows "required")."""
    return request.POST if request.method == "POST" else None


def _is_htmx(request: AuthenticatedRequest) -> bool:
    """A request htmx sent (django-htmx's middleware sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def _is_id(value: str) -> bool:
    # str.isdigit() alone accepts "²", which int() refuses.
    return value.isascii() and value.isdigit()


def _version_of(form: Form, request: AuthenticatedRequest) -> FormVersion | None:
    """The version named by ``?version=``, or the latest: its fields and classes, not its files
    (the uploaded XLSForm and the XForm, some 90 kB that no page of it shows)."""
    versions = selectors.form_versions(form=form).defer("xlsform", "xform")
    wanted = request.GET.get("version", "")
    if wanted:
        version = versions.filter(pk=int(wanted)).first() if _is_id(wanted) else None
        if version is None:
            raise Http404("No such version.")
        return version
    return versions.first()


# ----------------------------------------------------------------------------------------
# Assessments.


@login_required
def assessment_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _programme(request, slug, "assessment.view")
    assessments = (
        selectors.assessments_visible(user=request.user, programme=programme)
        .annotate(form_count=Count("forms", distinct=True))
        .prefetch_related("places")
    )
    return render(
        request,
        "fieldwork/forms/assessment_list.html",
        {
            "programme": programme,
            "assessments": assessments,
            "can_add": policies.can(request.user, "assessment.manage", programme),
        },
    )


@login_required
def assessment_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = _programme(request, slug, "assessment.manage")
    form = _assessment_form(request, programme)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_create(
                acting_user=request.user, programme=programme, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The assessment was created. Now upload its forms."))
            return redirect("fieldwork:assessment_detail", slug=slug, pk=assessment.pk)
    return render(
        request,
        "fieldwork/forms/assessment_form.html",
        {"programme": programme, "form": form},
    )


@login_required
def assessment_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "assessment.view")
    assessment = selectors.assessment_get(user=request.user, programme=programme, pk=pk)
    forms = selectors.forms_visible(user=request.user, assessment=assessment).prefetch_related(
        Prefetch(
            "versions",
            queryset=FormVersion.objects.defer("xlsform", "xform").order_by("-created_at", "-id"),
            to_attr="version_list",
        )
    )
    rows = []
    for item in forms:
        versions: list[FormVersion] = getattr(item, "version_list", [])
        current = versions[0] if versions else None
        rows.append(
            {
                "form": item,
                "current": current,
                "version_count": len(versions),
                "lacking": current.fields_lacking_sensitivity() if current else [],
            }
        )
    return render(
        request,
        "fieldwork/forms/assessment_detail.html",
        {
            "programme": programme,
            "assessment": assessment,
            "rows": rows,
            "places": assessment.places.select_related("parent"),
            "can_edit": policies.can(request.user, "assessment.manage", programme),
            "can_manage_forms": policies.can(request.user, "form.manage", programme),
        },
    )


@login_required
def assessment_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "assessment.manage")
    assessment = selectors.assessment_get(user=request.user, programme=programme, pk=pk)
    form = _assessment_form(request, programme, initial=_assessment_initial(assessment))
    if request.method == "POST" and form.is_valid():
        try:
            services.assessment_update(
                acting_user=request.user, assessment=assessment, **form.cleaned_data
            )
        except ValidationError as error:
            assessment.refresh_from_db()
            apply_errors(form, error)
        else:
            messages.success(request, _("The assessment was saved."))
            return redirect("fieldwork:assessment_detail", slug=slug, pk=assessment.pk)
    return render(
        request,
        "fieldwork/forms/assessment_form.html",
        {"programme": programme, "form": form, "assessment": assessment},
    )


def _assessment_initial(assessment: Assessment) -> dict[str, Any]:
    return {
        "title": assessment.title,
        "kind": assessment.kind,
        "places": [place.pk for place in assessment.places.all()],
        "starts_on": assessment.starts_on,
        "ends_on": assessment.ends_on,
        "weight_field": assessment.weight_field,
        "strata_field": assessment.strata_field,
        "cluster_field": assessment.cluster_field,
        "fpc_field": assessment.fpc_field,
    }


# ----------------------------------------------------------------------------------------
# Forms.


@upload_limit(conf.max_upload_bytes)
@login_required
def form_upload(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "form.manage")
    assessment = selectors.assessment_get(user=request.user, programme=programme, pk=pk)
    form = (
        FormUploadForm(request.POST, request.FILES)
        if request.method == "POST"
        else FormUploadForm()
    )
    problems: list[FormProblem] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        limit = conf.max_upload_bytes()
        if upload.size is not None and upload.size > limit:
            # Refused before reading it into memory.
            form.add_error(
                "file",
                _("The file is larger than {limit}, the most this server accepts.").format(
                    limit=conf.size_label(limit)
                ),
            )
        else:
            try:
                version = services.form_add(
                    acting_user=request.user,
                    assessment=assessment,
                    file_name=upload.name or "",
                    content=upload.read(),
                )
            except FormError as error:
                problems = error.problems
            except ValidationError as error:
                apply_errors(form, error)
            else:
                lacking = version.fields_lacking_sensitivity()
                if lacking:
                    messages.success(
                        request,
                        _(
                            "Version {version} of “{title}” was added. {count} fields still "
                            "need a sensitivity class before the form can be published."
                        ).format(
                            version=version.version, title=version.form.title, count=len(lacking)
                        ),
                    )
                    return redirect("fieldwork:form_sensitivity", slug=slug, pk=version.form_id)
                messages.success(
                    request,
                    _("Version {version} of “{title}” was added.").format(
                        version=version.version, title=version.form.title
                    ),
                )
                return redirect("fieldwork:form_detail", slug=slug, pk=version.form_id)
    return render(
        request,
        "fieldwork/forms/form_upload.html",
        {
            "programme": programme,
            "assessment": assessment,
            "form": form,
            "problems": problems,
            "max_size": conf.size_label(conf.max_upload_bytes()),
        },
    )


def _field_rows(version: FormVersion | None) -> list[dict[str, Any]]:
    """Each field of ``version`` with, per language, its label and its choices' list (written
    here, each label escaped: a form's choices are its longest part, a list per language)."""
    if version is None:
        return []
    sensitivity_labels = dict(Sensitivity.choices)
    rows = []
    for item in version.schema:
        choices = item.get("choices") or []
        sensitivity = version.sensitivity.get(item["path"], "")
        rows.append(
            {
                **item,
                "depth": item["path"].count("/"),
                "labels": [
                    (
                        item["label"].get(lang, ""),
                        _repeated(
                            "<li><code>{}</code> {}</li>",
                            [(c["name"], c["label"].get(lang, "")) for c in choices],
                        ),
                    )
                    for lang in version.languages
                ],
                "choice_count": len(choices),
                "sensitivity": sensitivity,
                "sensitivity_label": sensitivity_labels.get(sensitivity, ""),
            }
        )
    return rows


@login_required
def form_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "assessment.view")
    form = selectors.form_get(user=request.user, pk=pk, programme=programme)
    version = _version_of(form, request)
    versions = selectors.form_versions(form=form).defer("xlsform", "xform")
    return render(
        request,
        "fieldwork/forms/form_detail.html",
        {
            "programme": programme,
            "assessment": form.assessment,
            "form": form,
            "version": version,
            "versions": versions,
            "fields": _field_rows(version),
            "lacking": version.fields_lacking_sensitivity() if version else [],
            "can_manage": policies.can(request.user, "form.manage", programme),
        },
    )


@login_required
def form_sensitivity(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "form.manage")
    form = selectors.form_get(user=request.user, pk=pk, programme=programme)
    version = _version_of(form, request)
    if version is None:
        raise Http404("No version yet.")
    sensitivity_form = SensitivityForm(_posted(request), version=version)
    saved = False
    if request.method == "POST" and sensitivity_form.is_valid():
        try:
            version = services.sensitivity_set(
                acting_user=request.user, version=version, classes=sensitivity_form.classes()
            )
        except ValidationError as error:
            apply_errors(sensitivity_form, error)
        else:
            saved = True
            if not _is_htmx(request):
                messages.success(request, _("The sensitivity classes were saved."))
                url = redirect("fieldwork:form_sensitivity", slug=slug, pk=form.pk).url
                return redirect(f"{url}?version={version.pk}")
    is_frozen = version.submissions.exists()
    rows = []
    for index, item in enumerate(version.schema):
        field = sensitivity_form[f"s{index}"]
        rows.append(
            {
                "item": item,
                "field": field,
                "labels": [
                    (lang, text) for lang in version.languages if (text := item["label"].get(lang))
                ],
                "options": _options(field),
                "lacking": item["path"] not in version.sensitivity,
            }
        )
    context = {
        "programme": programme,
        "assessment": form.assessment,
        "form": form,
        "version": version,
        "sensitivity_form": sensitivity_form,
        "rows": rows,
        "frozen": is_frozen,
        "saved": saved,
        "lacking": version.fields_lacking_sensitivity(),
        "classes": Sensitivity.choices,
    }
    if _is_htmx(request):
        # One select changed: answer with the summary and messages only.
        context["partial"] = True
        return render(request, "fieldwork/forms/partials/sensitivity_status.html", context)
    return render(request, "fieldwork/forms/form_sensitivity.html", context)


def _options(field: BoundField) -> SafeString | str:
    """A class select's options, the field's value selected: written here, a row at a time,
    rather than by the template an option at a time (a form has a row per question)."""
    chosen = field.value()
    return _repeated(
        '<option value="{}"{}>{}</option>',
        [
            (value, " selected" if value == chosen else "", label)
            for value, label in field.field.choices  # type: ignore[attr-defined]
        ],
    )


def _repeated(pattern: str, rows: list[tuple[Any, ...]]) -> SafeString | str:
    """``pattern`` filled in with each row, each value escaped: format_html_join in one
    format_html (half the cost, for lists written by the hundred)."""
    if not rows:
        return ""
    return format_html(pattern * len(rows), *(value for row in rows for value in row))


@login_required
@require_POST
def form_publish(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "form.manage")
    form = selectors.form_get(user=request.user, pk=pk, programme=programme)
    try:
        services.form_publish(acting_user=request.user, form=form)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The form is open for collection."))
    return redirect("fieldwork:form_detail", slug=slug, pk=form.pk)


@login_required
@require_POST
def form_close(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme = _programme(request, slug, "form.manage")
    form = selectors.form_get(user=request.user, pk=pk, programme=programme)
    services.form_close(acting_user=request.user, form=form)
    messages.success(request, _("The form no longer accepts submissions."))
    return redirect("fieldwork:form_detail", slug=slug, pk=form.pk)

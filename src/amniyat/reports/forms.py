"""The forms of the report pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from amniyat.fieldwork.models import Assessment
from amniyat.reports import writing
from amniyat.reports.built import BREAKDOWNS
from amniyat.reports.models import Report, Section


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Report.Kind.choices)
    language = forms.ChoiceField(label=_("Language of the report"), choices=settings.LANGUAGES)
    title = forms.CharField(label=_("Title"), max_length=200)
    assessment: forms.ModelChoiceField[Assessment] = forms.ModelChoiceField(
        label=_("Assessment its figures come from"),
        queryset=Assessment.objects.none(),
        required=False,
    )
    period_start = forms.DateField(
        label=_("Period from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("Period to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, assessments: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field: Any = self.fields["assessment"]
        field.queryset = assessments
        if editing:
            del self.fields["kind"]


class WrittenSectionForm(forms.Form):
    heading = forms.CharField(
        label=_("Heading"),
        max_length=200,
        required=False,
        help_text=_("Leave it empty for the section's usual heading."),
    )
    text = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=writing.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Markdown: ## for a heading, *emphasis*, **bold**, - or 1. for a list, "
            "[words](https://…) for a link, and [^1] with a line “[^1]: note” for a footnote."
        ),
    )


class BuiltSectionForm(forms.Form):
    """What a built section shows: fields offered by its kind."""

    heading = forms.CharField(
        label=_("Heading"),
        max_length=200,
        required=False,
        help_text=_("Leave it empty for the section's usual heading."),
    )
    text = forms.CharField(
        label=_("Introduction"),
        required=False,
        max_length=writing.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self,
        *args: Any,
        section: Section,
        indicators: list[tuple[str, str]],
        quotes: list[tuple[int, str]],
        maps: list[tuple[int, str]] | None = None,
        assessments: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        Kind = Section.Kind
        if section.kind == Kind.FINDINGS:
            self.fields["indicators"] = forms.MultipleChoiceField(
                label=_("Indicators"),
                choices=indicators,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text=_("None chosen: every indicator."),
            )
            self.fields["breakdowns"] = forms.MultipleChoiceField(
                label=_("Broken down by"),
                choices=[(b, _breakdown_label(b)) for b in BREAKDOWNS],
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        elif section.kind in (Kind.CHART, Kind.DISTRICT_MAP):
            self.fields["indicator"] = forms.ChoiceField(
                label=_("Indicator"), choices=[("", "—"), *indicators]
            )
        elif section.kind == Kind.DRIVER_MAP:
            self.fields["map"] = forms.TypedChoiceField(
                label=_("Driver map"),
                choices=[("", "—"), *(maps or [])],
                coerce=int,
                required=False,
                empty_value=None,
                error_messages={
                    "invalid_choice": _("Choose a published driver map of this programme."),
                },
                help_text=_(
                    "Only published maps of this programme. None chosen: the first of the "
                    "report's assessment, else of the programme."
                ),
            )
        elif section.kind == Kind.CHANGE:
            offered = [("", _("the usual one")), *(assessments or [])]
            invalid = {
                "invalid_choice": _(
                    "Choose an assessment of this programme with published findings."
                )
            }
            for name, label, usual in (
                (
                    "baseline",
                    _("Baseline"),
                    _("The usual one: the report's assessment, else the latest baseline."),
                ),
                (
                    "endline",
                    _("Endline"),
                    _("The usual one: the latest endline with published findings."),
                ),
            ):
                self.fields[name] = forms.TypedChoiceField(
                    label=label,
                    choices=offered,
                    coerce=int,
                    required=False,
                    empty_value=None,
                    error_messages=invalid,
                    help_text=usual,
                )
            self.fields["indicators"] = forms.MultipleChoiceField(
                label=_("Indicators"),
                choices=indicators,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text=_("None chosen: every indicator."),
            )
        elif section.kind == Kind.QUOTES:
            self.fields["excerpts"] = forms.TypedMultipleChoiceField(
                label=_("Quotes"),
                choices=quotes,
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text=_("Only quotes approved for publication. None chosen: the first eight."),
            )

    def options(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in (
                "indicators",
                "breakdowns",
                "indicator",
                "excerpts",
                "map",
                "baseline",
                "endline",
            )
            if name in self.fields and self.cleaned_data.get(name) not in (None, "", [])
        }


def _breakdown_label(by: str) -> str:
    from amniyat.findings.present import breakdown_title

    return breakdown_title(by)


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("What should the authors change?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TemplateForm(forms.Form):
    file = forms.FileField(
        label=_("Word template (.docx or .dotx)"),
        help_text=_(
            "Its styles, headers, footers, logo and page set-up are kept; what comes before "
            "its first page break is kept as the cover page, and the rest of its text is "
            "replaced by the report."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".docx,.dotx,application/vnd.openxmlformats-officedocument."
                "wordprocessingml.document"
            }
        ),
    )


class RecommendationForm(forms.Form):
    """One recommendation of a recommendations section and what it answers."""

    text = forms.CharField(
        label=_("Recommendation"),
        max_length=writing.MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    factors = forms.TypedMultipleChoiceField(
        label=_("Factors it answers"),
        coerce=int,
        required=False,
        error_messages={
            "invalid_choice": _("Choose factors of this programme's published driver maps.")
        },
    )
    priorities = forms.TypedMultipleChoiceField(
        label=_("Priorities it answers"),
        coerce=int,
        required=False,
        error_messages={"invalid_choice": _("Choose priorities of this programme's agreed lists.")},
    )

    def __init__(
        self,
        *args: Any,
        factors: list[tuple[int, str]],
        priorities: list[tuple[int, str]],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        field: Any = self.fields["factors"]
        field.choices = factors
        field = self.fields["priorities"]
        field.choices = priorities


RecommendationFormSet = forms.formset_factory(
    RecommendationForm, extra=1, can_delete=True, max_num=40, validate_max=True
)


def recommendation_items(formset: Any) -> list[dict[str, Any]]:
    """The recommendations a valid formset keeps, in order: those written and not removed."""
    return [
        {
            "text": form.cleaned_data["text"],
            "factors": form.cleaned_data.get("factors", []),
            "priorities": form.cleaned_data.get("priorities", []),
        }
        for form in formset.forms
        if form.cleaned_data
        and not form.cleaned_data.get("DELETE")
        and (form.cleaned_data.get("text") or "").strip()
    ]

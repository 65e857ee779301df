"""Forms of the evidence pages: uploading notes, coding a selection, reviewing a quote
proposed for publication, filtering excerpts.

The forms offer the programme's own assessments, places and codes, but accept any id: the
services check what is posted, so a hand-made post naming another programme's object gets
the services' clear message instead of a generic "not one of the choices"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.accounts.models import Organisation
from amniyat.communities.models import Sector
from amniyat.core.picker import Choices, offer
from amniyat.drivers.coding.services import Sex
from amniyat.drivers.coding.text import ACCEPTED_SUFFIXES
from amniyat.drivers.models import AgeBand, Code, Excerpt, Language, Source
from amniyat.fieldwork.models import Assessment
from amniyat.places.forms import place_field


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class SourceForm(forms.Form):
    assessment = forms.ModelChoiceField(
        label=_("Assessment"),
        queryset=Assessment.objects.all(),
        help_text=_("The assessment these notes are part of."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Source.Kind.choices)
    upload = forms.FileField(
        label=_("File with the notes"),
        required=False,
        allow_empty_file=True,  # the service refuses it, naming the file
        help_text=_(
            "Plain text (.txt, .md), Word (.docx) or OpenDocument (.odt), up to 5 MB. Write "
            "who said what by role, never by name."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
    )
    text = forms.CharField(
        label=_("… or paste the notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    place = place_field(label=_("Place"), required=False)
    held_on = forms.DateField(label=_("Date"), required=False, widget=DateInput())
    language = forms.ChoiceField(label=_("Language of the notes"), choices=Language.choices)
    participants = forms.IntegerField(label=_("Participants"), min_value=0, max_value=10_000)
    women = forms.IntegerField(label=_("of them women"), min_value=0, max_value=10_000, initial=0)
    men = forms.IntegerField(label=_("of them men"), min_value=0, max_value=10_000, initial=0)
    age_bands = forms.MultipleChoiceField(
        label=_("Age bands of the participants"),
        choices=AgeBand.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sectors = forms.MultipleChoiceField(
        label=_("Sectors the participants represent"),
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    organisation = forms.ModelChoiceField(
        label=_("Team (organisation) that held the discussion"),
        queryset=Organisation.objects.all(),
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        assessments: Iterable[Assessment],
        places: Choices,
        organisations: Iterable[Organisation] | None,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["assessment"].widget.choices = [("", "---------")] + [
            (a.pk, str(a)) for a in assessments
        ]
        offer(self, "place", places)
        if organisations is None:
            # A facilitator's notes are their own organisation's: nothing to choose.
            del self.fields["organisation"]
        else:
            fields["organisation"].widget.choices = [("", _("the programme's own team"))] + [
                (o.pk, str(o)) for o in organisations
            ]
        if editing:
            fields["upload"].label = _("Replace the text with a file")
            fields["text"].label = _("… or with pasted notes")
            fields["text"].help_text = _(
                "Leave both empty to keep the current text. Coded notes cannot be replaced."
            )


class ExcerptForm(forms.Form):
    """One or more codes applied to a selection (``start``/``end``) or a whole passage."""

    code = forms.ModelMultipleChoiceField(
        label=_("Codes"),
        queryset=Code.objects.all(),
        error_messages={
            "required": _("Choose at least one code to apply."),
            "invalid_choice": _("This code is not in this programme's codebook."),
            "invalid_pk_value": _("This code is not in this programme's codebook."),
        },
    )
    start = forms.IntegerField(required=False, min_value=0)
    end = forms.IntegerField(required=False, min_value=0)
    passage = forms.IntegerField(required=False, min_value=0)
    memo = forms.CharField(label=_("Memo"), required=False, max_length=2000)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        has_span = cleaned.get("start") is not None and cleaned.get("end") is not None
        if not has_span and cleaned.get("passage") is None and not self.has_error("start"):
            raise forms.ValidationError(
                _("Select words in the text, or click a passage, before applying a code.")
            )
        return cleaned


class QuoteReviewForm(forms.Form):
    """The second person's review of a proposed quote: every item of the checklist must be
    ticked to approve it; returning it needs a reason. The decision is the button pressed
    (``decision`` = ``approve`` or ``return``), ``seen`` the fingerprint of the quote shown;
    the services check the rest."""

    APPROVE = "approve"
    RETURN = "return"

    checklist = forms.MultipleChoiceField(
        label=_("Before approving, confirm each of these about the quote as it would be shown"),
        choices=Excerpt.Check.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Why it is returned (needed to return it)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        decision = self.data.get("decision")
        if decision not in (self.APPROVE, self.RETURN):
            raise forms.ValidationError(_("Choose whether to approve the quote or return it."))
        cleaned["decision"] = decision
        # The fingerprint of the words the page showed (not a field: the page writes the
        # current one each time it is shown).
        cleaned["seen"] = str(self.data.get("seen") or "")[:64] or None
        return cleaned


class RedactionForm(forms.Form):
    status = forms.ChoiceField(choices=[("redact", "redact"), ("keep", "keep"), ("open", "open")])


class SourceFilter(forms.Form):
    """The notes list's place filter (the others are plain selects of a few choices)."""

    place = place_field(label=_("Place"), required=False, none_label=_("all places"))

    def __init__(self, *args: Any, places: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "place", places)

    def clean_place(self) -> int | None:
        place = self.cleaned_data.get("place")
        return place.pk if place is not None else None


class CodeExcerptFilter(forms.Form):
    place = place_field(label=_("Place"), required=False, none_label=_("all places"))
    sex = forms.ChoiceField(label=_("Who took part"), required=False)
    age_band = forms.ChoiceField(label=_("Age band"), required=False)

    def __init__(self, *args: Any, places: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        offer(self, "place", places)
        fields["sex"].choices = [("", _("everyone")), *Sex.choices()]
        fields["age_band"].choices = [("", _("all ages")), *AgeBand.choices]

    def clean_place(self) -> int | None:
        place = self.cleaned_data.get("place")
        return place.pk if place is not None else None

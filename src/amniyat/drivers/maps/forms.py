"""Forms of the driver-map pages: a map's description, importing a map, choosing two maps to
compare. Choices are limited to what the user may see in the programme."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _

from amniyat.communities.forms import group_field
from amniyat.communities.models import CommunityGroup
from amniyat.core.picker import Choices, offer
from amniyat.drivers.models import DriverMap
from amniyat.fieldwork.models import Assessment
from amniyat.places.forms import place_field
from amniyat.places.models import Place

# What a choice of each kind is named by (its ``__str__``), and the programme it belongs to
# (which the services check); a choice list reads nothing else of a row.
CHOICE_COLUMNS: dict[type[Model], tuple[str, ...]] = {
    Place: ("name_en", "name_ru", "name_tg", "name_uz"),
    CommunityGroup: ("name", "content_language", "translations", "programme_id"),
    Assessment: ("title", "content_language", "translations", "programme_id"),
    DriverMap: ("title", "content_language", "translations", "programme_id"),
}


M = TypeVar("M", bound=Model)


def names_only(choices: QuerySet[M]) -> QuerySet[M]:
    """``choices`` reading only what names them, without the rows the selectors join for
    their pages (a group's place and organisation, a place's parent)."""
    return choices.select_related(None).only(*CHOICE_COLUMNS[choices.model])


class DriverMapForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    perspective = forms.ChoiceField(
        label=_("Whose view"),
        choices=DriverMap.Perspective.choices,
        initial=DriverMap.Perspective.EVERYONE,
        help_text=_("Draw one map per perspective, e.g. the women's and the men's view."),
    )
    place = place_field(label=_("Place"), required=False)
    group = group_field(label=_("Community group"), required=False)
    assessment = forms.ModelChoiceField(
        label=_("Assessment"),
        queryset=Assessment.objects.none(),
        required=False,
        help_text=_("A baseline and an endline map can be compared side by side."),
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(
        self,
        *args: Any,
        places: Choices,
        groups: Choices,
        assessments: QuerySet[Assessment],
        copy_choices: QuerySet[DriverMap] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "place", places)
        offer(self, "group", groups)
        self.fields["assessment"].queryset = names_only(assessments)  # type: ignore[attr-defined]
        if copy_choices is not None:
            self.fields["copy_from"] = forms.ModelChoiceField(
                label=_("Start from a copy of"),
                queryset=names_only(copy_choices),
                required=False,
                empty_label=_("an empty map"),
                help_text=_(
                    "Copy the factors and links of another map, e.g. start the men's map "
                    "from the women's, or the endline map from the baseline."
                ),
            )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more uploaded files, cleaned to a list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".graphml,.xml,.csv,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)]


class MapImportForm(forms.Form):
    upload = MultipleFileField(
        label=_("Files"),
        help_text=_(
            "A GraphML file, or the CSV of factors and the CSV of links (two files or one zip) "
            "as Kumu and PRSM use them."
        ),
    )
    into = forms.ModelChoiceField(
        label=_("Import into"),
        queryset=DriverMap.objects.none(),
        required=False,
        empty_label=_("a new map"),
        help_text=_(
            "Into an existing map, factors with the same label are updated and the others added."
        ),
    )
    title = forms.CharField(label=_("Title of the new map"), max_length=200, required=False)
    perspective = forms.ChoiceField(
        label=_("Whose view"),
        choices=DriverMap.Perspective.choices,
        initial=DriverMap.Perspective.EVERYONE,
    )

    def __init__(
        self,
        *args: Any,
        editable: QuerySet[DriverMap],
        listed: Sequence[DriverMap] | None = None,
        **kwargs: Any,
    ) -> None:
        """``editable``: the maps one may import into; ``listed``: the same maps when the
        page has already read them, offered as read (a choice posted is still looked up
        among ``editable``)."""
        super().__init__(*args, **kwargs)
        field: Any = self.fields["into"]
        field.queryset = editable
        if listed is not None:
            field.widget.choices = [
                ("", field.empty_label),
                *((m.pk, field.label_from_instance(m)) for m in listed),
            ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("into") and not (cleaned.get("title") or "").strip():
            self.add_error("title", _("Give the new map a title, or choose a map to import into."))
        return cleaned


class MapCompareForm(forms.Form):
    a = forms.ModelChoiceField(label=_("Map A"), queryset=DriverMap.objects.none())
    b = forms.ModelChoiceField(label=_("Map B"), queryset=DriverMap.objects.none())

    def __init__(
        self,
        *args: Any,
        maps: QuerySet[DriverMap],
        listed: Sequence[DriverMap] | None = None,
        **kwargs: Any,
    ) -> None:
        """``maps``: those that may be compared; ``listed``: the same maps when the page has
        already read them. Both lists offer them as read once (a choice posted is still looked
        up among ``maps``)."""
        super().__init__(*args, **kwargs)
        offered = list(names_only(maps)) if listed is None else listed
        for name in ("a", "b"):
            field: Any = self.fields[name]
            field.queryset = names_only(maps)
            field.widget.choices = [
                ("", field.empty_label),
                *((m.pk, field.label_from_instance(m)) for m in offered),
            ]

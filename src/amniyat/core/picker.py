"""A picker: one field for choosing among more things than a page should carry.

A national programme has hundreds of places and community groups; a ``<select>`` or a list
of checkboxes of all of them grew every form page that offered them (30-45 ms and up to 90 kB
each at 540 places). A picker field draws only what is chosen, as checked inputs of the
field's name, and a search box: what the reader types is sent (htmx) to the field's
``source``, an endpoint of the app that owns the things, scoped to the reader, which answers
with a short list of matching inputs of the same name (``picker_results.html``, drawn by
:func:`results`). ``picker.js`` moves an input the reader ticks among the chosen ones, so that
a new search keeps it. The field validates against its queryset, the same scoped queryset the
endpoint searches, so a posted id outside it gets the field's message and never reaches a
service.

The field is a ``ModelChoiceField`` (or the multiple one) in everything but drawing: give it
its queryset, its source URL (:meth:`PickerMixin.offer`) and a ``describe`` function that
names the chosen rows (a place by its path, a group by its name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django import forms
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

# What a picker's search answers at most at once; more are found by typing more. Browsing a
# place shows all that lies inside it, up to a district's worth.
RESULTS_SHOWN = 30
RESULTS_BROWSED = 300

# The name a picker's inputs carry, sent to its endpoint: a form field's, with its prefix.
FIELD_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")

# Names the rows of a queryset: ``(pk, label)`` for each, in the order to show them.
Describe = Callable[[QuerySet[Any]], Iterable[tuple[Any, str]]]


def _by_name(rows: QuerySet[Any]) -> Iterable[tuple[Any, str]]:
    return sorted(((row.pk, str(row)) for row in rows), key=lambda item: item[1].casefold())


class PickerWidget(forms.Widget):
    """The chosen items as checked inputs, then a search box and the place its answers go."""

    input_type = "picker"  # form_fields.html labels the search box

    def __init__(self, *, multiple: bool = False, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.multiple = multiple
        self.source = ""
        self.browse = False
        self.chosen: Callable[[list[str]], list[tuple[str, str]]] = lambda values: []
        self.none_label: Any = ""

    @property
    def allow_multiple_selected(self) -> bool:
        return self.multiple

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if self.multiple:
            getter = getattr(data, "getlist", None)
            return getter(name) if getter else data.get(name)
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False if self.multiple else name not in data

    def chosen_values(self, value: Any) -> list[str]:
        if value is None:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [str(getattr(v, "pk", v)) for v in values if v not in (None, "")]

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        field_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        input_type = "checkbox" if self.multiple else "radio"
        values = self.chosen_values(value)
        rows = self.chosen(values) if values else []
        items = []
        if not self.multiple and self.none_label:
            items.append(
                format_html(
                    '<li><label><input type="radio" name="{}" value=""{}> {}</label></li>',
                    name,
                    "" if rows else " checked",
                    self.none_label,
                )
            )
        items.extend(
            format_html(
                '<li><label><input type="{}" name="{}" value="{}" checked> {}</label></li>',
                input_type,
                name,
                pk,
                label,
            )
            for pk, label in rows
        )
        browse = (
            format_html(
                '<button type="button" class="picker-browse" hx-get="{}" hx-target="#{}_results"'
                ">{}</button>",
                self.source,
                field_id,
                _("Browse the list"),
            )
            if self.browse and self.source
            else ""
        )
        # The search box belongs to no form (form= names none): Enter does not send the page's
        # form, and the words typed are not posted with it.
        return format_html(
            '<div class="picker" data-picker>'
            '<ul class="picker-chosen" aria-label="{}">{}</ul>'
            '<div class="picker-search"><input type="search" id="{}" name="q" form="{}_none"'
            ' autocomplete="off" maxlength="100" placeholder="{}" hx-get="{}"'
            ' hx-trigger="input changed delay:300ms" hx-target="#{}_results"'
            ' aria-controls="{}_results"></div>'
            '<div class="picker-results" id="{}_results" aria-live="polite"></div>{}'
            "</div>",
            _("Chosen"),
            format_html_join("", "{}", ((item,) for item in items)),
            field_id,
            field_id,
            _("Type a few letters of the name"),
            self.source,
            field_id,
            field_id,
            field_id,
            browse,
        )


# An id a database can hold: digits, fewer than 19 (a longer one overflows SQLite's integer).
_ID = re.compile(r"[0-9]{1,18}")


def _refuse_bad_ids(field: Any, values: list[Any]) -> None:
    for value in values:
        if value not in (None, "") and not _ID.fullmatch(str(value)):
            raise forms.ValidationError(
                field.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )


class PickerMixin:
    """What the two picker fields share: where the widget finds its choices."""

    describe: Describe
    widget: PickerWidget
    to_field_name: str | None

    def offer(self, queryset: QuerySet[Any], source: str, *, browse: bool = False) -> None:
        """Choose among ``queryset`` (what a post is checked against), searched at ``source``."""
        self.queryset = queryset
        self.widget.source = source
        self.widget.browse = browse

    def _set_queryset(self, queryset: QuerySet[Any] | None) -> None:
        super()._set_queryset(queryset)  # type: ignore[misc]
        widget = self.widget
        describe = self.describe
        chosen_from = None if queryset is None else queryset.all()

        def chosen(values: list[str]) -> list[tuple[str, str]]:
            ids = [v for v in values if _ID.fullmatch(v)]
            if chosen_from is None or not ids:
                return []
            return [(str(pk), label) for pk, label in describe(chosen_from.filter(pk__in=ids))]

        widget.chosen = chosen


class PickerChoiceField(PickerMixin, forms.ModelChoiceField):  # type: ignore[type-arg]
    def __init__(
        self,
        *,
        describe: Describe = _by_name,
        invalid: Any = None,
        none_label: Any = None,
        **kwargs: Any,
    ) -> None:
        self.describe = describe
        kwargs.setdefault("queryset", None)
        kwargs.setdefault("widget", PickerWidget(multiple=False))
        kwargs["empty_label"] = None
        super().__init__(**kwargs)
        if invalid is not None:
            self.error_messages["invalid_choice"] = invalid
        if not self.required:
            self.widget.none_label = none_label or _("none")

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, self.queryset.model):
            _refuse_bad_ids(self, [value])
        return super().to_python(value)

    queryset = property(forms.ModelChoiceField._get_queryset, PickerMixin._set_queryset)  # type: ignore[attr-defined]


class PickerMultipleChoiceField(PickerMixin, forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def __init__(
        self, *, describe: Describe = _by_name, invalid: Any = None, **kwargs: Any
    ) -> None:
        self.describe = describe
        kwargs.setdefault("queryset", None)
        kwargs.setdefault("widget", PickerWidget(multiple=True))
        super().__init__(**kwargs)
        if invalid is not None:
            self.error_messages["invalid_choice"] = invalid
            self.error_messages["invalid_pk_value"] = invalid

    def _check_values(self, value: Any) -> Any:
        _refuse_bad_ids(self, list(value))
        return super()._check_values(value)  # type: ignore[misc]

    queryset = property(forms.ModelChoiceField._get_queryset, PickerMixin._set_queryset)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Choices:
    """What a picker field offers: the scoped queryset a post is checked against, and the
    address of the endpoint that searches the same set (its query string started)."""

    queryset: QuerySet[Any]
    source: str
    browse: bool = False


def offer(form: forms.BaseForm, name: str, choices: Choices) -> None:
    """Let ``form``'s picker field ``name`` choose among ``choices``; the endpoint is told the
    name its inputs carry (with the form's prefix) and whether several may be chosen."""
    field = form.fields[name]
    assert isinstance(field, PickerMixin)
    multiple = "&multiple=1" if field.widget.multiple else ""
    source = f"{choices.source}&name={quote(form.add_prefix(name))}{multiple}"
    field.offer(choices.queryset, source, browse=choices.browse)


# ----------------------------------------------------------------------------------------
# The endpoint's answer.


@dataclass(frozen=True)
class Result:
    """One thing a search found: its id, its name (a place's path), and, when things lie
    inside it that may be chosen too, the address that lists them."""

    pk: Any
    label: str
    inside: str = ""


def results(
    *,
    name: str,
    multiple: bool,
    rows: Sequence[Result],
    more: bool,
    query: str,
    heading: str = "",
    up: str = "",
) -> str:
    """The picker's answer: inputs named as the field, at most :data:`RESULTS_SHOWN`."""
    return render_to_string(
        "picker_results.html",
        {
            "name": name,
            "input_type": "checkbox" if multiple else "radio",
            "rows": rows,
            "more": more,
            "query": query,
            "heading": heading,
            "up": up,
        },
    )

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils import formats
from django.utils.html import conditional_escape

from amniyat.core.i18n import reader_language, translated_text


class ChoicesAtOnce(ModelChoiceIterator):
    """A model choice field's options read in one statement, as any other list.

    Django's own iterator reads them with ``QuerySet.iterator()``, which on PostgreSQL opens a
    server-side cursor: DECLARE, FETCH and CLOSE, three round trips for a list of a few
    hundred options, on every select and checkbox list of every form. On a busy machine each
    round trip waits its turn for a core. Used by every ``ModelChoiceField`` and
    ``ModelMultipleChoiceField`` (``CoreConfig.ready``); the rows are as many as the options
    the page writes anyway."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        queryset = self.queryset
        if not queryset._prefetch_related_lookups:  # type: ignore[attr-defined]  # else kept, as in Django
            queryset = queryset.all()
        for obj in queryset:
            yield self.choice(obj)


def apply_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, on the field it names where it can."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for item in errors:
                form.add_error(target if field != NON_FIELD_ERRORS else None, item)
    else:
        for message in error.messages:
            form.add_error(None, message)


class TranslatedChoiceIterator(ModelChoiceIterator):
    """The choices of a ``ModelChoiceField`` over translatable rows, each named as ``str()``
    names it (its first translated field in the reader's language), read as values: a
    programme's 500 groups are 2 ms of values where model instances are 10. A field with its
    own ``label_from_instance`` keeps Django's iterator."""

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        field = self.queryset.model.TRANSLATED[0]
        language = reader_language()
        rows = self.queryset.values_list("pk", field, "content_language", "translations")
        for pk, written, content_language, translations in rows:
            yield (pk, translated_text(written, content_language, translations, field, language))


class TranslatedChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A ``ModelChoiceField`` over translatable rows with :class:`TranslatedChoiceIterator`."""

    iterator = TranslatedChoiceIterator


# ----------------------------------------------------------------------------------------
# Drawing widgets.
#
# Django draws a <select> by rendering one template per option, and a list of checkboxes with
# three nested templates per option: about 0.07 ms an option, so a form offering the 300
# places of a programme spends 20 ms in its widgets; each text input or text area costs two
# templates. FormRenderer writes the markup of those templates directly (for choice widgets,
# those that use Django's own option templates), with the same
# escaping (Widget.render marks the result safe), and leaves every other template, and any
# widget with options of its own, to Django; tests/core/test_form_renderer.py holds the
# output equal to the templates'.

SELECT = "django/forms/widgets/select.html"
TEXTAREA = "django/forms/widgets/textarea.html"
# The templates that are nothing but ``{% include "django/forms/widgets/input.html" %}``.
INPUT_TYPES = (
    "checkbox color date datetime email file hidden number password search tel text time url"
)
INPUT = {f"django/forms/widgets/{name}.html" for name in INPUT_TYPES.split(" ")}
MULTIPLE_INPUT = {
    "django/forms/widgets/checkbox_select.html": "django/forms/widgets/checkbox_option.html",
    "django/forms/widgets/radio.html": "django/forms/widgets/radio_option.html",
}


def _text(value: Any) -> str:
    """A template's ``{{ value }}``: localised, then escaped unless already safe."""
    return conditional_escape(str(formats.localize(value)))


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _select(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        parts.extend(
            f'\n  <option value="{conditional_escape(str(option["value"]))}"'
            f"{_attrs(option['attrs'])}>{_text(option['label'])}</option>\n"
            for option in options
        )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html."""
    value = widget["value"]
    return (
        f'<input type="{_text(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        + ("" if value is None else f' value="{conditional_escape(str(value))}"')
        + f"{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict[str, Any]) -> str:
    value = _text(widget["value"]) if widget["value"] else ""
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{value}</textarea>"
    )


def _input_option(option: dict[str, Any]) -> str:
    """django/forms/widgets/{checkbox,radio}_option.html: input_option.html with input.html."""
    markup = _input(option) + "\n"
    if not option["wrap_label"]:
        return markup + "\n\n"
    label_id = option["attrs"].get("id")
    opening = f'<label for="{_text(label_id)}">' if label_id else "<label>"
    return f"{opening}{markup} {_text(option['label'])}</label>\n\n"


def _multiple_input(widget: dict[str, Any]) -> str:
    attrs = widget["attrs"]
    parts = ["<div"]
    if attrs.get("id"):
        parts.append(f' id="{_text(attrs["id"])}"')
    if attrs.get("class"):
        parts.append(f' class="{_text(attrs["class"])}"')
    parts.append(">")
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f"\n  <div><label>{_text(group_name)}</label>")
        parts.extend(f"<div>\n    {_input_option(option)}</div>" for option in options)
        if group_name:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    """Django's default renderer, writing inputs, text areas and choice widgets directly."""

    def render(
        self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
    ) -> str:
        widget: dict[str, Any] = context.get("widget") or {}
        if template_name in INPUT:
            return _input(widget)
        if template_name == TEXTAREA:
            return _textarea(widget)
        if "optgroups" in widget:
            options = [
                option
                for _group, group_options, _i in widget["optgroups"]
                for option in group_options
            ]
            if template_name == SELECT and all(
                option["template_name"] == "django/forms/widgets/select_option.html"
                for option in options
            ):
                return _select(widget)
            if template_name in MULTIPLE_INPUT and all(
                option["template_name"] == MULTIPLE_INPUT[template_name] for option in options
            ):
                return _multiple_input(widget)
        return super().render(template_name, context, request)

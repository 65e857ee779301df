"""The form renderer writes choice widgets exactly as Django's own templates do."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy, override

from amniyat.core.forms import FormRenderer

PLACES = [(pk, f"<b>Mahalla & {pk}</b> “{pk}”") for pk in range(1, 301)]
GROUPED = [
    ("Khatlon", [(1, "Bokhtar"), (2, "Kulob")]),
    ("Sughd & <Ferghana>", [(3, "Isfara")]),
    (4, "Dushanbe"),
    ("", "---------"),
]


class TaggedOption(forms.Select):
    option_template_name = "django/forms/widgets/input.html"


class Every(forms.Form):
    place = forms.ChoiceField(choices=PLACES, initial=5)
    grouped = forms.ChoiceField(choices=GROUPED, required=False)
    many = forms.MultipleChoiceField(
        choices=PLACES[:40],
        widget=forms.CheckboxSelectMultiple(attrs={"class": 'ticks "x"'}),
        initial=[1, 2],
    )
    grouped_many = forms.MultipleChoiceField(
        choices=[*GROUPED[:2], (9, SafeString("<i>safe</i>"))],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    one = forms.ChoiceField(
        choices=[(1, gettext_lazy("Yes")), (2, gettext_lazy("No"))], widget=forms.RadioSelect
    )
    listed = forms.MultipleChoiceField(
        choices=PLACES[:5],
        initial=[3],
        widget=forms.SelectMultiple(attrs={"disabled": True, "data-off": False, "size": 3}),
    )
    unknown = forms.NullBooleanField()
    dated = forms.ChoiceField(choices=[(datetime.date(2026, 1, 2), 1234567.5)])
    unlabelled = forms.ChoiceField(choices=[(1, "a")], widget=forms.RadioSelect(attrs={"id": ""}))
    own_option = forms.ChoiceField(choices=[(1, "a")], widget=TaggedOption)
    title = forms.CharField(initial='Women\'s "safety" <walk> & talk', max_length=200)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial="<p>&</p>\nline")
    empty_notes = forms.CharField(widget=forms.Textarea, required=False)
    number = forms.DecimalField(initial=1234567.5, localize=True)
    count = forms.IntegerField(min_value=0, required=False)
    on = forms.DateField(initial=datetime.date(2026, 12, 6))
    at = forms.DateTimeField(required=False)
    email = forms.EmailField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="p<w")
    hidden = forms.CharField(widget=forms.HiddenInput, initial=7)
    agreed = forms.BooleanField(initial=True)
    not_agreed = forms.BooleanField(required=False)
    upload = forms.FileField(required=False, widget=forms.FileInput)
    address = forms.URLField(required=False, assume_scheme="https")


@pytest.mark.parametrize("language", ["en", "tg"])
@pytest.mark.parametrize("auto_id", ["id_%s", False])
@pytest.mark.parametrize(
    "data",
    [
        None,
        {"place": "7", "many": ["3"], "one": "1", "title": "<x>", "notes": "", "number": "1,5"},
        {"place": "nowhere", "count": "-1", "on": "not a date", "agreed": "on"},
    ],
)
def test_every_choice_widget_is_written_as_django_writes_it(
    language: str, auto_id: str | bool, data: dict[str, object] | None
) -> None:
    with override(language):
        ours = Every(data, auto_id=auto_id, renderer=FormRenderer())
        django = Every(data, auto_id=auto_id, renderer=DjangoTemplates())
        for name in Every.base_fields:
            assert str(ours[name]) == str(django[name]), name


def test_labels_and_values_are_escaped() -> None:
    html = str(Every(renderer=FormRenderer())["place"])
    assert "<b>" not in html
    assert "&lt;b&gt;Mahalla &amp; 5&lt;/b&gt;" in html
    assert '<option value="5" selected>' in html


def test_forms_use_it_and_it_draws_options_without_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(get_default_renderer(), FormRenderer)
    drawn: list[str] = []
    original = DjangoTemplates.render

    def counted(self: DjangoTemplates, template_name: str, *args: object, **kwargs: object) -> str:
        drawn.append(template_name)
        return original(self, template_name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DjangoTemplates, "render", counted)
    form = Every(renderer=FormRenderer())
    for name in Every.base_fields:
        if name != "own_option":
            str(form[name])
    assert drawn == []
    str(form["own_option"])  # options of its own: left to Django's templates
    assert drawn == ["django/forms/widgets/select.html"]

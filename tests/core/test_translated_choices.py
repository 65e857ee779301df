"""A choice of translatable rows read as values (`core.forms.TranslatedChoiceField`, the team
page's 500 groups) offers what Django's field offers, named as `str()` names each row in the
reader's language: its translation, its own text where it is written in that language, or the
text as written where no translation exists."""

from __future__ import annotations

import pytest
from django import forms
from django.utils import translation

from amniyat.accounts.models import Organisation
from amniyat.core.forms import TranslatedChoiceField
from tests.factories import OrganisationFactory


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru", "tg", "uz"])
def test_a_translated_choice_offers_what_djangos_offers(language: str) -> None:
    written_in_russian = OrganisationFactory(name="Женский совет", content_language="ru")
    translated = OrganisationFactory(name="Women's council", content_language="en")
    translated.set_translation("name", "ru", "Совет женщин")
    translated.set_translation("name", "tg", "Шӯрои занон")
    translated.save(update_fields=["translations"])
    OrganisationFactory(name="Untranslated <CSO> & co", content_language="en")
    queryset = Organisation.objects.order_by("name")

    class Django(forms.Form):
        organisation = forms.ModelChoiceField(queryset=queryset, required=False)

    class Values(forms.Form):
        organisation = TranslatedChoiceField(queryset=queryset, required=False)

    with translation.override(language):
        for data in ({}, {"organisation": written_in_russian.pk}):
            assert str(Values(data)["organisation"]) == str(Django(data)["organisation"])
        labels = [label for _value, label in Values().fields["organisation"].choices]
        assert labels == ["---------", *(str(row) for row in queryset)]
    chosen = Values({"organisation": translated.pk})
    assert chosen.is_valid() and chosen.cleaned_data["organisation"] == translated

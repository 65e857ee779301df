from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "amniyat.core"
    label = "core"

    def ready(self) -> None:
        from django import forms

        from amniyat.core.forms import ChoicesAtOnce

        # Every model choice field's options in one statement, not through a server-side
        # cursor (core/forms.py); Django documents the attribute as the one to replace.
        forms.ModelChoiceField.iterator = ChoicesAtOnce

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "amniyat.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from amniyat.accounts import schema, signals  # noqa: F401 - registers extensions

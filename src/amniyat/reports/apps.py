from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "amniyat.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from amniyat.reports.built import register_builders

        register_builders()

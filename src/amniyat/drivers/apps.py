from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DriversConfig(AppConfig):
    name = "amniyat.drivers"
    label = "drivers"
    verbose_name = _("Drivers of insecurity")

    def ready(self) -> None:
        from amniyat.downloads.kinds import register
        from amniyat.drivers.coding.qdpx import DOWNLOAD

        register(DOWNLOAD)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldworkConfig(AppConfig):
    name = "amniyat.fieldwork"
    label = "fieldwork"
    verbose_name = _("Fieldwork")

    def ready(self) -> None:
        from amniyat.core.errors import register_message_format
        from amniyat.downloads.kinds import register
        from amniyat.fieldwork.collection.openrosa import responses
        from amniyat.fieldwork.submissions.services import DOWNLOAD

        # Exports of a form's submissions are prepared downloads.
        register(DOWNLOAD)

        # ODK Collect shows an OpenRosa message to the enumerator; an HTML page it cannot.
        register_message_format(
            "/collect/",
            lambda request, text, status: responses.message(
                request, text, status=status, nature="error"
            ),
        )

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "amniyat.core"
    label = "core"

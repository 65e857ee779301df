from django.contrib import admin

from amniyat.places.models import Place


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name_en", "code", "level", "parent", "programme"]
    list_filter = ["level"]
    search_fields = ["name_en", "name_ru", "name_tg", "name_uz", "code"]

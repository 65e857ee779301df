from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from amniyat.fieldwork.models import Submission
from amniyat.fieldwork.submissions.services import submissions_changed
from amniyat.places.models import Place


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name_en", "code", "level", "parent", "programme"]
    list_filter = ["level"]
    search_fields = ["name_en", "name_ru", "name_tg", "name_uz", "code"]

    # Deleting a place leaves its submissions without one (SET NULL): their forms' data change.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            _places_left(Place.objects.filter(pk=obj.pk))
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            _places_left(queryset)
            super().delete_queryset(request, queryset)


def _places_left(places: QuerySet[Any]) -> None:
    submissions = Submission.objects.filter(place__in=places.values("pk")).order_by()
    submissions_changed(form_ids=submissions.values_list("form_id", flat=True).distinct())

"""REST endpoints for places."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from amniyat.api.mixins import narrowed_by_id
from amniyat.places import selectors
from amniyat.places.models import Place


class PlaceSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Place
        fields = [
            "id",
            "code",
            "level",
            "kind",
            "parent",
            "name",
            "name_en",
            "name_ru",
            "name_tg",
            "name_uz",
            "programme",
            "population",
        ]


class PlaceViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Shared administrative places, and the communities of the caller's programmes.
    Filter with ``?level=district`` or ``?parent=ID``."""

    serializer_class = PlaceSerializer

    def get_queryset(self) -> QuerySet[Place]:
        queryset = selectors.places_visible(user=self.request.user).order_by("level", "name_en")
        level = self.request.query_params.get("level")
        if level in Place.Level.values:
            queryset = queryset.filter(level=level)
        return narrowed_by_id(queryset, self.request, "parent", "parent_id")

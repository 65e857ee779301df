"""REST endpoints for places."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from amniyat.api.mixins import narrowed_by_id
from amniyat.api.pagination import ordered_by
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
    pagination_class = ordered_by("id")

    def get_queryset(self) -> QuerySet[Place]:
        # Not the boundary (GeoJSON, large) nor the parent, of which only the id is shown.
        queryset = (
            selectors.places_visible(user=self.request.user).select_related(None).defer("boundary")
        )
        level = self.request.query_params.get("level")
        if level in Place.Level.values:
            queryset = queryset.filter(level=level)
        return narrowed_by_id(queryset, self.request, "parent", "parent_id")

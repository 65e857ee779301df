"""REST endpoints of fieldwork 'collection': the collection devices, read only, for those
who may manage them. Passwords are never stored, so never shown."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.routers import BaseRouter

from amniyat.accounts import policies
from amniyat.accounts.selectors import programmes_of
from amniyat.api.mixins import programme_from
from amniyat.api.pagination import ordered_by
from amniyat.fieldwork.collection import selectors
from amniyat.fieldwork.models import DeviceUser


class DeviceUserSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    programme: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = DeviceUser
        fields = [
            "id",
            "programme",
            "organisation",
            "username",
            "label",
            "assessments",
            "created_at",
            "last_seen_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = fields


class DeviceUserViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Collection devices of the programmes the caller manages devices in. Filter with
    ``?programme=SLUG``."""

    serializer_class = DeviceUserSerializer
    pagination_class = ordered_by("username")

    def get_queryset(self) -> QuerySet[DeviceUser]:
        user = self.request.user
        wanted = self.request.query_params.get("programme", "")
        programmes = [programme_from(self.request, wanted)] if wanted else programmes_of(user=user)
        queryset = DeviceUser.objects.none()
        for programme in programmes:
            if policies.can(user, "device.manage", programme):
                queryset |= selectors.devices_visible(user=user, programme=programme)
        return (
            # Never the secrets a device signs in with (one stored encrypted), which nothing
            # here shows.
            queryset.defer("password_hash", "digest_ha1")
            .select_related("programme")
            .prefetch_related("assessments")
            .order_by("username")
        )


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("devices", DeviceUserViewSet, basename="device")

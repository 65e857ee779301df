from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget
from amniyat.communities.services import members_changed


def _programme_ids(objects: QuerySet[Any] | list[Any]) -> set[int]:
    ids: set[int] = set()
    for obj in objects:
        ids.add(obj.group.programme_id if isinstance(obj, GroupMember) else obj.programme_id)
    return ids


class MembersChangedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The admin writes past the services: it raises the programme's members revision itself,
    in the transaction of the write, as they do (``services.members_changed``)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            # A row moved to another programme changes the figures of both.
            stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change else None
            programme_ids = _programme_ids([stored]) if stored is not None else set()
            super().save_model(request, obj, form, change)
            for programme_id in programme_ids | _programme_ids([obj]):
                members_changed(programme_id=programme_id)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        with transaction.atomic():
            programme_ids = _programme_ids([obj])
            super().delete_model(request, obj)
            for programme_id in programme_ids:
                members_changed(programme_id=programme_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            programme_ids = _programme_ids(list(queryset))
            super().delete_queryset(request, queryset)
            for programme_id in programme_ids:
                members_changed(programme_id=programme_id)


@admin.register(CommunityGroup)
class CommunityGroupAdmin(MembersChangedAdmin):
    list_display = ["name", "programme", "kind", "place", "facilitating_organisation", "is_new"]
    list_filter = ["programme", "kind", "is_new"]
    search_fields = ["name"]


@admin.register(GroupMember)
class GroupMemberAdmin(MembersChangedAdmin):
    list_display = ["code", "group", "sex", "age_band", "joined_on", "left_on"]
    list_filter = ["sex", "age_band"]
    exclude = ["display_name"]  # personal data is read only through the audited pages


@admin.register(RepresentationTarget)
class RepresentationTargetAdmin(MembersChangedAdmin):
    list_display = ["programme", "dimension", "sector", "min_share", "min_count"]

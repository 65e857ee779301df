from django.contrib import admin

from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget


@admin.register(CommunityGroup)
class CommunityGroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "programme", "kind", "place", "facilitating_organisation", "is_new"]
    list_filter = ["programme", "kind", "is_new"]
    search_fields = ["name"]


@admin.register(GroupMember)
class GroupMemberAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "group", "sex", "age_band", "joined_on", "left_on"]
    list_filter = ["sex", "age_band"]
    exclude = ["display_name"]  # personal data is read only through the audited pages


@admin.register(RepresentationTarget)
class RepresentationTargetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["programme", "dimension", "sector", "min_share", "min_count"]

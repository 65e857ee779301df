from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from amniyat.accounts.models import Membership, Organisation, PersonalToken, Programme, User


@admin.register(User)
class AmniyatUserAdmin(UserAdmin):  # type: ignore[type-arg]
    fieldsets = (*UserAdmin.fieldsets, ("Amniyat", {"fields": ("preferred_language",)}))  # type: ignore[misc]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "kind", "country", "women_led", "is_demo"]
    list_filter = ["kind", "country", "women_led"]
    search_fields = ["name", "short_name"]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "country", "lead_organisation", "starts_on", "ends_on"]
    filter_horizontal = ["partners", "places"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "programme", "organisation", "role"]
    list_filter = ["programme", "role"]


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "name", "hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["digest", "hint"]

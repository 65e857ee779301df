"""Routes of the action plans."""

from django.urls import URLPattern, path

from amniyat.plans import exchange_views, views

app_name = "plans"

PLAN = "p/<slug:slug>/plans/<int:pk>/"

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/plans/", views.plan_list, name="list"),
    path("p/<slug:slug>/plans/from/<int:pk>/", views.plan_create, name="create"),
    path(PLAN, views.plan_detail, name="detail"),
    path(f"{PLAN}status/", views.plan_status, name="status"),
    path(f"{PLAN}endorse/", views.signatory_add, name="endorse"),
    path(f"{PLAN}actions/new/", views.action_create, name="action_create"),
    path("p/<slug:slug>/plans/actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
    path(f"{PLAN}workplan/", exchange_views.workplan_export, name="workplan"),
    path(f"{PLAN}workplan/import/", exchange_views.workplan_import, name="workplan_import"),
    path(f"{PLAN}due-dates.ics", exchange_views.plan_calendar, name="calendar"),
]

"""Routes of the action plans."""

from django.urls import URLPattern, path

from amniyat.plans import accountability_views, views

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
    path(
        "p/<slug:slug>/plans/accountability/",
        accountability_views.programme_accountability,
        name="programme_accountability",
    ),
    path(
        f"{PLAN}accountability/",
        accountability_views.plan_accountability,
        name="accountability",
    ),
    path(f"{PLAN}public/", accountability_views.plan_public, name="public"),
    path(f"{PLAN}publish/", accountability_views.plan_publish, name="publish"),
]

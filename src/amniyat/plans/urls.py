"""Routes of the action plans."""

from django.urls import URLPattern, path

from amniyat.plans import update_views, views

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
    # Progress updates, evidence and disputes (update_views.py).
    path(
        "p/<slug:slug>/plans/actions/<int:pk>/updates/",
        update_views.action_updates,
        name="action_updates",
    ),
    path(
        "p/<slug:slug>/plans/actions/<int:pk>/updates/new/",
        update_views.update_create,
        name="update_create",
    ),
    path(
        "p/<slug:slug>/plans/actions/<int:pk>/disputes/new/",
        update_views.dispute_create,
        name="dispute_create",
    ),
    path(
        "p/<slug:slug>/plans/updates/<int:pk>/verify/",
        update_views.update_verify,
        name="update_verify",
    ),
    path(
        "p/<slug:slug>/plans/disputes/<int:pk>/resolve/",
        update_views.dispute_resolve,
        name="dispute_resolve",
    ),
    path(
        "p/<slug:slug>/plans/evidence/<int:pk>/", update_views.evidence_file, name="evidence_file"
    ),
]

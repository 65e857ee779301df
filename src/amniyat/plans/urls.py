"""Routes of the action plans."""

from django.urls import URLPattern, path

from amniyat.plans import (
    accountability_views,
    consultation_views,
    exchange_views,
    update_views,
    views,
)

app_name = "plans"

PLAN = "p/<slug:slug>/plans/<int:pk>/"
CONSULTATIONS = "p/<slug:slug>/consultations/"

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/plans/", views.plan_list, name="list"),
    path("p/<slug:slug>/plans/from/<int:pk>/", views.plan_create, name="create"),
    path(PLAN, views.plan_detail, name="detail"),
    path(f"{PLAN}status/", views.plan_status, name="status"),
    path(f"{PLAN}endorse/", views.signatory_add, name="endorse"),
    path(f"{PLAN}actions/new/", views.action_create, name="action_create"),
    path("p/<slug:slug>/plans/actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
    path(CONSULTATIONS, consultation_views.consultation_list, name="consultation_list"),
    path(
        f"{CONSULTATIONS}new/", consultation_views.consultation_create, name="consultation_create"
    ),
    path(
        f"{CONSULTATIONS}<int:pk>/",
        consultation_views.consultation_detail,
        name="consultation_detail",
    ),
    path(
        f"{CONSULTATIONS}<int:pk>/edit/",
        consultation_views.consultation_edit,
        name="consultation_edit",
    ),
    path(
        f"{CONSULTATIONS}<int:pk>/commitments/",
        consultation_views.commitment_add,
        name="commitment_add",
    ),
    path(
        f"{CONSULTATIONS}commitments/<int:pk>/action/",
        consultation_views.commitment_action,
        name="commitment_action",
    ),
    path(f"{PLAN}workplan/", exchange_views.workplan_export, name="workplan"),
    path(f"{PLAN}workplan/import/", exchange_views.workplan_import, name="workplan_import"),
    path(f"{PLAN}due-dates.ics", exchange_views.plan_calendar, name="calendar"),
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

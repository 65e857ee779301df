from django.urls import path

from amniyat.findings import views

app_name = "findings"
urlpatterns = [
    path("p/<slug:slug>/findings/", views.findings_index, name="index"),
    path("p/<slug:slug>/findings/change/", views.change, name="change"),
    path("p/<slug:slug>/findings/change/table/", views.change_table, name="change_table"),
    path("p/<slug:slug>/findings/<int:pk>/", views.assessment_findings, name="assessment"),
    path("p/<slug:slug>/findings/<int:pk>/table/", views.assessment_table, name="assessment_table"),
    path("p/<slug:slug>/findings/<int:pk>/gender/", views.gender_gap, name="gender_gap"),
    path(
        "p/<slug:slug>/findings/<int:pk>/gender/table/",
        views.gender_gap_table,
        name="gender_gap_table",
    ),
    path("p/<slug:slug>/findings/results/<int:pk>/publish/", views.publish, name="publish"),
    path("p/<slug:slug>/indicators/", views.indicators, name="indicators"),
]

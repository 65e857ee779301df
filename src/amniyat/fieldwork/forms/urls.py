"""Routes of the fieldwork 'forms' pages: assessments, their XLSForms, sensitivity,
publishing."""

from django.urls import URLPattern, URLResolver, path

from amniyat.fieldwork.forms import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("p/<slug:slug>/assessments/", views.assessment_list, name="assessment_list"),
    path("p/<slug:slug>/assessments/new/", views.assessment_create, name="assessment_create"),
    path("p/<slug:slug>/assessments/<int:pk>/", views.assessment_detail, name="assessment_detail"),
    path("p/<slug:slug>/assessments/<int:pk>/edit/", views.assessment_edit, name="assessment_edit"),
    path("p/<slug:slug>/assessments/<int:pk>/forms/upload/", views.form_upload, name="form_upload"),
    path("p/<slug:slug>/assessments/forms/<int:pk>/", views.form_detail, name="form_detail"),
    path(
        "p/<slug:slug>/assessments/forms/<int:pk>/sensitivity/",
        views.form_sensitivity,
        name="form_sensitivity",
    ),
    path(
        "p/<slug:slug>/assessments/forms/<int:pk>/publish/",
        views.form_publish,
        name="form_publish",
    ),
    path("p/<slug:slug>/assessments/forms/<int:pk>/close/", views.form_close, name="form_close"),
]

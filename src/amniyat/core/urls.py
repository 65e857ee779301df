from django.urls import path

from amniyat.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", views.switch_language, name="set_language"),
    path("p/<slug:slug>/", views.programme_home, name="programme"),
    path("p/<slug:slug>/audit/", views.audit_log, name="audit"),
]

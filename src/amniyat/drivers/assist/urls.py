"""Routes of the drivers area: assisted coding."""

from django.urls import URLPattern, path

from amniyat.drivers.assist import views

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/drivers/assist/", views.assist_queue, name="assist"),
    path("p/<slug:slug>/drivers/assist/accept/", views.assist_accept, name="assist_accept"),
    path("p/<slug:slug>/drivers/assist/reject/", views.assist_reject, name="assist_reject"),
    path(
        "p/<slug:slug>/drivers/assist/evaluate/",
        views.assist_evaluate,
        name="assist_evaluate",
    ),
]

"""Routes of the drivers area: assisted coding."""

from django.urls import URLPattern, path

from amniyat.drivers import views_assist

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/drivers/assist/", views_assist.assist_queue, name="assist"),
    path("p/<slug:slug>/drivers/assist/accept/", views_assist.assist_accept, name="assist_accept"),
    path("p/<slug:slug>/drivers/assist/reject/", views_assist.assist_reject, name="assist_reject"),
    path(
        "p/<slug:slug>/drivers/assist/evaluate/",
        views_assist.assist_evaluate,
        name="assist_evaluate",
    ),
]

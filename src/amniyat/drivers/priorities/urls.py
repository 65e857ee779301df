"""Routes of the drivers area: priorities."""

from django.urls import URLPattern, path

from amniyat.drivers.priorities import views

urlpatterns: list[URLPattern] = [
    path("p/<slug:slug>/drivers/priorities/", views.priority_index, name="priority_index"),
    path(
        "p/<slug:slug>/drivers/priorities/group/<int:pk>/new/",
        views.priority_list_create,
        name="priority_list_create",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/<int:pk>/",
        views.priority_list_detail,
        name="priority_list_detail",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/<int:pk>/edit/",
        views.priority_list_edit,
        name="priority_list_edit",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/<int:pk>/agree/",
        views.priority_list_agree,
        name="priority_list_agree",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/<int:pk>/add/",
        views.priority_add,
        name="priority_add",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/<int:pk>/delete/",
        views.priority_list_delete,
        name="priority_list_delete",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/concern/<int:pk>/edit/",
        views.priority_edit,
        name="priority_edit",
    ),
    path(
        "p/<slug:slug>/drivers/priorities/concern/<int:pk>/delete/",
        views.priority_delete,
        name="priority_delete",
    ),
]

from django.urls import path

from amniyat.communities import views

app_name = "communities"
urlpatterns = [
    path("p/<slug:slug>/groups/", views.group_list, name="list"),
    path("p/<slug:slug>/groups/new/", views.group_create, name="create"),
    path("p/<slug:slug>/groups/<int:pk>/", views.group_detail, name="detail"),
    path("p/<slug:slug>/groups/<int:pk>/edit/", views.group_edit, name="edit"),
    path("p/<slug:slug>/groups/<int:pk>/members/new/", views.member_create, name="member_create"),
    path(
        "p/<slug:slug>/groups/<int:pk>/members/<int:member_pk>/",
        views.member_edit,
        name="member_edit",
    ),
    path(
        "p/<slug:slug>/representativeness/",
        views.programme_representativeness,
        name="representativeness",
    ),
    path("p/<slug:slug>/targets/", views.targets_edit, name="targets"),
    path("p/<slug:slug>/groups/pick/", views.group_pick, name="pick"),
]

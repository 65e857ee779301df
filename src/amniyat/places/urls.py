from django.urls import path

from amniyat.places import views

app_name = "places"
urlpatterns = [
    path("p/<slug:slug>/places/", views.place_list, name="list"),
    path("p/<slug:slug>/places/new/", views.community_create, name="create"),
    path("p/<slug:slug>/places/<int:pk>/", views.place_detail, name="detail"),
    path("p/<slug:slug>/places/<int:pk>/edit/", views.community_edit, name="edit"),
    path("p/<slug:slug>/places/partners/<int:pk>/", views.partner_area, name="partner_area"),
    path("p/<slug:slug>/places/pick/", views.place_pick, name="pick"),
]

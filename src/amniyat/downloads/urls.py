from django.urls import path

from amniyat.downloads import views

app_name = "downloads"
urlpatterns = [
    path("p/<slug:slug>/downloads/<int:pk>/", views.download_detail, name="detail"),
    path("p/<slug:slug>/downloads/<int:pk>/progress/", views.download_progress, name="progress"),
    path("p/<slug:slug>/downloads/<int:pk>/file", views.download_file, name="file"),
]

from django.urls import path

from amniyat.accounts import views
from amniyat.accounts.translations import urls as translations_urls

app_name = "accounts"
urlpatterns = [
    path("accounts/login/", views.sign_in, name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("accounts/me/", views.account, name="account"),
    path("accounts/me/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("p/<slug:slug>/team/", views.team, name="team"),
    path("p/<slug:slug>/team/<int:pk>/", views.membership_edit, name="membership_edit"),
]
urlpatterns += [
    path("p/<slug:slug>/organisations/", views.organisation_list, name="organisation_list"),
    path("p/<slug:slug>/organisations/new/", views.organisation_create, name="organisation_create"),
    path(
        "p/<slug:slug>/organisations/<int:pk>/",
        views.organisation_detail,
        name="organisation_detail",
    ),
]

# The features of accounts that are packages of their own.
urlpatterns += translations_urls.urlpatterns

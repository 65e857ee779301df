"""The translation page of one object (with its parts)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from amniyat.accounts import selectors as programme_selectors
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.translations import selectors, services
from amniyat.accounts.translations.forms import TranslationForm


@login_required
def translate(
    request: AuthenticatedRequest, slug: str, kind: str, pk: int | None = None
) -> HttpResponse:
    programme = programme_selectors.programme_get(user=request.user, slug=slug)
    obj = selectors.translatable_get(
        user=request.user, programme=programme, kind=kind, pk=programme.pk if pk is None else pk
    )
    parts = obj.translation_parts()
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    form = TranslationForm(request.POST or None, obj=obj, parts=parts)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["content_language"]
        # Boxes are offered for the languages the text was not written in; a change of the
        # written language applies first, and its own box (now the written text) is dropped.
        texts = {key: text for key, text in form.texts().items() if key[2] != language}
        count = services.translations_save(
            obj=obj,
            programme=programme,
            content_language=language,
            texts=texts,
            acting_user=request.user,
            request=request,
        )
        messages.success(
            request,
            _("Translations saved (%(count)s changed).") % {"count": count},
        )
        return redirect(back or request.path)
    return render(
        request,
        "accounts/translations/translate.html",
        {"programme": programme, "object": obj, "form": form, "next": back},
    )

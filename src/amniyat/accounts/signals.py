"""Failed sign-ins through any door (pages, admin) reach the audit log."""

from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver


@receiver(user_login_failed)
def record_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    from amniyat.accounts.services import sign_in_failed

    sign_in_failed(request=request, username=str(credentials.get("username", "")))

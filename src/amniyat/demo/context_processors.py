"""The demo accounts, shown on the sign-in page of a demo server (``AMNIYAT_DEMO``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def demo_accounts(request: HttpRequest) -> dict[str, Any]:
    if not settings.AMNIYAT_DEMO:
        return {}
    # Read only on a demo server: a production one never loads the demo builder.
    from amniyat.demo.build import DEMO_ACCOUNTS, DEMO_PASSWORD

    return {"demo_accounts": DEMO_ACCOUNTS, "demo_password": DEMO_PASSWORD}

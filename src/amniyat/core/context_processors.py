from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def amniyat(request: HttpRequest) -> dict[str, Any]:
    return {
        "AMNIYAT_REQUIRE_2FA": settings.AMNIYAT_REQUIRE_2FA,
        "AMNIYAT_DEMO": getattr(settings, "AMNIYAT_DEMO", False),
    }

"""Tell the OpenAPI schema how personal tokens authenticate."""

from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PersonalTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "amniyat.accounts.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token from your account page: `Authorization: Bearer amn_…`",
        }


class CsrfCheckedSessionScheme(SessionScheme):  # type: ignore[no-untyped-call]
    """The browser's session, as for DRF's own session authentication."""

    target_class = "amniyat.accounts.authentication.SessionAuthentication"

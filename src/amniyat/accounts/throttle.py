"""How failed sign-ins are throttled: django-axes' database handler, counting per user name
and per address separately.

A user name is locked after ``AXES_FAILURE_LIMIT`` failures within the cool-off, from however
many addresses they came (guessing one person's password from many machines). An address is
locked after ``AMNIYAT_ADDRESS_FAILURE_LIMIT`` failures on any user names (trying one password
on many accounts); that limit is higher, because an office or a mobile network puts many
people behind one address. Both locks lift once the cool-off has passed since the last
failure. The lockout page is the same whether or not the user name exists.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest


def _failures(attempts: QuerySet[AccessAttempt]) -> int:
    return int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)


class LoginThrottle(AxesDatabaseHandler):  # type: ignore[misc]
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """The failures that count against this request, on the scale of the user-name limit:
        axes locks when this reaches ``AXES_FAILURE_LIMIT``, so the address's failures are
        scaled to reach it exactly at ``AMNIYAT_ADDRESS_FAILURE_LIMIT``."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        by_name = _failures(recent.filter(username=get_client_username(request, credentials)))
        by_address = _failures(recent.filter(ip_address=request.axes_ip_address))  # type: ignore[attr-defined]
        name_limit = int(get_failure_limit(request, credentials))
        address_limit = max(settings.AMNIYAT_ADDRESS_FAILURE_LIMIT, 1)
        return max(by_name, by_address * name_limit // address_limit)

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """A successful sign-in forgives the failures on that user name only: were the
        address's failures forgiven too, anyone with one account could sign in to it between
        guesses at others and never reach the address limit."""
        username = get_client_username(request, credentials)
        count, _deleted = AccessAttempt.objects.filter(username=username).delete()
        return int(count)

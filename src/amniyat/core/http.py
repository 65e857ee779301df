"""How large a request a route takes, read by
:class:`amniyat.core.middleware.UploadLimitMiddleware` before anything reads the body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

MEBIBYTE = 1024 * 1024
# A request the settings do not size: larger than any page's form with its file. A route
# that takes more declares it with upload_limit.
DEFAULT_MAX_REQUEST_BYTES = 512 * MEBIBYTE
# Beside a route's largest file: the form's other fields and the multipart boundaries.
ENVELOPE_BYTES = MEBIBYTE

View = TypeVar("View")


def upload_limit(max_file_bytes: Callable[[], int]) -> Callable[[View], View]:
    """Declare that a view (a function, or an API view class) takes files of up to
    ``max_file_bytes()`` bytes, read at each request so that settings can change it. Larger
    requests are refused before their body is read, so each route's own limit holds, not
    just the site-wide ``AMNIYAT_MAX_REQUEST_BYTES``."""

    def declare(view: View) -> View:
        view.max_file_bytes = max_file_bytes  # type: ignore[attr-defined]
        return view

    return declare


def request_limit(view: Any) -> int:
    """The most bytes a request to ``view`` may send: its declared file limit and the form
    around it, else ``AMNIYAT_MAX_REQUEST_BYTES``. An API view is found through its class."""
    declared = getattr(view, "max_file_bytes", None)
    if declared is None:
        declared = getattr(getattr(view, "cls", None), "max_file_bytes", None)
    if declared is not None:
        return int(declared()) + ENVELOPE_BYTES
    return int(getattr(settings, "AMNIYAT_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES))

"""Addresses of the many objects one page links to: a coding page links each code, excerpt
and flag, each to a route of the programme's drivers area that differs only in the object's
key. Reversing each of them took a tenth of the page's time, so the route is reversed once,
with a marker where the key goes, and each address is that with the key put in."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

# A key no object will have; if it shows up elsewhere in an address (in the slug, say), each
# address is reversed on its own instead.
_MARKER = "2147480001"


def per_object(name: str, *, slug: str) -> Callable[[int], str]:
    """``pk -> reverse(name, kwargs={"slug": slug, "pk": pk})``."""
    pattern = reverse(name, kwargs={"slug": slug, "pk": int(_MARKER)})
    if pattern.count(_MARKER) != 1:
        return lambda pk: reverse(name, kwargs={"slug": slug, "pk": pk})
    before, after = pattern.split(_MARKER)
    return lambda pk: f"{before}{int(pk)}{after}"

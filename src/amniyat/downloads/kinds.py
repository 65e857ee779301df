"""The kinds of file a person can ask to be prepared, each registered by the app that writes
it (in its ``AppConfig.ready``): what the requester must be allowed, how the file is written,
what the page says it holds, and what opening it records in the audit log. The codebook's
REFI-QDA project (``drivers``) and the exports of a form's submissions (``fieldwork``) are
two kinds; what they share (the request, the task, the progress, encryption at rest, who may
download it, expiry) is :mod:`amniyat.downloads.services`'s alone."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_stubs_ext import StrOrPromise

    from amniyat.accounts.models import Programme, User

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Written:
    """What a writer made: the file's name and type, and what it holds (counts and ids, never
    personal data), kept with the download for its page and for :attr:`Kind.opened`."""

    file_name: str
    content_type: str
    summary: dict[str, Any] = field(default_factory=dict)


class Writer(Protocol):
    def __call__(
        self,
        *,
        user: User,
        programme: Programme,
        choices: Mapping[str, Any],
        target: IO[bytes],
        progress: Progress,
    ) -> Written: ...


class Opened(Protocol):
    """Records what opening the file shows ``user``; raises PermissionDenied if they may no
    longer be shown what it holds (the file is then not given)."""

    def __call__(
        self,
        *,
        user: User,
        programme: Programme,
        summary: Mapping[str, Any],
        download_id: int,
        request: HttpRequest | None,
    ) -> None: ...


def _choice_names(choices: Mapping[str, Any]) -> dict[str, Any]:
    return {"choices": sorted(choices)}


@dataclass(frozen=True)
class Kind:
    name: str
    # What the page calls it ("REFI-QDA project (.qdpx)").
    label: StrOrPromise
    # The policy verb the requester needs on the programme: when asking, when the file is
    # written (what they may see then, not when they asked) and when downloading it.
    verb: str
    write: Writer
    # Records in the audit log what the person is shown by opening the file.
    opened: Opened
    # One sentence on what the file holds, from its summary, in the active language.
    describe: Callable[[Mapping[str, Any]], str]
    # The address of the page it is asked from, for its programme and choices.
    asked_from: Callable[[Programme, Mapping[str, Any]], str]
    # What asking records in the audit log of the choices (their names unless said).
    audited: Callable[[Mapping[str, Any]], dict[str, Any]] = _choice_names
    # One line on what was chosen, for the download's page ("" for nothing to say).
    chosen: Callable[[Mapping[str, Any]], str] = lambda choices: ""
    # "Writing the file: 2 of 3 …" in the kind's own words, or None for the plain one.
    writing: Callable[[int, int | None], str] | None = None


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ImproperlyConfigured(f"Two kinds of download are named {kind.name!r}.")
    _KINDS[kind.name] = kind


def kind_of(name: str) -> Kind:
    """The registered kind; LookupError for a name no app registered."""
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"No kind of download is named {name!r}.") from None


def names() -> list[str]:
    """Every registered kind's name."""
    return sorted(_KINDS)

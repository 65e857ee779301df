"""Who is calling: the per-device accounts ODK Collect and Enketo sign in with.

OpenRosa clients authenticate with HTTP Digest (RFC 7616 with MD5 and ``qop=auth``, the
subset the OpenRosa Authentication API requires) or with Basic. A device account is not a
person's login: it reaches one programme's open forms and nothing else, and a revoked device
is refused on its very next request, because every request looks the device up again.

* **Digest.** The server keeps ``HA1 = MD5(username:realm:password)`` (encrypted at rest in
  ``DeviceUser.digest_ha1``), never the password. Nonces are signed with
  :mod:`django.core.signing` and carry their own timestamp, so any web process can check a
  nonce another one issued, with no shared state; an expired nonce with an otherwise correct
  answer gets ``stale=true``, which tells the client to retry without asking the person again.
  The realm is part of every stored HA1: changing :data:`REALM` invalidates every device.
  Each ``(nonce, nc, cnonce)`` is accepted once (:class:`DigestNonceUse`), so a captured
  request cannot be replayed while its nonce is fresh. A submission records its use in the
  transaction that stores it (:class:`NonceUse`, ``defer_use``): one commit a submission
  instead of two, and a replay that races the original is refused by the same unique row.
* **Basic** sends the password itself, so it is accepted only over TLS
  (``request.is_secure()``), or with ``DEBUG`` on a developer's machine.

Failed attempts (wrong password, unknown or revoked device, Basic over plain HTTP) are
written to the audit log; a request without credentials is only the first half of the
handshake and is not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.compiled import CompiledRead
from amniyat.fieldwork.models import DeviceUser, DigestNonceUse

REALM = "Amniyat"
NONCE_MAX_AGE = 300  # seconds; clients retry transparently on stale=true
LAST_SEEN_EVERY = 300  # seconds between updates of a device's last_seen_at
_NONCE_SALT = "amniyat.fieldwork.collection.openrosa.nonce"
_OPAQUE = hashlib.sha256(REALM.encode()).hexdigest()[:32]
_DEVICE_FIELDS = [field.attname for field in DeviceUser._meta.concrete_fields]
_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_ha1(username: str, password: str) -> str:
    """What the server keeps for Digest authentication instead of the password."""
    return md5_hex(f"{username}:{REALM}:{password}")


def new_nonce() -> str:
    return signing.TimestampSigner(salt=_NONCE_SALT).sign(secrets.token_urlsafe(12))


def _nonce_is_fresh(nonce: str) -> bool:
    try:
        signing.TimestampSigner(salt=_NONCE_SALT).unsign(nonce, max_age=NONCE_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return False
    return True


def basic_allowed(request: HttpRequest) -> bool:
    return request.is_secure() or settings.DEBUG


def challenge(request: HttpRequest, *, stale: bool = False) -> str:
    """The WWW-Authenticate value: Digest always, Basic too where TLS protects it."""
    digest = (
        f'Digest realm="{REALM}", qop="auth", algorithm=MD5, '
        f'nonce="{new_nonce()}", opaque="{_OPAQUE}"'
    )
    if stale:
        digest += ", stale=true"
    if basic_allowed(request):
        return f'{digest}, Basic realm="{REALM}", charset="UTF-8"'
    return digest


def parse_auth_params(value: str) -> dict[str, str]:
    """The ``name=value`` pairs of a Digest Authorization header (RFC 7616 §3.4)."""
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(value):
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[name] = raw
    return params


@dataclass(frozen=True)
class Denial:
    """Why a request is not let in; ``reason`` set means a failed attempt to audit."""

    message: str
    stale: bool = False
    reason: str = ""
    username: str = ""
    device: DeviceUser | None = None


@dataclass
class NonceUse:
    """A Digest answer not yet recorded (``authenticate(..., defer_use=True)``): whoever
    handles the request records it, in its own write transaction (:meth:`record_in`) or
    alone (:meth:`record`), before its answer counts."""

    nonce: str  # its SHA-256, as stored
    count: str
    cnonce: str
    recorded: bool = False

    def record_in(self) -> None:
        """Record it in the caller's transaction; :class:`Replayed` (which must roll that
        transaction back) when it was seen before."""
        try:
            DigestNonceUse.objects.create(nonce=self.nonce, count=self.count, cnonce=self.cnonce)
        except IntegrityError:
            raise Replayed from None
        self.recorded = True

    def record(self) -> bool:
        """Record it in a transaction of its own; False when it was seen before."""
        try:
            with transaction.atomic():
                self.record_in()
        except Replayed:
            return False
        return True


class Replayed(Exception):
    """The Digest answer of this request was already used: a replayed request."""


def authenticate(
    request: HttpRequest, programme_slug: str, *, defer_use: bool = False
) -> DeviceUser | Denial:
    """The active device of the programme ``programme_slug`` that signed this request, or
    why not. An unknown programme is answered like a wrong password: nothing is revealed.

    With ``defer_use``, a Digest answer is not recorded here but left in
    :func:`pending_use` for the view to record (in the transaction of its write, or alone
    at the latest before it answers; see ``views.device_view``)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, rest = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "digest":
        outcome = _digest(request, programme_slug, rest, defer_use=defer_use)
    elif scheme == "basic":
        outcome = _basic(request, programme_slug, rest)
    else:
        return Denial(_("Sign in with this device's user name and password."))
    if isinstance(outcome, Denial):
        if outcome.reason:
            _audit_failure(request, programme_slug, outcome)
        return outcome
    _mark_seen(outcome)
    return outcome


# Of its programme only what a device's requests use (the rest is read if ever asked for),
# and no ordering: a user name is unique.
_PROGRAMME_FIELDS = ("id", "slug", "collection_revision")
_DEVICE_READ = CompiledRead(
    lambda username, slug: (
        DeviceUser.objects.filter(username=username, programme__slug=slug)
        .order_by()
        .values_list(*_DEVICE_FIELDS, *(f"programme__{name}" for name in _PROGRAMME_FIELDS))[:1]
    )
)


def _device(programme_slug: str, username: str) -> DeviceUser | None:
    if not username:
        return None
    # Every request asks, so that a revoked device is refused at once: SQL written once
    # (:class:`~amniyat.core.compiled.CompiledRead`), the device and its programme made from
    # the row.
    rows = _DEVICE_READ.rows(username=username, slug=programme_slug)
    if not rows:
        return None
    row = rows[0]
    device = DeviceUser.from_db("default", _DEVICE_FIELDS, row[: len(_DEVICE_FIELDS)])
    programme = Programme.from_db("default", _PROGRAMME_FIELDS, row[len(_DEVICE_FIELDS) :])
    DeviceUser.programme.field.set_cached_value(device, programme)
    return device


def _refused(username: str, device: DeviceUser | None, reason: str) -> Denial:
    return Denial(
        _("The user name or password is not right, or this device was revoked."),
        reason=reason,
        username=username,
        device=device,
    )


def pending_use(request: HttpRequest) -> NonceUse | None:
    """The Digest answer :func:`authenticate` left unrecorded for this request, if any."""
    use = getattr(request, "_digest_use", None)
    return use if isinstance(use, NonceUse) else None


def replayed(request: HttpRequest, programme_slug: str, device: DeviceUser) -> Denial:
    """The refusal of a replayed request whose use was recorded late, audited."""
    denial = _refused(device.username, device, "digest_replayed")
    _audit_failure(request, programme_slug, denial)
    return denial


def _digest(
    request: HttpRequest, programme_slug: str, value: str, *, defer_use: bool = False
) -> DeviceUser | Denial:
    params = parse_auth_params(value)
    username = params.get("username", "")
    required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
    if any(not params.get(name) for name in required):
        return Denial(
            _("Digest authentication needs qop=auth with nc and cnonce."),
            reason="digest_incomplete",
            username=username,
        )
    if params["realm"] != REALM or params.get("algorithm", "MD5").upper() != "MD5":
        return _refused(username, None, "digest_realm")
    if params["qop"] != "auth":
        return _refused(username, None, "digest_qop")
    if unquote(urlsplit(params["uri"]).path) != request.path:
        # A digest computed for another address cannot be replayed here.
        return _refused(username, None, "digest_uri")
    device = _device(programme_slug, username)
    if device is None or not device.digest_ha1:
        md5_hex(f"{username}:{params['nonce']}")  # keep the timing of a known name
        return _refused(username, None, "unknown_device")
    ha2 = md5_hex(f"{request.method}:{params['uri']}")
    expected = md5_hex(
        f"{device.digest_ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}"
    )
    if not hmac.compare_digest(expected, params["response"].lower()):
        return _refused(username, device, "wrong_password")
    if not device.is_active:
        return _refused(username, device, "revoked_device")
    if not _nonce_is_fresh(params["nonce"]):
        # The password was right; only the nonce is old (or from before a key rotation).
        return Denial(_("The sign-in has expired; please try again."), stale=True)
    # A client counts ``nc`` up for every request it signs with the same nonce, so an honest
    # client never repeats a triple. The record lives in the database so that every web
    # process sees it.
    use = NonceUse(
        nonce=hashlib.sha256(params["nonce"].encode()).hexdigest(),
        count=params["nc"][:8],
        cnonce=params["cnonce"][:64],
    )
    if defer_use:
        request._digest_use = use  # type: ignore[attr-defined]
    elif not use.record():
        return _refused(username, device, "digest_replayed")
    forget_expired_uses()
    return device


def forget_expired_uses() -> None:
    """Now and then (one request in fifty), forget the answers whose nonce has expired."""
    if secrets.randbelow(50) == 0:
        DigestNonceUse.objects.filter(
            used_at__lt=timezone.now() - timedelta(seconds=NONCE_MAX_AGE * 2)
        ).delete()


def _basic(request: HttpRequest, programme_slug: str, value: str) -> DeviceUser | Denial:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return Denial(_("The Basic credentials cannot be read."), reason="basic_malformed")
    username, _sep, password = decoded.partition(":")
    if not basic_allowed(request):
        return Denial(
            _(
                "Basic authentication would send the password in the clear, so it is "
                "accepted only over HTTPS. Use an https:// server address, or Digest "
                "authentication."
            ),
            reason="basic_over_http",
            username=username,
        )
    device = _device(programme_slug, username)
    if device is None or not check_password(password, device.password_hash):
        return _refused(username, device, "wrong_password")
    if not device.is_active:
        return _refused(username, device, "revoked_device")
    return device


def _audit_failure(request: HttpRequest, programme_slug: str, denial: Denial) -> None:
    if denial.device is not None:
        programme: Programme | None = denial.device.programme
    else:
        programme = Programme.objects.filter(slug=programme_slug).first()
    audit_record(
        actor=None,
        actor_label=f"device {denial.username}"[:150],
        verb=AuditEvent.Verb.SIGN_IN_FAILED,
        obj=denial.device,
        programme=programme,
        request=request,
        details={"channel": "openrosa", "reason": denial.reason, "path": request.path[:200]},
    )


def _mark_seen(device: DeviceUser) -> None:
    # Only every few minutes: a busy device must not turn each request into a write.
    now = timezone.now()
    if device.last_seen_at is None or (now - device.last_seen_at).total_seconds() > (
        LAST_SEEN_EVERY
    ):
        DeviceUser.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now

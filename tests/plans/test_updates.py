"""Progress updates, their evidence, verification and disputes (plans/updates.py), through the
services and the pages: who may do what, the action's status and progress they set, photos
stripped of EXIF before anything is stored or served, bad input refused with a message and
nothing changed."""

from __future__ import annotations

import datetime
import io
import struct
import zlib
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image

from amniyat.audit.models import AuditEvent
from amniyat.core.encrypted_files import decrypted_pieces
from amniyat.plans import updates
from amniyat.plans.models import Action, ActionPlan, ActionUpdate, Dispute, Evidence
from tests.factories import member_of
from tests.plans.conftest import Role, Scene, make_action, make_plan

TODAY = timezone.localdate()
MAKER, MODEL = "SecretPhoneMaker", "SecretModel-X9"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def gps_jpeg(size: tuple[int, int] = (64, 48), orientation: int = 6) -> tuple[bytes, bytes]:
    """A JPEG with the phone's make and model, a GPS position and an orientation in its EXIF;
    and the EXIF block as written."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKER
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (38.0, 33.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (68.0, 47.0, 1.0)
    block = exif.tobytes()
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=block, comment=b"taken at Zarina's house")
    content = out.getvalue()
    # The photo as sent does carry all of it.
    with Image.open(io.BytesIO(content)) as sent:
        assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert sent.getexif()[ExifTags.Base.Make] == MAKER
    return content, block


def png_bomb(side: int = 30_000) -> bytes:
    """A PNG whose header claims ``side`` × ``side`` pixels (900 million): tiny on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _assert_clean(content: bytes, block: bytes) -> None:
    """No EXIF, no GPS, no maker or model, no comment, nothing of the original block."""
    assert b"Exif" not in content
    assert MAKER.encode() not in content and MODEL.encode() not in content
    assert b"Zarina" not in content
    assert block[8:40] not in content
    with Image.open(io.BytesIO(content)) as kept:
        assert kept.format == "JPEG"
        exif = kept.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert len(exif) == 0
        assert "exif" not in kept.info and "comment" not in kept.info


@pytest.fixture
def plan(scene: Scene) -> ActionPlan:
    return make_plan(scene)


@pytest.fixture
def action(plan: ActionPlan) -> Action:
    return make_action(plan, status=Action.Status.ON_TRACK, progress=20)


def _post(user: Any, action: Action, **overrides: Any) -> ActionUpdate:
    values: dict[str, Any] = {
        "reported_on": TODAY,
        "text": "Patrols met the women's council at the market.",
        "status": Action.Status.ON_TRACK,
        "progress": 40,
        "participants": {"female": {"18_24": 3, "30_44": 2}, "male": {"45_59": 1}},
        **overrides,
    }
    return updates.update_post(user=user, action=action, **values)


# Services ----------------------------------------------------------------------------------


def test_an_update_sets_the_actions_status_and_progress(scene: Scene, action: Action) -> None:
    update = _post(scene.users[Role.FACILITATOR], action, progress=60)
    action.refresh_from_db()
    assert (action.status, action.progress) == ("on_track", 60)
    assert update.participant_total == 6
    assert update.reported_as == ActionUpdate.Reporter.TEAM
    # An older update is kept but does not move the action back.
    yesterday = TODAY - datetime.timedelta(days=1)
    _post(scene.users[Role.GROUP_MEMBER], action, progress=30, reported_on=yesterday)
    action.refresh_from_db()
    assert action.progress == 60
    done = _post(scene.users[Role.GROUP_MEMBER], action, status="done", progress=100)
    action.refresh_from_db()
    assert (action.status, action.progress) == ("done", 100)
    assert done.reported_as == ActionUpdate.Reporter.GROUP
    event = AuditEvent.objects.filter(object_id=str(done.pk), verb="created").get()
    assert "Patrols" not in str(event.details)


def test_an_update_reporting_done_keeps_its_date_as_the_day_the_action_was_done(
    scene: Scene, action: Action
) -> None:
    """ "Done on time" is read from the day the update said done, not the day it was typed."""
    day = datetime.timedelta(days=1)
    user = scene.users[Role.FACILITATOR]
    _post(user, action, progress=50, reported_on=TODAY - 20 * day)
    _post(user, action, status="done", progress=100, reported_on=TODAY - 10 * day)
    action.refresh_from_db()
    assert action.done_on == TODAY - 10 * day
    # Done again, later: the day it became done stays; an older update changes nothing.
    _post(user, action, status="done", progress=100, reported_on=TODAY - 5 * day)
    _post(user, action, progress=70, reported_on=TODAY - 15 * day)
    action.refresh_from_db()
    assert (action.status, action.done_on) == ("done", TODAY - 10 * day)
    # No longer done: no day; done once more, the new day.
    _post(user, action, status="delayed", progress=80, reported_on=TODAY - 3 * day)
    action.refresh_from_db()
    assert action.done_on is None
    _post(user, action, status="done", progress=100, reported_on=TODAY - day)
    action.refresh_from_db()
    assert action.done_on == TODAY - day


def test_the_text_is_encrypted_at_rest(scene: Scene, action: Action) -> None:
    update = _post(scene.users[Role.LEAD], action)
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM plans_actionupdate WHERE id = %s", [update.pk])
        (stored,) = cursor.fetchone()
    assert stored.startswith("aesgcm:") and "Patrols" not in stored
    assert ActionUpdate.objects.get(pk=update.pk).text.startswith("Patrols")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"progress": 150}, "progress", "Progress is a whole number from 0 to 100 %."),
        ({"progress": -1}, "progress", "Progress is a whole number from 0 to 100 %."),
        (
            {"status": "done", "progress": 0},
            "progress",
            "An action that is done cannot be at 0 %. Give its progress.",
        ),
        ({"status": "dropped"}, "status_reason", "Say why the action was dropped."),
        ({"text": "  "}, "text", "Say what happened."),
        (
            {"reported_on": TODAY + datetime.timedelta(days=2)},
            "reported_on",
            "The date of an update cannot be in the future.",
        ),
        (
            {"participants": {"female": {"18_24": -3}}},
            "participants",
            "Give the number of participants as whole numbers from 0 up.",
        ),
        (
            {"participants": {"other": {"18_24": 3}}},
            "participants",
            "Give the number of participants as whole numbers from 0 up.",
        ),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(
    scene: Scene, action: Action, values: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _post(scene.users[Role.FACILITATOR], action, **values)
    assert refused.value.message_dict[field] == [message]
    action.refresh_from_db()
    assert (action.status, action.progress) == ("on_track", 20)
    assert not ActionUpdate.objects.exists()


def test_who_may_post_an_update(scene: Scene, action: Action) -> None:
    for role in (Role.ANALYST, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            _post(scene.users[role], action)
    with pytest.raises(PermissionDenied):
        _post(scene.outsider, action)
    stranger = member_of(scene.programme, Role.GROUP_MEMBER, group=scene.other_group)
    with pytest.raises(PermissionDenied):
        _post(stranger, action)
    assert not ActionUpdate.objects.exists()


def test_leads_and_analysts_verify_others_updates(scene: Scene, action: Action) -> None:
    update = _post(scene.users[Role.GROUP_MEMBER], action)
    for role in (Role.GROUP_MEMBER, Role.FACILITATOR):
        with pytest.raises(PermissionDenied):
            updates.update_verify(user=scene.users[role], update=update)
    updates.update_verify(user=scene.users[Role.ANALYST], update=update)
    update.refresh_from_db()
    assert update.verified_by == scene.users[Role.ANALYST] and update.verified_at is not None
    with pytest.raises(ValidationError, match="already verified"):
        updates.update_verify(user=scene.users[Role.LEAD], update=update)
    own = _post(scene.users[Role.LEAD], action)
    with pytest.raises(ValidationError, match="someone other than who reported it"):
        updates.update_verify(user=scene.users[Role.LEAD], update=own)


def test_the_community_disputes_and_the_lead_resolves(scene: Scene, action: Action) -> None:
    police = _post(scene.users[Role.FACILITATOR], action, status="done", progress=100)
    with pytest.raises(PermissionDenied):
        updates.dispute_raise(
            user=scene.users[Role.ANALYST], action=action, claimed_status="on_track", text="x"
        )
    with pytest.raises(ValidationError) as same:
        updates.dispute_raise(
            user=scene.users[Role.GROUP_MEMBER],
            action=action,
            update=police,
            claimed_status="done",
            text="No.",
        )
    assert "claimed_status" in same.value.message_dict
    dispute = updates.dispute_raise(
        user=scene.users[Role.GROUP_MEMBER],
        action=action,
        update=police,
        claimed_status="delayed",
        text="The lights on Bozor street are still off.",
    )
    assert dispute.reported_status == "done" and dispute.raised_as == Dispute.Raiser.GROUP
    with pytest.raises(PermissionDenied):
        updates.dispute_resolve(
            user=scene.users[Role.FACILITATOR], dispute=dispute, resolution="fine"
        )
    with pytest.raises(ValidationError) as empty:
        updates.dispute_resolve(user=scene.users[Role.LEAD], dispute=dispute, resolution=" ")
    assert empty.value.message_dict == {"resolution": ["Say how the dispute was resolved."]}
    updates.dispute_resolve(
        user=scene.users[Role.LEAD], dispute=dispute, resolution="Checked: two lamps are off."
    )
    dispute.refresh_from_db()
    assert not dispute.is_open and dispute.resolved_by == scene.users[Role.LEAD]


# Evidence ----------------------------------------------------------------------------------


def test_a_gps_photo_is_kept_and_served_without_its_exif(
    scene: Scene, plan: ActionPlan, action: Action
) -> None:
    content, block = gps_jpeg()
    update = _post(
        scene.users[Role.GROUP_MEMBER],
        action,
        files=[updates.Upload(kind="photo", content=content, publishable=True)],
    )
    piece = update.evidence.get()
    # Turned upright (orientation 6: taken sideways), then drawn again without metadata.
    assert (piece.width, piece.height) == (48, 64)
    raw = piece.file.open("rb").read()
    piece.file.close()
    assert not raw.startswith(b"\xff\xd8")  # encrypted at rest
    assert MAKER.encode() not in raw
    with piece.file.open("rb") as handle:
        stored = b"".join(decrypted_pieces(handle))
    _assert_clean(stored, block)
    url = reverse("plans:evidence_file", args=[scene.programme.slug, piece.pk])
    for role in (Role.LEAD, Role.GROUP_MEMBER):
        response = _client(scene.users[role]).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        served = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert served == stored
        _assert_clean(served, block)
    assert AuditEvent.objects.filter(verb="viewed_personal", object_id=str(piece.pk)).count() == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 not a photo at all", "This file is not a photo."),
        (b"\xff\xd8\xff\xe0 broken jpeg", "This file is not a photo."),
        (png_bomb(), "This image is too large to open"),
    ],
)
def test_photos_that_are_not_photos_or_are_bombs_are_refused(
    scene: Scene, action: Action, media: Any, content: bytes, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _post(
            scene.users[Role.FACILITATOR],
            action,
            files=[updates.Upload(kind="photo", content=content)],
        )
    assert message in refused.value.message_dict["files"][0]
    assert not ActionUpdate.objects.exists() and not Evidence.objects.exists()
    action.refresh_from_db()
    assert action.progress == 20
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize("pillow_limit", [1000, 2000])
def test_pillows_own_bomb_guard_is_a_message(
    scene: Scene, action: Action, settings: Any, monkeypatch: Any, pillow_limit: int
) -> None:
    """Below our own limit but above Pillow's (``Image.MAX_IMAGE_PIXELS``): its
    DecompressionBombError (over twice the limit) and its warning (over the limit) are both
    a message."""
    settings.AMNIYAT_MAX_PHOTO_PIXELS = 10**9
    content, _block = gps_jpeg(size=(64, 48))  # 3072 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    with pytest.raises(ValidationError) as refused:
        _post(
            scene.users[Role.FACILITATOR],
            action,
            files=[updates.Upload(kind="photo", content=content)],
        )
    assert "too large to open" in refused.value.message_dict["files"][0]


def test_documents_are_recognised_by_their_content(scene: Scene, action: Action) -> None:
    with pytest.raises(ValidationError) as refused:
        _post(
            scene.users[Role.FACILITATOR],
            action,
            files=[updates.Upload(kind="minutes", content=b"MZ\x90\x00 an executable")],
        )
    assert refused.value.message_dict["files"] == [
        "Send the document as PDF, Word (.docx) or OpenDocument (.odt)."
    ]
    update = _post(
        scene.users[Role.FACILITATOR],
        action,
        files=[updates.Upload(kind="minutes", content=b"%PDF-1.4\n% minutes\n%%EOF")],
    )
    assert update.evidence.get().content_type == "application/pdf"


def test_photos_not_publishable_stay_with_the_team(
    scene: Scene, plan: ActionPlan, action: Action
) -> None:
    content, _block = gps_jpeg()
    update = _post(
        scene.users[Role.FACILITATOR],
        action,
        files=[
            updates.Upload(kind="photo", content=content, publishable=False),
            updates.Upload(kind="photo", content=content, publishable=True),
        ],
    )
    private, public = update.evidence.order_by("pk")
    slug = scene.programme.slug
    page = reverse("plans:action_updates", args=[slug, action.pk])

    def file_url(piece: Evidence) -> str:
        return reverse("plans:evidence_file", args=[slug, piece.pk])

    for role in (Role.LEAD, Role.ANALYST, Role.FACILITATOR):
        client = _client(scene.users[role])
        body = client.get(page).content.decode()
        assert file_url(private) in body and file_url(public) in body
        assert client.get(file_url(private)).status_code == 200
    member = _client(scene.users[Role.GROUP_MEMBER])
    body = member.get(page).content.decode()
    assert file_url(public) in body and file_url(private) not in body
    assert member.get(file_url(private)).status_code == 404
    assert member.get(file_url(public)).status_code == 200
    viewer = _client(scene.users[Role.VIEWER])
    assert viewer.get(page).status_code == 404
    assert viewer.get(file_url(public)).status_code == 404
    assert viewer.get(file_url(private)).status_code == 404


# Pages -------------------------------------------------------------------------------------


def _form(**overrides: Any) -> dict[str, Any]:
    return {
        "reported_on": TODAY.isoformat(),
        "text": "Street lights fixed on two streets.",
        "status": "on_track",
        "progress": "70",
        "women_18_24": "4",
        "men_60_plus": "2",
        **overrides,
    }


def test_a_group_member_posts_an_update_with_a_photo(
    scene: Scene, plan: ActionPlan, action: Action
) -> None:
    client = _client(scene.users[Role.GROUP_MEMBER])
    url = reverse("plans:update_create", args=[scene.programme.slug, action.pk])
    assert client.get(url).status_code == 200
    content, block = gps_jpeg()
    photo = SimpleUploadedFile("IMG_0001.jpg", content, content_type="image/jpeg")
    response = client.post(url, {**_form(), "photos": [photo], "publishable": "on"})
    assert response.status_code == 302
    update = ActionUpdate.objects.get()
    assert update.participants == {"female": {"18_24": 4}, "male": {"60_plus": 2}}
    piece = update.evidence.get()
    with piece.file.open("rb") as handle:
        _assert_clean(b"".join(decrypted_pieces(handle)), block)
    assert "IMG_0001" not in piece.file.name
    action.refresh_from_db()
    assert action.progress == 70
    page = client.get(reverse("plans:action_updates", args=[scene.programme.slug, action.pk]))
    assert "Street lights fixed on two streets." in page.content.decode()
    assert AuditEvent.objects.filter(verb="viewed_personal", object_id=str(action.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"progress": "101"}, "Progress is a whole number from 0 to 100 %."),
        ({"progress": "lots"}, "Progress is a whole number from 0 to 100 %."),
        ({"status": "done", "progress": "0"}, "An action that is done cannot be at 0 %."),
        ({"women_18_24": "-2"}, "Give the number of participants as whole numbers from 0 up."),
        ({"text": ""}, "Say what happened."),
        ({"reported_on": "not a date"}, "Give the date of the update."),
    ],
)
def test_bad_input_on_the_page_gets_a_message(
    scene: Scene, action: Action, overrides: dict[str, Any], message: str
) -> None:
    client = _client(scene.users[Role.FACILITATOR])
    url = reverse("plans:update_create", args=[scene.programme.slug, action.pk])
    response = client.post(url, _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ActionUpdate.objects.exists()
    action.refresh_from_db()
    assert action.progress == 20


def test_a_non_image_photo_on_the_page_gets_a_message(scene: Scene, action: Action) -> None:
    client = _client(scene.users[Role.FACILITATOR])
    url = reverse("plans:update_create", args=[scene.programme.slug, action.pk])
    fake = SimpleUploadedFile("photo.jpg", b"<html>not a photo</html>", content_type="image/jpeg")
    response = client.post(url, {**_form(), "photos": [fake]})
    assert response.status_code == 200
    assert "This file is not a photo." in response.content.decode()
    assert not ActionUpdate.objects.exists()


def test_a_group_member_trying_to_verify_is_refused(scene: Scene, action: Action) -> None:
    update = _post(scene.users[Role.FACILITATOR], action)
    url = reverse("plans:update_verify", args=[scene.programme.slug, update.pk])
    assert _client(scene.users[Role.GROUP_MEMBER]).post(url).status_code == 404
    update.refresh_from_db()
    assert update.verified_at is None
    assert _client(scene.users[Role.LEAD]).post(url).status_code == 302
    update.refresh_from_db()
    assert update.verified_by == scene.users[Role.LEAD]


def test_a_dispute_shows_until_the_lead_resolves_it(
    scene: Scene, plan: ActionPlan, action: Action
) -> None:
    slug = scene.programme.slug
    update = _post(scene.users[Role.FACILITATOR], action, status="done", progress=100)
    member = _client(scene.users[Role.GROUP_MEMBER])
    response = member.post(
        reverse("plans:dispute_create", args=[slug, action.pk]),
        {"update": update.pk, "claimed_status": "delayed", "text": "Two lamps are still off."},
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    # The same again without a reason, or with the status reported: a message, nothing kept.
    for bad, message in (
        ({"claimed_status": "delayed", "text": ""}, "Say why the reported status does not hold."),
        (
            {"update": update.pk, "claimed_status": "done", "text": "x"},
            "That is the status reported. Choose the one that holds.",
        ),
    ):
        refused = member.post(reverse("plans:dispute_create", args=[slug, action.pk]), bad)
        assert refused.status_code == 200 and message in refused.content.decode()
    assert Dispute.objects.count() == 1
    detail = reverse("plans:detail", args=[slug, plan.pk])
    page = reverse("plans:action_updates", args=[slug, action.pk])
    for role in (Role.LEAD, Role.GROUP_MEMBER, Role.ANALYST):
        client = _client(scene.users[role])
        body = client.get(detail).content.decode()
        assert 'class="dispute"' in body and "delayed" in body
        assert "Two lamps are still off." in client.get(page).content.decode()
    resolve = reverse("plans:dispute_resolve", args=[slug, dispute.pk])
    assert member.post(resolve, {"resolution": "no"}).status_code == 404
    lead = _client(scene.users[Role.LEAD])
    response = lead.post(resolve, {"resolution": ""})
    assert response.status_code == 200 and "Say how the dispute was resolved." in (
        response.content.decode()
    )
    assert lead.post(resolve, {"resolution": "Lamps ordered."}).status_code == 302
    body = lead.get(detail).content.decode()
    assert 'class="dispute"' not in body
    assert "Lamps ordered." in lead.get(page).content.decode()


def test_a_member_of_another_group_can_neither_see_nor_post(
    scene: Scene, plan: ActionPlan, action: Action
) -> None:
    update = _post(scene.users[Role.FACILITATOR], action)
    stranger = _client(member_of(scene.programme, Role.GROUP_MEMBER, group=scene.other_group))
    slug = scene.programme.slug
    for name, pk in (
        ("plans:action_updates", action.pk),
        ("plans:update_create", action.pk),
    ):
        assert stranger.get(reverse(name, args=[slug, pk])).status_code == 404
    assert (
        stranger.post(reverse("plans:update_create", args=[slug, action.pk]), _form()).status_code
        == 404
    )
    assert (
        stranger.post(
            reverse("plans:dispute_create", args=[slug, action.pk]),
            {"claimed_status": "delayed", "text": "x"},
        ).status_code
        == 404
    )
    assert stranger.post(reverse("plans:update_verify", args=[slug, update.pk])).status_code == 404
    assert ActionUpdate.objects.count() == 1 and not Dispute.objects.exists()

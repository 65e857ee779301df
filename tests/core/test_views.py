"""The front door: home, health check, language switch, audit log, error pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.translation import override

from amniyat.accounts.models import Membership, User
from amniyat.audit.models import AuditEvent
from amniyat.downloads.models import Download
from amniyat.downloads.services import download_run
from tests.factories import CommunityGroupFactory, ProgrammeFactory, member_of

Role = Membership.Role


@pytest.mark.django_db
def test_the_health_check_answers_without_signing_in() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_home_lists_only_my_programmes_with_my_role() -> None:
    mine = ProgrammeFactory(name="Tajikistan CSP")
    ProgrammeFactory(name="Somebody else's programme")
    viewer = member_of(mine, Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    body = client.get("/").content.decode()
    assert "Tajikistan CSP" in body
    assert "viewer" in body
    assert "Somebody else" not in body


@pytest.mark.django_db
def test_the_language_choice_is_remembered_on_the_account() -> None:
    programme = ProgrammeFactory()
    viewer = member_of(programme, Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert User.objects.get(pk=viewer.pk).preferred_language == "ru"
    assert client.get("/").content.decode().startswith('<!doctype html>\n\n<html lang="ru">')


@pytest.mark.django_db
def test_the_language_switch_does_not_redirect_elsewhere() -> None:
    response = Client().post("/i18n/setlang/", {"language": "uz", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


@pytest.mark.django_db
def test_an_unknown_language_is_ignored() -> None:
    programme = ProgrammeFactory()
    viewer = member_of(programme, Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    client.post("/i18n/setlang/", {"language": "klingon", "next": "/"})
    assert User.objects.get(pk=viewer.pk).preferred_language == ""


@pytest.mark.django_db
def test_only_the_lead_reads_the_audit_log() -> None:
    group = CommunityGroupFactory()
    programme = group.programme
    lead = member_of(programme, Role.LEAD)
    AuditEvent.objects.create(
        actor=lead, actor_label=lead.username, verb="created", programme=programme
    )
    client = Client()
    client.force_login(lead)
    response = client.get(f"/p/{programme.slug}/audit/?verb=created&page=nonsense")
    assert response.status_code == 200
    assert lead.username in response.content.decode()
    analyst = Client()
    analyst.force_login(member_of(programme, Role.ANALYST))
    assert analyst.get(f"/p/{programme.slug}/audit/").status_code == 404


@pytest.mark.django_db
def test_the_audit_log_names_each_verb_in_the_readers_language() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    for verb in ("2fa_enabled", "retired_verb"):  # a verb no longer in the list: as stored
        AuditEvent.objects.create(actor=lead, actor_label="x", verb=verb, programme=programme)
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(lead)
    body = client.get(f"/p/{programme.slug}/audit/").content.decode()
    with override("ru"):
        assert str(AuditEvent.Verb.TWO_FACTOR_ENABLED.label) in body
    assert "two-factor login enabled" not in body
    assert "retired_verb" in body


@pytest.mark.django_db
def test_a_missing_page_is_a_friendly_404_and_json_under_the_api() -> None:
    programme = ProgrammeFactory()
    client = Client()
    client.force_login(member_of(programme, Role.LEAD))
    page = client.get("/p/no-such-programme/")
    assert page.status_code == 404
    assert "There is nothing here, or you do not have access to it." in page.content.decode()
    api = client.get("/api/no-such-endpoint/")
    assert api.status_code == 404
    assert api.json() == {"detail": "There is nothing here, or you do not have access to it."}


@pytest.mark.django_db
def test_a_viewer_sees_the_programme_home_with_aggregate_counts_only() -> None:
    group = CommunityGroupFactory(name="Secret working group")
    client = Client()
    client.force_login(member_of(group.programme, Role.VIEWER))
    response = client.get(f"/p/{group.programme.slug}/")
    assert response.status_code == 200
    assert "Secret working group" not in response.content.decode()


@pytest.mark.django_db
def test_a_deactivated_user_is_signed_out_at_once() -> None:
    group = CommunityGroupFactory()
    lead = member_of(group.programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    assert client.get(f"/p/{group.programme.slug}/").status_code == 200
    lead.is_active = False
    lead.save(update_fields=["is_active"])
    response = client.get(f"/p/{group.programme.slug}/groups/{group.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/groups/").status_code == 401


@pytest.mark.django_db
def test_the_programme_home_names_the_groups_that_miss_their_targets() -> None:
    """Together the members meet the 40 % target for women; one group of two has none."""
    from tests.factories import GroupMemberFactory, OrganisationFactory, RepresentationTargetFactory

    programme = ProgrammeFactory(donor=OrganisationFactory(name="Funding Agency"))
    RepresentationTargetFactory(programme=programme, min_share=40)
    balanced = CommunityGroupFactory(programme=programme, name="Vakhsh working group")
    short = CommunityGroupFactory(programme=programme, name="Yovon working group")
    for sex in ("female", "female", "female", "male"):
        GroupMemberFactory(group=balanced, sex=sex)
    GroupMemberFactory(group=short, sex="male")
    lead, viewer = member_of(programme, Role.LEAD), member_of(programme, Role.VIEWER)
    client = Client()

    client.force_login(lead)
    page = client.get(f"/p/{programme.slug}/").content.decode()
    client.force_login(viewer)
    aggregate = client.get(f"/p/{programme.slug}/").content.decode()

    assert "1 of 2 community groups misses at least one representation target." in page
    assert "Yovon working group" in page
    assert "Vakhsh working group</a></li>" not in page.split("misses at least")[1]
    # A viewer is told how many, not which.
    assert "1 of 2 community groups misses" in aggregate
    assert "Yovon working group" not in aggregate
    # The donor funds the programme; it is not listed among the partners.
    partners = page.split("Partner organisations")[1]
    assert "Funding Agency" not in partners


@pytest.mark.django_db
def test_the_programme_home_names_a_dozen_groups_and_links_to_the_rest() -> None:
    """A national programme has hundreds of groups: the home names twelve that miss their
    targets and links to the page of every group for the others."""
    from tests.factories import GroupMemberFactory, RepresentationTargetFactory

    programme = ProgrammeFactory()
    RepresentationTargetFactory(programme=programme, min_share=40)
    for n in range(14):
        GroupMemberFactory(
            group=CommunityGroupFactory(programme=programme, name=f"G{n:02}"), sex="male"
        )
    client = Client()
    client.force_login(member_of(programme, Role.LEAD))
    page = client.get(f"/p/{programme.slug}/").content.decode()
    named = page.split("miss at least one representation target.", 1)[-1].split("</ul>", 1)[0]
    assert named.count("</a></li>") == 13  # twelve groups, and the link to the rest
    assert "and 2 more" in named
    assert f'href="/p/{programme.slug}/representativeness/"' in named


@pytest.mark.django_db
def test_pages_are_compressed_and_files_compressed_already_are_not() -> None:
    programme = ProgrammeFactory()
    client = Client(HTTP_ACCEPT_ENCODING="gzip")
    client.force_login(member_of(programme, Role.ANALYST))
    page = client.get(f"/p/{programme.slug}/")
    assert page["Content-Encoding"] == "gzip"
    client.post(f"/p/{programme.slug}/drivers/codebook/export/")
    download = Download.objects.get()
    download_run(download.pk)
    archive = client.get(f"/p/{programme.slug}/downloads/{download.pk}/file")
    assert archive.status_code == 200
    assert archive["Content-Type"] == "application/zip"
    assert not archive.has_header("Content-Encoding")
    assert b"".join(archive.streaming_content)[:2] == b"PK"

"""``amniyat bench-data``: a generated programme whose size follows the submissions asked for,
stored through the import, the same every time, never built over a programme that exists
unless asked, with a progress bar for each stage."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import CommunityGroup, GroupMember
from amniyat.demo import scale
from amniyat.demo.build import demo_exists, remove_demo
from amniyat.drivers.models import DriverMap, Excerpt, PriorityList, Source
from amniyat.fieldwork.imports.sources import KOBO_MARKERS
from amniyat.fieldwork.models import Assessment, FormVersion, ImportJob, Submission
from amniyat.findings.models import Findings
from tests.conftest import committed_for_module

SLUG = "scale-test"
SIZE = 1_200  # twelve rounds of a hundred: the fewest a round can have is 98
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bench_data(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        call_command(
            "bench-data", "--submissions", str(SIZE), "--programme", SLUG, *args,
            stdout=out, stderr=err,
        )  # fmt: skip
    return out.getvalue(), err.getvalue()


def stored() -> list[tuple[str, str, str, str | None, Any]]:
    """What a build stored, row by row, without what differs by design (row ids, the
    encryption's nonces): instance id, answers' hash, enumerator's keyed hash, place, time."""
    return list(
        Submission.objects.filter(form__assessment__programme__slug=SLUG)
        .order_by("instance_id")
        .values_list("instance_id", "content_hash", "enumerator_hash", "place__code", "data")
    )


def written() -> list[Any]:
    """The rest of the programme, as people read it: groups and their members, the notes and
    their coding, the maps' factors, the priorities."""
    programme = Programme.objects.get(slug=SLUG)
    members = GroupMember.objects.filter(group__programme=programme).order_by("pk")
    return [
        sorted(programme.community_groups.values_list("name", "kind", "place__name_en")),
        [(m.group.name, m.display_name, m.sex, m.age_band, m.joined_on) for m in members],
        sorted(Source.objects.filter(programme=programme).values_list("title", "text")),
        sorted(
            Excerpt.objects.filter(source__programme=programme).values_list(
                "source__title", "code__key", "start", "end", "coder__username"
            )
        ),
        sorted(
            DriverMap.objects.filter(programme=programme).values_list("title", "factors__label")
        ),
        sorted(
            PriorityList.objects.filter(group__programme=programme).values_list(
                "group__name", "priorities__concern", "priorities__severity"
            )
        ),
    ]


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[str, str]]:
    """The programme built once for this module, removed afterwards with what it wrote
    outside it (its audit rows, the tasks its changes queued)."""
    with committed_for_module(django_db_blocker):
        output = bench_data()
        yield output
        scale.remove_scale(SLUG)


def test_sizes_follow_the_submissions() -> None:
    small, national = scale.ScaleSize(SIZE), scale.ScaleSize(1_000_000)
    assert (small.rounds, small.groups, small.partners, small.discussions) == (12, 10, 10, 24)
    assert small.round_sizes() == [100] * 12
    assert national.groups == 500 and national.partners == 100
    assert national.discussions == 100 and national.second_coded == 16
    assert 3_300 <= national.enumerators <= 3_400  # one per 300 interviews
    assert scale.ScaleSize(500).rounds == 5  # fewer rounds where a month would be too small


def test_a_round_is_the_same_for_the_same_seed_and_spread_over_its_four_weeks() -> None:
    size = scale.ScaleSize(SIZE)
    first = scale.generate_round(size, 3, seed=7)
    assert first.equals(scale.generate_round(size, 3, seed=7))
    other = scale.generate_round(size, 3, seed=8)
    assert not set(first["instance_id"]).intersection(other["instance_id"])
    assert not set(first["instance_id"]).intersection(
        scale.generate_round(size, 4, seed=7)["instance_id"]
    )
    begins = scale.round_start(3, "baseline")
    days = first["start"].dt.convert_time_zone("Asia/Dushanbe").dt.date().to_list()
    assert begins <= min(days) and (max(days) - begins).days < scale.ROUND_DAYS
    assert begins.month == 12 and all(day.weekday() != 6 for day in days)  # no Sundays
    # Each enumerator works in one district.
    assert (first["enumerator"].str.slice(0, 9) == first["district"]).all()


@pytest.mark.django_db
def test_the_export_is_what_kobotoolbox_gives(built: tuple[str, str]) -> None:
    version = FormVersion.objects.get(form__assessment__programme__slug=SLUG)
    frame = scale.generate_round(scale.ScaleSize(SIZE), 0, seed=scale.DEFAULT_SEED)
    export = scale.kobo_export(frame, version, first_id=1)
    assert KOBO_MARKERS & set(export.columns) == {"_uuid", "_submission_time", "_index", "_id",
                                                  "meta/instanceID"}  # fmt: skip
    assert {"safety/safe_night", "safety/concerns", "safety/concerns/gbv"} <= set(export.columns)
    chosen = export.filter(pl.col("safety/concerns").str.contains("gbv"))
    assert (chosen["safety/concerns/gbv"] == "1").all()
    assert export["start"][0].endswith("+05:00")


@pytest.mark.django_db
def test_the_programme_has_everything_in_proportion(built: tuple[str, str]) -> None:
    size = scale.ScaleSize(SIZE)
    programme = Programme.objects.get(slug=SLUG)
    assert programme.is_demo and programme.places.count() == 10
    submissions = Submission.objects.filter(form__assessment__programme=programme)
    assert submissions.count() == SIZE
    assert not submissions.filter(place=None).exists()
    assert set(submissions.values_list("source", flat=True)) == {Submission.Source.IMPORT}
    assert submissions.values("enumerator_hash").distinct().count() == size.enumerators
    months = Counter(submissions.values_list("submitted_at__month", flat=True))
    assert len(months) == 12 and min(months.values()) > SIZE / 24
    districts = Counter(submissions.values_list("place__code", flat=True))
    assert len(districts) == 10
    jobs = ImportJob.objects.filter(form__assessment__programme=programme)
    assert sorted(jobs.values_list("status", "stored")) == [("succeeded", 100)] * 12
    assert Assessment.objects.get(programme=programme).is_demo
    groups = CommunityGroup.objects.filter(programme=programme)
    assert groups.count() == size.groups and all(g.is_demo and g.place.is_demo for g in groups)
    members = GroupMember.objects.filter(group__programme=programme)
    assert 9 * size.groups <= members.filter(is_demo=True).count() == members.count()
    assert programme.partners.count() == size.partners + 1  # and the CSO platform
    assert Source.objects.filter(programme=programme, is_demo=True).count() == size.discussions
    assert Excerpt.objects.filter(source__programme=programme).count() > 10 * size.discussions
    assert 6 <= DriverMap.objects.filter(programme=programme, is_demo=True).count() <= 8
    assert PriorityList.objects.filter(group__programme=programme).count() == size.groups
    findings = Findings.objects.get(assessment__programme=programme)
    assert findings.status == Findings.Status.READY and findings.published_at is not None
    roles = set(programme.memberships.values_list("user__username", "role"))
    assert {(f"{SLUG}-lead", Membership.Role.LEAD), (f"{SLUG}-viewer", Membership.Role.VIEWER),
            (f"{SLUG}-facilitator", Membership.Role.FACILITATOR)} <= roles  # fmt: skip


@pytest.mark.django_db
def test_progress_timings_and_accounts_are_printed(built: tuple[str, str]) -> None:
    out, err = built
    for label in ("programme and groups", "generating submissions", "importing submissions",
                  "notes", "driver maps", "findings"):  # fmt: skip
        assert label in err and label in out
    assert "100%" in err and "rows/s" in out
    assert f"{SLUG}-lead" in out and f"{SLUG}-viewer" in out and "amniyat-demo" in out


@pytest.mark.django_db
def test_an_existing_programme_is_refused_and_left_alone(built: tuple[str, str]) -> None:
    before = (stored(), Programme.objects.get(slug=SLUG).pk, AuditEvent.objects.count())
    with pytest.raises(CommandError, match="exists already; nothing was changed"):
        bench_data()
    assert (stored(), Programme.objects.get(slug=SLUG).pk, AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_a_programme_not_generated_is_never_removed(built: tuple[str, str]) -> None:
    Programme.objects.filter(slug=SLUG).update(is_demo=False)
    try:
        with pytest.raises(CommandError, match="was not generated"):
            bench_data("--reset")
        assert len(stored()) == SIZE
    finally:
        Programme.objects.filter(slug=SLUG).update(is_demo=True)


@pytest.mark.django_db
def test_someone_elses_account_is_never_taken_over(built: tuple[str, str]) -> None:
    User.objects.create_user("taken-lead", password="their own")
    with pytest.raises(CommandError, match=r"exist already \(taken-lead\)"):
        call_command("bench-data", "--submissions", "200", "--programme", "taken")
    assert not Programme.objects.filter(slug="taken").exists()
    assert User.objects.get(username="taken-lead").check_password("their own")


@pytest.mark.django_db
def test_too_few_submissions_are_refused(built: tuple[str, str]) -> None:
    with pytest.raises(CommandError, match="at least 98 submissions"):
        call_command("bench-data", "--submissions", "50", "--programme", "other-scale")
    assert not Programme.objects.filter(slug="other-scale").exists()


@pytest.mark.django_db
def test_the_demo_neither_counts_nor_removes_the_scale_programme(built: tuple[str, str]) -> None:
    assert not demo_exists()
    remove_demo()
    assert Programme.objects.filter(slug=SLUG).exists()
    assert Organisation.objects.filter(led_programmes__slug=SLUG).exists()


@pytest.mark.django_db
def test_reset_builds_the_same_data_again(built: tuple[str, str]) -> None:
    before, notes = stored(), written()
    old = Programme.objects.get(slug=SLUG).pk
    bench_data("--reset", "--no-progress")
    assert Programme.objects.get(slug=SLUG).pk != old
    assert stored() == before  # same instance ids, answers, enumerators, places
    assert written() == notes
    assert User.objects.filter(username__startswith=f"{SLUG}-").count() == 5

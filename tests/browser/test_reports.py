"""The briefing paper's acceptance scenario, in Tajik, on the demo: an analyst creates a briefing
paper from the Tajikistan baseline, moves a section, writes the summary, adds a chart of one
indicator by district, builds what is left, writes the DOCX and the PDF (the page shows each
file's progress bar until the worker has written it), and asks for review; the lead approves
and publishes it; the donor viewer downloads the PDF. Screenshots: the editor on a 360 px
phone, and the PDF's first three pages (pdftoppm). No page scrolls sideways."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from amniyat.accounts.models import Programme, User
from amniyat.demo.build import build_demo
from amniyat.fieldwork.models import Assessment
from amniyat.reports.models import Rendering, Report, Section
from tests.browser.conftest import PASSWORD, sign_in
from tests.drivers.assist.test_assist import run_trainings

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TITLE = "Омилҳои ноамнӣ дар ҷамоатҳои Хатлон ва Суғд"
SUMMARY = "Бекорӣ ва нобоварӣ ба милитсия сабабҳои асосии ноамнӣ мебошанд."
WIDTH = 360


def _tg(text: str) -> str:
    with translation.override("tg"):
        return gettext(text)


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _as(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "amniyat_language", "value": "tg", "url": base}])
    sign_in(page, base, username)


def test_a_briefing_paper_in_tajik_from_the_demo_baseline(
    phone_page: Page, live_server: Any, screenshots: Path, settings: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    build_demo()
    for user in User.objects.filter(username__in=["demo-analyst", "demo-lead", "demo-viewer"]):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    programme = Programme.objects.get(slug="tajikistan-community-security")
    baseline = Assessment.objects.filter(
        programme=programme, kind=Assessment.Kind.BASELINE
    ).earliest("pk")
    page, base = phone_page, live_server.url
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The analyst starts a briefing paper in Tajik.
    _as(page, base, "demo-analyst")
    page.goto(base + reverse("reports:create", args=[programme.slug]))
    expect(page.locator("html")).to_have_attribute("lang", "tg")
    page.fill("#id_title", TITLE)
    page.locator("#id_language").select_option("tg")
    page.locator("#id_assessment").select_option(str(baseline.pk))
    page.locator("main form button[type=submit]").click()
    report = Report.objects.get(title=TITLE)
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/$"))
    sections = {s.kind: s for s in report.sections.all()}

    # Moves the methodology below the key findings.
    methodology, findings = sections["methodology"], sections["findings"]
    page.locator(f"#section-{methodology.pk} button[name=direction][value=down]").click()
    expect(page.locator(f"#section-{findings.pk} + section")).to_have_attribute(
        "id", f"section-{methodology.pk}"
    )

    # Writes the summary.
    summary = sections["text"]
    page.locator(f"#section-{summary.pk} .section-actions a").click()
    page.fill("textarea[name=text]", SUMMARY)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(f"#section-{summary.pk}")).to_contain_text(SUMMARY)

    # Adds a chart of one indicator by district, and chooses the indicator.
    page.locator("#add-kind").select_option(Section.Kind.CHART)
    page.locator("form.add-section button[type=submit]").click()
    chart = report.sections.get(kind=Section.Kind.CHART)
    page.locator(f"#section-{chart.pk} .section-actions a").click()
    page.locator("select[name=indicator]").select_option("safe_night")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(f"#section-{chart.pk} img, #section-{chart.pk} svg").first).to_be_visible()

    # Builds every section not built yet.
    for section in report.sections.exclude(kind__in=Section.WRITTEN).filter(built_at=None):
        actions = page.locator(f"#section-{section.pk} .section-actions")
        actions.locator("form button[type=submit]").first.click()
        expect(page.locator(f"#section-{section.pk} .not-built")).to_have_count(0)
    assert report.sections.exclude(kind__in=Section.WRITTEN).filter(built_at=None).count() == 0
    page.screenshot(path=str(screenshots / "report-editor-tg-360.png"), full_page=True)
    assert _scroll_width(page) <= WIDTH

    # Writes both files: each shows its progress bar until the worker has written it.
    page.get_by_role("button", name=_tg("Write as DOCX")).click()
    page.get_by_role("button", name=_tg("Write as PDF")).click()
    expect(page.locator(".renderings progress")).to_have_count(2)
    page.screenshot(path=str(screenshots / "report-files-queued-tg-360.png"), full_page=True)
    assert run_trainings() >= 2  # the worker: every queued task, the two files among them
    expect(page.locator(".renderings progress")).to_have_count(0, timeout=15_000)
    expect(page.get_by_role("link", name=_tg("Download"))).to_have_count(2)
    assert set(report.renderings.values_list("status", flat=True)) == {Rendering.Status.READY}

    # Asks for review; the lead approves and publishes.
    page.get_by_role("button", name=_tg("Ask for review")).click()
    _as(page, base, "demo-lead")
    page.goto(base + reverse("reports:detail", args=[programme.slug, report.pk]))
    page.get_by_role("button", name=_tg("Approve")).click()
    page.get_by_role("button", name=_tg("Publish")).click()
    report.refresh_from_db()
    assert report.status == Report.Status.PUBLISHED

    # The donor viewer downloads the PDF.
    _as(page, base, "demo-viewer")
    page.goto(base + reverse("reports:list", args=[programme.slug]))
    page.get_by_role("link", name=TITLE).click()
    pdf = report.renderings.get(format="pdf")
    with page.expect_download() as waiting:
        page.locator(f"#rendering-{pdf.pk} a[download]").click()
    saved = tmp_path / "briefing.pdf"
    waiting.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = subprocess.run(  # noqa: S603 (poppler, a file of ours)
        ["/usr/bin/pdftotext", str(saved), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert TITLE in " ".join(text.split()) and SUMMARY in " ".join(text.split())
    subprocess.run(  # noqa: S603 (poppler, a file of ours)
        [
            "/usr/bin/pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "3",
            str(saved),
            str(screenshots / "report-pdf-tg-page"),
        ],
        check=True,
    )
    assert len(list(screenshots.glob("report-pdf-tg-page-*.png"))) == 3
    assert _scroll_width(page) <= WIDTH
    assert not errors, errors

"""The access matrix: every route the resolver knows, for every role, against own and foreign
objects.

The walk is over ``get_resolver()`` (HTML pages, the DRF router with its format-suffix
variants, the schema), so a route added later is covered without anyone remembering to add a
test: if it takes URL arguments that :data:`KWARG_REGISTRY` does not know how to fill, the
matrix fails with "add <name> to the access matrix".

What the matrix asserts, for every role x route x (own object, foreign object) x method:

* a foreign object never answers 200: 404 (or 405 where the method is refused anyway);
* a request about a foreign object changes nothing in the database;
* no response, to any request, contains a foreign object's name or id (objects of another
  programme, and inside the programme those of another partner for roles that may not see
  them; members' names for roles that may not see personal data);
* no request ends in a 500;
* anonymous requests are sent to the login page (pages) or answered 401 (API);
* the OpenRosa routes ODK Collect uses (``collect/<slug>/…``, :data:`DEVICE_ROUTES`) answer
  401 to anyone without a collection device's credentials, anonymous or signed in; signed by
  a device of P1 they serve its own open form and nothing of P2 or of forms it is not
  assigned to (:func:`device_violations`).

:func:`access_violations` returns the list of what went wrong; the real test asserts it is
empty, and a second test shows it catches a view that skips the selector.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, reset_queries, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.html import escape
from djmoney.money import Money
from PIL import Image as PILImage

from amniyat import urls as real_urls
from amniyat.accounts.models import Membership, Organisation, PersonalToken, Programme, User
from amniyat.accounts.services import token_create
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import (
    CommunityGroup,
    GroupMember,
    RepresentationTarget,
    Sector,
)
from amniyat.core.encrypted_files import encrypt_file
from amniyat.downloads import services as download_services
from amniyat.downloads.models import Download
from amniyat.drivers.coding import qdpx
from amniyat.drivers.models import (
    Code,
    CodeQuality,
    DriverMap,
    Excerpt,
    Factor,
    Link,
    Passage,
    Priority,
    PriorityList,
    RedactionFlag,
    Source,
    Suggestion,
)
from amniyat.fieldwork.collection.openrosa import auth as openrosa_auth
from amniyat.fieldwork.models import (
    Assessment,
    DeviceUser,
    Form,
    FormVersion,
    ImportJob,
    Submission,
)
from amniyat.fieldwork.submissions import services as submission_services
from amniyat.fieldwork.submissions.frames import data_key
from amniyat.findings.models import Findings, IndicatorSet
from amniyat.places.models import Place
from amniyat.places.services import partner_area_assign
from amniyat.plans import evidence as plan_evidence
from amniyat.plans.models import (
    Action,
    ActionPlan,
    ActionUpdate,
    Commitment,
    Consultation,
    Dispute,
    Evidence,
    Objective,
    Signatory,
)
from amniyat.reports.models import Recommendation, Rendering, Report, ReportTemplate, Section
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    UserFactory,
    member_of,
)

Role = Membership.Role
SKIPPED_PREFIXES = ("admin/", "static/")

# ----------------------------------------------------------------------------------------
# How to fill each route's URL arguments: url name -> {kwarg: kind of object}. Kinds:
# programme (its slug), group, member, place (a programme's own community), organisation,
# membership, token, assessment, form, submission, import_job, device, findings (one
# computed Findings row) and findings_assessment (an assessment as the findings pages show it:
# with published findings for everyone, with drafts only for those who analyse). ``format``
# (the API's format suffix) is filled for every route.
#
# A new route whose arguments are existing kinds needs one line here. A new kind of object
# (an assessment, a form, …) also needs, in build_world(): an own object in ``own[role]``, a
# foreign one (in P2, explicit large id, unique name) in the P2 bundle, its name and id in
# ``hidden``, and, where it is saved, a payload in post_payloads().

KWARG_REGISTRY: dict[str, dict[str, str]] = {
    "reports:list": {"slug": "programme"},
    "reports:create": {"slug": "programme"},
    "reports:template": {"slug": "programme"},
    "reports:detail": {"slug": "programme", "pk": "report"},
    "reports:edit": {"slug": "programme", "pk": "report"},
    "reports:status": {"slug": "programme", "pk": "report"},
    "reports:section_add": {"slug": "programme", "pk": "report"},
    "reports:rendering_create": {"slug": "programme", "pk": "report"},
    "reports:rendering_progress": {
        "slug": "programme",
        "pk": "report",
        "rendering_pk": "rendering",
    },
    "reports:rendering_file": {"slug": "programme", "pk": "report", "rendering_pk": "rendering"},
    "reports:section_edit": {"slug": "programme", "pk": "report", "section_pk": "section"},
    "reports:section_move": {"slug": "programme", "pk": "report", "section_pk": "section"},
    "reports:section_build": {"slug": "programme", "pk": "report", "section_pk": "section"},
    "reports:section_keep": {"slug": "programme", "pk": "report", "section_pk": "section"},
    "reports:section_remove": {"slug": "programme", "pk": "report", "section_pk": "section"},
    "core:programme": {"slug": "programme"},
    "core:audit": {"slug": "programme"},
    "accounts:token_revoke": {"pk": "token"},
    "accounts:team": {"slug": "programme"},
    "accounts:membership_edit": {"slug": "programme", "pk": "membership"},
    "accounts:organisation_list": {"slug": "programme"},
    "accounts:organisation_create": {"slug": "programme"},
    "accounts:organisation_detail": {"slug": "programme", "pk": "organisation"},
    "accounts:translate_programme": {"slug": "programme"},
    "accounts:translate_organisation": {"slug": "programme", "pk": "organisation"},
    "accounts:translate_communitygroup": {"slug": "programme", "pk": "group"},
    "accounts:translate_assessment": {"slug": "programme", "pk": "assessment"},
    "accounts:translate_source": {"slug": "programme", "pk": "source"},
    "accounts:translate_drivermap": {"slug": "programme", "pk": "driver_map"},
    "accounts:translate_prioritylist": {"slug": "programme", "pk": "priority_list"},
    "places:list": {"slug": "programme"},
    "places:create": {"slug": "programme"},
    "places:detail": {"slug": "programme", "pk": "place"},
    "places:edit": {"slug": "programme", "pk": "place"},
    "places:partner_area": {"slug": "programme", "pk": "organisation"},
    "places:pick": {"slug": "programme"},
    "communities:list": {"slug": "programme"},
    "communities:create": {"slug": "programme"},
    "communities:detail": {"slug": "programme", "pk": "group"},
    "communities:edit": {"slug": "programme", "pk": "group"},
    "communities:member_create": {"slug": "programme", "pk": "group"},
    "communities:member_edit": {"slug": "programme", "pk": "group", "member_pk": "member"},
    "communities:representativeness": {"slug": "programme"},
    "communities:targets": {"slug": "programme"},
    "communities:pick": {"slug": "programme"},
    "api:programme-detail": {"slug": "programme"},
    "api:organisation-detail": {"pk": "organisation"},
    "api:place-detail": {"pk": "place"},
    "api:group-detail": {"pk": "group"},
    "api:member-detail": {"pk": "member"},
    "api:report-detail": {"pk": "report"},
    "api:report-file-list": {"report_pk": "report"},
    "api:report-file-detail": {"report_pk": "report", "pk": "rendering"},
    "api:report-file-download": {"report_pk": "report", "pk": "rendering"},
    "fieldwork:assessment_list": {"slug": "programme"},
    "fieldwork:assessment_create": {"slug": "programme"},
    "fieldwork:assessment_detail": {"slug": "programme", "pk": "assessment"},
    "fieldwork:assessment_edit": {"slug": "programme", "pk": "assessment"},
    "fieldwork:form_upload": {"slug": "programme", "pk": "assessment"},
    "fieldwork:form_detail": {"slug": "programme", "pk": "form"},
    "fieldwork:form_sensitivity": {"slug": "programme", "pk": "form"},
    "fieldwork:form_publish": {"slug": "programme", "pk": "form"},
    "fieldwork:form_close": {"slug": "programme", "pk": "form"},
    "fieldwork:import_create": {"slug": "programme", "pk": "form"},
    "fieldwork:submission_list": {"slug": "programme", "pk": "form"},
    "fieldwork:submission_export": {"slug": "programme", "pk": "form"},
    "downloads:detail": {"slug": "programme", "pk": "download"},
    "downloads:progress": {"slug": "programme", "pk": "download"},
    "downloads:file": {"slug": "programme", "pk": "download"},
    "fieldwork:import_detail": {"slug": "programme", "pk": "import_job"},
    "fieldwork:import_progress": {"slug": "programme", "pk": "import_job"},
    "fieldwork:import_problems": {"slug": "programme", "pk": "import_job"},
    "fieldwork:openrosa_form_list": {"slug": "programme"},
    "fieldwork:openrosa_form": {"slug": "programme", "pk": "form"},
    "fieldwork:openrosa_manifest": {"slug": "programme", "pk": "form"},
    "fieldwork:openrosa_submission": {"slug": "programme"},
    "fieldwork:device_list": {"slug": "programme"},
    "fieldwork:device_create": {"slug": "programme"},
    "fieldwork:device_revoke": {"slug": "programme", "pk": "device"},
    "findings:index": {"slug": "programme"},
    "findings:change": {"slug": "programme"},
    "findings:assessment": {"slug": "programme", "pk": "findings_assessment"},
    "findings:gender_gap": {"slug": "programme", "pk": "findings_assessment"},
    "findings:assessment_table": {"slug": "programme", "pk": "findings_assessment"},
    "findings:gender_gap_table": {"slug": "programme", "pk": "findings_assessment"},
    "findings:change_table": {"slug": "programme"},
    "findings:publish": {"slug": "programme", "pk": "findings"},
    "findings:indicators": {"slug": "programme"},
    "api:assessment-detail": {"pk": "assessment"},
    "api:form-detail": {"pk": "form"},
    "api:submission-detail": {"pk": "submission"},
    "api:import-job-detail": {"pk": "import_job"},
    "api:device-detail": {"pk": "device"},
    "drivers:index": {"slug": "programme"},
    "drivers:assist": {"slug": "programme"},
    "drivers:assist_accept": {"slug": "programme"},
    "drivers:assist_reject": {"slug": "programme"},
    "drivers:assist_evaluate": {"slug": "programme"},
    "drivers:source_list": {"slug": "programme"},
    "drivers:source_create": {"slug": "programme"},
    "drivers:source_detail": {"slug": "programme", "pk": "source"},
    "drivers:source_edit": {"slug": "programme", "pk": "source"},
    "drivers:source_delete": {"slug": "programme", "pk": "source"},
    "drivers:excerpt_create": {"slug": "programme", "pk": "source"},
    "drivers:excerpt_delete": {"slug": "programme", "pk": "excerpt"},
    "drivers:excerpt_publish": {"slug": "programme", "pk": "excerpt"},
    "drivers:excerpt_review": {"slug": "programme", "pk": "excerpt"},
    "drivers:redaction_decide": {"slug": "programme", "pk": "redaction_flag"},
    "drivers:redaction_add": {"slug": "programme", "pk": "source"},
    "drivers:code_excerpts": {"slug": "programme", "pk": "code"},
    "drivers:agreement": {"slug": "programme"},
    "drivers:agreement_code": {"slug": "programme", "pk": "code"},
    "drivers:priority_index": {"slug": "programme"},
    "drivers:priority_list_create": {"slug": "programme", "pk": "group"},
    "drivers:priority_list_detail": {"slug": "programme", "pk": "priority_list"},
    "drivers:priority_list_edit": {"slug": "programme", "pk": "priority_list"},
    "drivers:priority_list_agree": {"slug": "programme", "pk": "priority_list"},
    "drivers:priority_add": {"slug": "programme", "pk": "priority_list"},
    "drivers:priority_list_delete": {"slug": "programme", "pk": "priority_list"},
    "drivers:priority_edit": {"slug": "programme", "pk": "priority"},
    "drivers:priority_delete": {"slug": "programme", "pk": "priority"},
    "drivers:map_list": {"slug": "programme"},
    "drivers:map_create": {"slug": "programme"},
    "drivers:map_import": {"slug": "programme"},
    "drivers:map_compare": {"slug": "programme"},
    "drivers:map_detail": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_editor": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_edit": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_delete": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_publish": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_graph": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_analysis": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_suggest": {"slug": "programme", "pk": "driver_map"},
    "drivers:map_export": {"slug": "programme", "pk": "driver_map"},
    "drivers:codebook": {"slug": "programme"},
    "drivers:code_create": {"slug": "programme"},
    "drivers:code_edit": {"slug": "programme", "pk": "code"},
    "drivers:code_delete": {"slug": "programme", "pk": "code"},
    "drivers:code_merge": {"slug": "programme", "pk": "code"},
    "drivers:codebook_seed": {"slug": "programme"},
    "drivers:qdpx_export": {"slug": "programme"},
    "drivers:qdpx_import": {"slug": "programme"},
    "plans:list": {"slug": "programme"},
    "plans:create": {"slug": "programme", "pk": "priority_list"},
    "plans:detail": {"slug": "programme", "pk": "plan"},
    "plans:status": {"slug": "programme", "pk": "plan"},
    "plans:endorse": {"slug": "programme", "pk": "plan"},
    "plans:action_create": {"slug": "programme", "pk": "plan"},
    "plans:action_edit": {"slug": "programme", "pk": "action"},
    "plans:workplan": {"slug": "programme", "pk": "plan"},
    "plans:workplan_import": {"slug": "programme", "pk": "plan"},
    "plans:calendar": {"slug": "programme", "pk": "plan"},
    "plans:programme_accountability": {"slug": "programme"},
    "plans:accountability": {"slug": "programme", "pk": "plan"},
    "plans:public": {"slug": "programme", "pk": "plan"},
    "plans:publish": {"slug": "programme", "pk": "plan"},
    "plans:action_updates": {"slug": "programme", "pk": "action"},
    "plans:update_create": {"slug": "programme", "pk": "action"},
    "plans:dispute_create": {"slug": "programme", "pk": "action"},
    "plans:update_verify": {"slug": "programme", "pk": "update"},
    "plans:dispute_resolve": {"slug": "programme", "pk": "dispute"},
    "plans:evidence_file": {"slug": "programme", "pk": "evidence"},
    "accounts:translate_actionplan": {"slug": "programme", "pk": "plan"},
    "plans:consultation_list": {"slug": "programme"},
    "plans:consultation_create": {"slug": "programme"},
    "plans:consultation_detail": {"slug": "programme", "pk": "consultation"},
    "plans:consultation_edit": {"slug": "programme", "pk": "consultation"},
    "plans:commitment_add": {"slug": "programme", "pk": "consultation"},
    "plans:commitment_action": {"slug": "programme", "pk": "commitment"},
    "accounts:translate_consultation": {"slug": "programme", "pk": "consultation"},
    "api:plan-detail": {"pk": "plan"},
    "api:action-detail": {"pk": "action"},
    "api:consultation-detail": {"pk": "consultation"},
}

# The OpenRosa routes ODK Collect talks to (``collect/<slug>/…``) and the methods each
# accepts. They are signed by a collection device (Digest, or Basic over TLS), never by a web
# session, and are exempt from CSRF: a request without a device's credentials, anonymous or
# from a signed-in person, is answered 401 (405 for a method the route does not accept). A
# new ``collect/`` route must be added here. A device's own pass is in device_violations().
DEVICE_ROUTES: dict[str, frozenset[str]] = {
    "fieldwork:openrosa_form_list": frozenset({"GET", "HEAD"}),
    "fieldwork:openrosa_form": frozenset({"GET", "HEAD"}),
    "fieldwork:openrosa_manifest": frozenset({"GET", "HEAD"}),
    "fieldwork:openrosa_submission": frozenset({"HEAD", "POST"}),
}

# A query string for the GETs of a route whose bare address only redirects: the export
# needs a format and a language to write a file (whose rows are then checked too).
GET_QUERIES: dict[str, str] = {
    "fieldwork:submission_export": "?export_format=csv&language=en",
    # A findings page's table as a file: one every findings page has.
    "findings:assessment_table": "?table=indicators&format=csv",
    "findings:gender_gap_table": "?table=gaps&format=csv",
    "findings:change_table": "?table=change&format=csv",
}

# Routes an anonymous visitor may use: signing in and out, the health check, the language.
OPEN_ROUTES = frozenset({"accounts:login", "accounts:logout", "core:healthz", "core:set_language"})

# ----------------------------------------------------------------------------------------
# Walking the resolver.

_ROUTE_ARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    name: str
    patterns: tuple[Any, ...]
    kwargs: tuple[str, ...]

    @property
    def label(self) -> str:
        return "".join(str(p) for p in self.patterns)

    @property
    def is_api(self) -> bool:
        return self.url({k: "1" for k in self.kwargs}).startswith("/api/")

    def url(self, values: dict[str, str]) -> str:
        parts = []
        for pattern in self.patterns:
            if isinstance(pattern, RoutePattern):

                def fill(match: re.Match[str], pattern: RoutePattern = pattern) -> str:
                    name = match["name"]
                    return str(pattern.converters[name].to_url(values[name]))

                parts.append(_ROUTE_ARG.sub(fill, str(pattern)))
            elif isinstance(pattern, RegexPattern):
                regex = str(pattern).removeprefix("^").removesuffix("$")
                regex = _REGEX_GROUP.sub(lambda m: values[m["name"]], regex)
                parts.append(regex.replace("/?", "/").replace("\\.", "."))
            else:  # pragma: no cover - Django has only these two
                raise TypeError(pattern)
        return "/" + "".join(parts)


def walk_routes() -> list[Route]:
    """Every route of the current ROOT_URLCONF, except the admin and static files."""
    routes: list[Route] = []

    def visit(resolver: URLResolver, prefix: tuple[Any, ...], namespace: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                visit(
                    entry,
                    (*prefix, entry.pattern),
                    (*namespace, entry.namespace) if entry.namespace else namespace,
                )
            elif isinstance(entry, URLPattern):
                patterns = (*prefix, entry.pattern)
                text = "".join(str(p) for p in patterns).lstrip("^")
                if text.startswith(SKIPPED_PREFIXES):
                    continue
                kwargs = set()
                for pattern in patterns:
                    kwargs |= set(pattern.regex.groupindex)
                name = ":".join((*namespace, entry.name or f"<unnamed {text}>"))
                routes.append(Route(name, patterns, tuple(sorted(kwargs))))

    visit(get_resolver(), (), ())
    return routes


# ----------------------------------------------------------------------------------------
# The world: programme P1 with partners OWN and OTHER, and programme P2 that is foreign to
# everyone who is only in P1. Foreign objects get unique names and large explicit ids. They
# are created after every auto-numbered object, and each table's ids are 10,000 apart, so an
# id handed out later (SQLite continues after the largest) never equals a foreign id.

TAG = "7f3a"


@dataclass
class World:
    p1: Programme
    p2: Programme
    users: dict[str, User]
    own: dict[str, dict[str, Any]]  # role -> kind -> object
    bundles: dict[str, list[dict[str, Any]]]  # role -> foreign bundles (kind -> object)
    hidden: dict[str, tuple[list[str], list[int]]]  # role -> (names, ids) never to appear
    community_of: dict[int, Place] = field(default_factory=dict)  # programme pk -> community
    district_of: dict[int, Place] = field(default_factory=dict)
    partner_of: dict[int, Organisation] = field(default_factory=dict)
    target_of: dict[int, RepresentationTarget] = field(default_factory=dict)
    newcomer: User | None = None
    # The collection device of P1 that signs the OpenRosa requests of device_violations(),
    # what it may reach, what it may not, and what must never appear in its answers.
    device: DeviceUser | None = None
    device_own: dict[str, Any] = field(default_factory=dict)
    device_bundles: list[dict[str, Any]] = field(default_factory=list)
    device_hidden: tuple[list[str], list[int]] = ([], [])


ROLES = (Role.LEAD, Role.ANALYST, Role.FACILITATOR, Role.GROUP_MEMBER, Role.VIEWER)


# ----------------------------------------------------------------------------------------
# Fieldwork and findings objects: an assessment with a form (one version of a tiny XForm), a
# submission, an import with its problems file, a collection device, the programme's
# indicators and computed findings. ``ids`` gives explicit ids (foreign objects), else the
# database numbers them.

DEVICE_PASSWORD = "matrix-device-password"
FORM_SCHEMA: list[dict[str, Any]] = [
    {
        "name": name,
        "path": f"/data/{name}",
        "type": "text",
        "label": {"en": name.title()},
        "choices": [],
        "repeat": None,
        "required": False,
    }
    for name in ("district", "respondent")
]
FORM_SENSITIVITY = {"/data/district": "public", "/data/respondent": "personal"}


def _xform(form_id: str, title: str) -> str:
    return (
        '<?xml version="1.0"?><h:html xmlns="http://www.w3.org/2002/xforms" '
        'xmlns:h="http://www.w3.org/1999/xhtml"><h:head>'
        f"<h:title>{title}</h:title><model><instance>"
        f'<data id="{form_id}" version="1"><district/><respondent/>'
        "<meta><instanceID/></meta></data></instance>"
        '<bind nodeset="/data/district" type="string"/>'
        '<bind nodeset="/data/respondent" type="string"/>'
        '<bind nodeset="/data/meta/instanceID" type="string" readonly="true()"/>'
        "</model></h:head><h:body>"
        '<input ref="/data/district"><label>District</label></input>'
        '<input ref="/data/respondent"><label>Respondent</label></input>'
        "</h:body></h:html>"
    )


def _submission(
    form: Form, version: FormVersion, *, marker: str, place: Place, pk: int | None = None
) -> Submission:
    """A stored submission whose every visible trace carries ``marker``."""
    return Submission.objects.create(
        pk=pk,
        form=form,
        form_version=version,
        instance_id=f"uuid:{marker}-SUBMISSION",
        content_hash=marker,
        place=place,
        submitted_at=timezone.now(),
        enumerator=f"{marker}-ENUMERATOR",
        data={"/data/district": f"{marker}-ANSWER"},
        protected_data=json.dumps({"/data/respondent": f"{marker}-RESPONDENT"}),
        source=Submission.Source.IMPORT,
    )


def _import_job(form: Form, *, marker: str, by: User, pk: int | None = None) -> ImportJob:
    problem = f"{marker}-PROBLEM"
    stored = default_storage.save(
        f"matrix/{marker.lower()}-problems.csv",
        ContentFile(f"file,row,column,message\nanswers.csv,2,district,{problem}\n".encode()),
    )
    return ImportJob.objects.create(
        pk=pk,
        form=form,
        file=f"imports/{marker.lower()}.csv",
        file_name=f"{marker}-IMPORT.csv",
        status=ImportJob.Status.SUCCEEDED,
        total_rows=2,
        processed_rows=2,
        stored=1,
        skipped=1,
        report={
            "message": "",
            "problems": [
                {"file": "answers.csv", "row": 2, "column": "district", "message": problem}
            ],
            "problem_count": 1,
            "problems_file": stored,
        },
        created_by=by,
        finished_at=timezone.now(),
    )


def _device(
    programme: Programme,
    organisation: Organisation,
    *,
    marker: str,
    assessments: list[Assessment],
    pk: int | None = None,
) -> DeviceUser:
    username = f"{marker}-DEVICE"
    device = DeviceUser.objects.create(
        pk=pk,
        programme=programme,
        organisation=organisation,
        username=username,
        password_hash=make_password(DEVICE_PASSWORD),
        digest_ha1=openrosa_auth.digest_ha1(username, DEVICE_PASSWORD),
        label=f"{marker}-CARRIER",
        # Seen just now, so its requests during the matrix do not write last_seen_at.
        last_seen_at=timezone.now(),
    )
    device.assessments.set(assessments)
    return device


def _indicator_set(programme: Programme, *, marker: str, pk: int | None = None) -> IndicatorSet:
    return IndicatorSet.objects.create(
        pk=pk, programme=programme, version=1, spec=f"# {marker}-INDICATORS\n{INDICATORS_YAML}"
    )


INDICATORS_YAML = (
    "indicators:\n"
    "  - id: answered\n"
    "    label: Answered the district question\n"
    "    type: proportion\n"
    "    numerator: ${district} != ''\n"
)


def _findings(
    form: Form,
    indicator_set: IndicatorSet,
    *,
    marker: str,
    published: bool,
    pk: int | None = None,
) -> Findings:
    """Ready findings for the form's data as it stands (so opening them computes nothing),
    whose only indicator is labelled with ``marker``."""
    estimate = {
        "indicator": "answered",
        "by": [],
        "domain": {},
        "n": 12,
        "weighted_n": 12.0,
        "estimate": 0.5,
        "se": 0.1,
        "ci_low": 0.3,
        "ci_high": 0.7,
        "deff": 1.0,
        "suppressed": False,
        "reason": None,
    }
    gap = {
        "indicator": "answered",
        "compare": "sex",
        "a": "female",
        "b": "male",
        "within": [],
        "estimate_a": 0.4,
        "estimate_b": 0.6,
        "difference": -0.2,
        "p_value": 0.3,
        "n_a": 6,
        "n_b": 6,
        "suppressed": False,
    }
    now = timezone.now()
    return Findings.objects.create(
        pk=pk,
        assessment=form.assessment,
        form=form,
        indicator_set=indicator_set,
        source_key=data_key(form, list(form.versions.all())),
        respondents=12,
        status=Findings.Status.READY,
        results={
            "design": {"min_cell": 5, "rows": 12, "degrees_of_freedom": 11},
            "estimates": [estimate],
            "comparisons": [gap],
            "labels": {"answered": f"{marker}-RESULT"},
            "kinds": {"answered": "proportion"},
        },
        computed_at=now,
        published_at=now if published else None,
    )


def _fieldwork(
    programme: Programme,
    *,
    marker: str,
    place: Place,
    organisation: Organisation,
    started_by: User,
    ids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """An assessment with an open form (one version), a submission from ``place``, an
    import ``started_by`` someone, and a collection device of ``organisation``."""
    ids = ids or {}
    assessment = Assessment.objects.create(
        pk=ids.get("assessment"),
        programme=programme,
        title=f"{marker}-ASSESSMENT",
        kind=Assessment.Kind.BASELINE,
        starts_on=datetime.date(2021, 9, 1),
        ends_on=datetime.date(2021, 9, 30),
    )
    assessment.places.set([place])
    form = Form.objects.create(
        pk=ids.get("form"),
        assessment=assessment,
        form_id=f"{marker.lower()}-form",
        title=f"{marker}-FORM",
        is_open=True,
    )
    version = FormVersion.objects.create(
        pk=ids.get("version"),
        form=form,
        version="1",
        xlsform=b"",
        xlsform_name=f"{marker}-XLSFORM.xlsx",
        xform=_xform(form.form_id, form.title),
        schema=FORM_SCHEMA,
        languages=["en"],
        sensitivity=FORM_SENSITIVITY,
    )
    return {
        "assessment": assessment,
        "findings_assessment": assessment,
        "form": form,
        "version": version,
        "submission": _submission(
            form, version, marker=marker, place=place, pk=ids.get("submission")
        ),
        "import_job": _import_job(form, marker=marker, by=started_by, pk=ids.get("import_job")),
        "device": _device(
            programme, organisation, marker=marker, assessments=[assessment], pk=ids.get("device")
        ),
    }


def _traces(marker: str) -> list[str]:
    """Every name a _fieldwork() bundle made with ``marker`` shows."""
    return [
        f"{marker}-{what}"
        for what in (
            "ASSESSMENT",
            "FORM",
            "XLSFORM",
            "SUBMISSION",
            "ENUMERATOR",
            "ANSWER",
            "RESPONDENT",
            "IMPORT",
            "PROBLEM",
            "DEVICE",
            "CARRIER",
            "INDICATORS",
            "RESULT",
        )
    ] + [f"{marker.lower()}-form"]


# ----------------------------------------------------------------------------------------
# Drivers objects: notes of a discussion (with its passages and a redaction flag), a code, an
# excerpt coded with it, a driver map with two factors and a link, and a community group's
# priority list with one priority; and the group's action plan answering it (an objective from
# the priority carrying the factor, an action with a part, endorsed by the group and the
# police), read as the priorities are. Every visible trace carries ``marker``.

DRIVER_KINDS = (
    "source",
    "passage",
    "redaction_flag",
    "code",
    "excerpt",
    "driver_map",
    "factor",
    "link",
    "priority_list",
    "priority",
)
PLAN_KINDS = (
    "plan",
    "objective",
    "action",
    "signatory",
    "consultation",
    "commitment",
    "update",
    "dispute",
    "evidence",
)
DRIVER_IDS = {kind: 7500001 + 10000 * index for index, kind in enumerate(DRIVER_KINDS)} | {
    kind: 7800001 + 10000 * index for index, kind in enumerate(PLAN_KINDS)
}
DRIVER_KINDS += PLAN_KINDS


def _drivers(
    programme: Programme,
    *,
    marker: str,
    assessment: Assessment,
    organisation: Organisation,
    coder: User,
    place: Place,
    group: CommunityGroup,
    code: Code | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    """``offset`` gives explicit ids (DRIVER_IDS + offset) for objects some roles must not
    see; without it the database numbers them."""

    def pk(kind: str) -> int | None:
        return None if offset is None else DRIVER_IDS[kind] + offset

    text = f"{marker}-NOTES said the market is unsafe. Zarina Karimova agreed at dusk."
    source = Source.objects.create(
        pk=pk("source"),
        programme=programme,
        assessment=assessment,
        organisation=organisation,
        title=f"{marker}-SOURCE",
        kind=Source.Kind.FOCUS_GROUP,
        place=place,
        language="en",
        participants=8,
        women=8,
        text=text,
    )
    first_end = text.index(".") + 1
    passage = Passage.objects.create(
        pk=pk("passage"), source=source, position=0, paragraph=0, start=0, end=first_end
    )
    Passage.objects.create(
        pk=None if offset is None else pk("passage") + 1,  # type: ignore[operator]
        source=source,
        position=1,
        paragraph=0,
        start=first_end + 1,
        end=len(text),
    )
    name_at = text.index("Zarina")
    flag = RedactionFlag.objects.create(
        pk=pk("redaction_flag"),
        source=source,
        kind=RedactionFlag.Kind.NAME,
        start=name_at,
        end=name_at + len("Zarina Karimova"),
    )
    if code is None:
        code = Code.objects.create(
            pk=pk("code"),
            programme=programme,
            key=f"{marker.lower()}-code",
            kind=Code.Kind.DRIVER,
            name_en=f"{marker}-CODE",
        )
    excerpt = Excerpt.objects.create(
        pk=pk("excerpt"),
        source=source,
        code=code,
        coder=coder,
        start=0,
        end=first_end,
        memo=f"{marker}-MEMO",
    )
    driver_map = DriverMap.objects.create(
        pk=pk("driver_map"),
        programme=programme,
        organisation=organisation,
        title=f"{marker}-MAP",
        place=place,
        assessment=assessment,
    )
    concern = Factor.objects.create(
        pk=pk("factor"),
        map=driver_map,
        kind=Factor.Kind.CONCERN,
        label=f"{marker}-FACTOR",
        code=code,
    )
    concern.excerpts.add(excerpt)
    driver = Factor.objects.create(
        pk=None if offset is None else pk("factor") + 1,  # type: ignore[operator]
        map=driver_map,
        kind=Factor.Kind.DRIVER,
        label=f"{marker}-DRIVER",
    )
    link = Link.objects.create(
        pk=pk("link"), map=driver_map, source=driver, target=concern, kind=Link.Kind.CAUSES
    )
    priority_list = PriorityList.objects.create(
        pk=pk("priority_list"), group=group, title=f"{marker}-PRIORITIES", assessment=assessment
    )
    priority = Priority.objects.create(
        pk=pk("priority"),
        priority_list=priority_list,
        concern=f"{marker}-CONCERN",
        code=code,
        severity=4,
        affected=3,
        urgency=4,
        changeable=2,
        rank=1,
    )
    plan = ActionPlan.objects.create(
        pk=pk("plan"),
        programme=programme,
        group=group,
        priority_list=priority_list,
        title=f"{marker}-PLAN",
        period_start=datetime.date(2022, 1, 1),
        period_end=datetime.date(2022, 12, 31),
    )
    objective = Objective.objects.create(
        pk=pk("objective"), plan=plan, priority=priority, title=f"{marker}-OBJECTIVE"
    )
    objective.factors.add(concern)
    action = Action.objects.create(
        pk=pk("action"),
        objective=objective,
        title=f"{marker}-ACTION",
        lead_actor="District police",
        lead_side="authority",
        start_on=datetime.date(2022, 2, 1),
        due_on=datetime.date(2022, 6, 30),
        cost=Money(1500, "TJS"),
        progress=40,
    )
    action.factors.add(concern)
    action.priorities.add(priority)
    Action.objects.create(
        pk=None if offset is None else pk("action") + 1,  # type: ignore[operator]
        objective=objective,
        parent=action,
        title=f"{marker}-PART",
        lead_actor="Women's council",
        lead_side="community",
        start_on=datetime.date(2022, 2, 1),
        due_on=datetime.date(2022, 3, 31),
        progress=100,
        status=Action.Status.DONE,
    )
    signatory = Signatory.objects.create(
        pk=pk("signatory"),
        plan=plan,
        kind=Signatory.Kind.GROUP,
        name=f"{marker}-SIGNATORY",
        role="chair",
        endorsed_on=datetime.date(2022, 1, 10),
    )
    Signatory.objects.create(
        pk=None if offset is None else pk("signatory") + 1,  # type: ignore[operator]
        plan=plan,
        kind=Signatory.Kind.POLICE,
        name="District police",
        role="deputy head",
        endorsed_on=datetime.date(2022, 1, 12),
    )
    # The group's consultation, read as its plans are; its words (encrypted) only by the
    # programme's leads and analysts and whoever may write it.
    consultation = Consultation.objects.create(
        pk=pk("consultation"),
        programme=programme,
        group=group,
        place=place,
        held_on=datetime.date(2022, 1, 20),
        level=Consultation.Level.LOCAL,
        title=f"{marker}-CONSULTATION",
        community_women=9,
        community_men=4,
        authority_men=2,
        attendees=[{"organisation": "Mahalla committee", "role": "chair", "side": "authority"}],
        issues_note=f"{marker}-WORDS",
        reflected=Consultation.Reflected.PARTLY,
    )
    consultation.factors.add(concern)
    consultation.priorities.add(priority)
    commitment = Commitment.objects.create(
        pk=pk("commitment"),
        consultation=consultation,
        what=f"{marker}-COMMITMENT",
        made_by="District police",
        side="authority",
    )
    # A progress update with a photo (not publishable: the team's only) and a dispute of it.
    update = ActionUpdate.objects.create(
        pk=pk("update"),
        action=action,
        reported_on=datetime.date(2022, 3, 1),
        text=f"{marker}-UPDATE of the patrols",
        status=Action.Status.DONE,
        progress=100,
    )
    dispute = Dispute.objects.create(
        pk=pk("dispute"),
        action=action,
        update=update,
        reported_status=Action.Status.DONE,
        claimed_status=Action.Status.DELAYED,
        text=f"{marker}-DISPUTE: not done",
        raised_as=Dispute.Raiser.GROUP,
    )
    photo = io.BytesIO()
    PILImage.new("RGB", (8, 6), "blue").save(photo, format="JPEG")
    clean = plan_evidence.clean_photo(photo.getvalue()).content
    sealed = io.BytesIO()
    encrypt_file(io.BytesIO(clean), sealed)
    evidence = Evidence(
        pk=pk("evidence"),
        update=update,
        kind=Evidence.Kind.PHOTO,
        content_type="image/jpeg",
        extension="jpg",
        size=len(clean),
        sha256="0" * 64,
        width=8,
        height=6,
    )
    evidence.file.save("evidence-matrix.bin", ContentFile(sealed.getvalue()), save=False)
    evidence.save()
    return {
        "source": source,
        "passage": passage,
        "redaction_flag": flag,
        "code": code,
        "excerpt": excerpt,
        "driver_map": driver_map,
        "factor": concern,
        "link": link,
        "priority_list": priority_list,
        "priority": priority,
        "plan": plan,
        "objective": objective,
        "action": action,
        "signatory": signatory,
        "consultation": consultation,
        "commitment": commitment,
        "update": update,
        "dispute": dispute,
        "evidence": evidence,
    }


def _driver_traces(marker: str, *kinds: str) -> list[str]:
    """The names _drivers() gave the objects of ``kinds`` (all kinds if none are named)."""
    traces = {
        "source": ["SOURCE", "NOTES", "MEMO"],
        "code": ["CODE"],
        "driver_map": ["MAP", "FACTOR", "DRIVER"],
        # A group's action plan is read as its priorities are.
        "priority_list": [
            "PRIORITIES",
            "CONCERN",
            "PLAN",
            "OBJECTIVE",
            "ACTION",
            "PART",
            "SIGNATORY",
            "CONSULTATION",
            "COMMITMENT",
            "WORDS",
            "UPDATE",
            "DISPUTE",
        ],
    }
    chosen = kinds or tuple(traces)
    return [f"{marker}-{what}" for kind in chosen for what in traces[kind]]


def _driver_ids(bundle: dict[str, Any], *kinds: str) -> list[int]:
    return [bundle[kind].pk for kind in (kinds or DRIVER_KINDS)]


def _a_report(
    programme: Programme,
    *,
    marker: str,
    ids: int | None = None,
    published_by: User | None = None,
) -> tuple[Report, Section, Rendering]:
    """A briefing paper with one written section and one rendered file (published with it
    when the report is)."""
    report = Report.objects.create(
        pk=ids,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="en",
        title=f"{marker}-REPORT",
        status=Report.Status.PUBLISHED if published_by else Report.Status.DRAFT,
        published_at=timezone.now() if published_by else None,
        published_by=published_by,
    )
    section = Section.objects.create(
        pk=None if ids is None else ids + 1,
        report=report,
        position=0,
        kind=Section.Kind.TEXT,
        heading=f"{marker}-HEADING",
        text=f"{marker}-WRITTEN",
    )
    rendering = Rendering.objects.create(
        pk=None if ids is None else ids + 2,
        report=report,
        number=1,
        format="pdf",
        report_revision=report.revision,
        status=Rendering.Status.READY,
        approved_by=published_by,
    )
    clear = f"%PDF {marker}-FILE".encode()
    sealed = io.BytesIO()
    encrypt_file(io.BytesIO(clear), sealed)
    rendering.file.save(f"report-{rendering.pk}.bin", ContentFile(sealed.getvalue()), save=False)
    rendering.size = len(clear)
    rendering.save(update_fields=["file", "size"])
    return report, section, rendering


def build_world() -> World:
    vakhsh = Place.objects.get(code="TJ-KT-VAK")
    jizzakh = Place.objects.get(code="UZ-JI-JIZ")

    # --- P1, everything auto-numbered -------------------------------------------------
    lead_org = OrganisationFactory(name="Lead NGO of P1", kind=Organisation.Kind.INTERNATIONAL_NGO)
    donor = OrganisationFactory(name="Donor of P1", kind=Organisation.Kind.DONOR)
    own_org = OrganisationFactory(name="Own partner CSO")
    other_org = OrganisationFactory(name="Other partner CSO")
    p1 = ProgrammeFactory(
        name="Programme One", slug="programme-one", lead_organisation=lead_org, donor=donor
    )
    p1.partners.add(own_org, other_org)
    c1 = Place.objects.create(
        level=Place.Level.COMMUNITY,
        parent=vakhsh,
        programme=p1,
        name_en=f"OWN-COMMUNITY-{TAG}",
    )
    g_own = CommunityGroupFactory(
        programme=p1, name=f"OWN-GROUP-{TAG}", place=c1, facilitating_organisation=own_org
    )
    m_own = GroupMemberFactory(
        group=g_own, display_name=f"OWN-MEMBER-{TAG}", sectors=[Sector.POLICE]
    )
    GroupMemberFactory(group=g_own, display_name="", sex="male", age_band="18_24")
    p1_target = RepresentationTarget.objects.create(
        programme=p1, dimension=RepresentationTarget.Dimension.WOMEN, min_share=40
    )
    users = {
        Role.LEAD: member_of(p1, Role.LEAD, username="matrix-lead"),
        Role.ANALYST: member_of(p1, Role.ANALYST, username="matrix-analyst"),
        Role.FACILITATOR: member_of(
            p1, Role.FACILITATOR, organisation=own_org, username="matrix-facilitator"
        ),
        Role.GROUP_MEMBER: member_of(
            p1, Role.GROUP_MEMBER, organisation=own_org, group=g_own, username="matrix-member"
        ),
        Role.VIEWER: member_of(p1, Role.VIEWER, organisation=donor, username="matrix-viewer"),
    }
    newcomer = UserFactory(username="matrix-newcomer")
    tokens = {
        role: token_create(user=user, name=f"{role} laptop")[0] for role, user in users.items()
    }
    facilitator_membership = Membership.objects.get(user=users[Role.FACILITATOR], programme=p1)
    # Fieldwork: the lead assigned the facilitator's organisation Vakhsh, so it sees the
    # submission from the own community and the import its facilitator started.
    partner_area_assign(acting_user=None, programme=p1, organisation=own_org, places=[vakhsh])
    fw_own = _fieldwork(
        p1,
        marker=f"OWN-{TAG}",
        place=c1,
        organisation=own_org,
        started_by=users[Role.FACILITATOR],
    )
    is_own = _indicator_set(p1, marker=f"OWN-{TAG}")
    # A prepared download is its requester's alone: the lead's export of submissions,
    # written, so that it can be downloaded (the pages walk it as the lead's own), and their
    # codebook's .qdpx project (walked as another's by every other role).
    x_own = submission_services.submissions_export_start(
        acting_user=users[Role.LEAD], form=fw_own["form"], export_format="csv", language="en"
    )
    download_services.download_run(x_own.pk)
    d_own = download_services.download_start(
        acting_user=users[Role.LEAD], programme=p1, kind=qdpx.DOWNLOAD.name
    )
    download_services.download_run(d_own.pk)
    dr_own = _drivers(
        p1,
        marker=f"OWN-{TAG}",
        assessment=fw_own["assessment"],
        organisation=own_org,
        coder=users[Role.FACILITATOR],
        place=c1,
        group=g_own,
        offset=10,  # hidden from group members and viewers: explicit ids
    )

    # --- P1 objects hidden from some roles: explicit large ids ------------------------
    g_other = CommunityGroupFactory(
        pk=7320002,
        programme=p1,
        name=f"OTHER-GROUP-{TAG}",
        place=vakhsh,
        facilitating_organisation=other_org,
    )
    g_sibling = CommunityGroupFactory(
        pk=7320003,
        programme=p1,
        name=f"SIBLING-GROUP-{TAG}",
        place=vakhsh,
        facilitating_organisation=own_org,
    )
    m_other = GroupMemberFactory(pk=7350002, group=g_other, display_name=f"OTHER-MEMBER-{TAG}")
    m_sibling = GroupMemberFactory(
        pk=7350003, group=g_sibling, display_name=f"SIBLING-MEMBER-{TAG}"
    )
    # Fieldwork of P1 a facilitator may not see: a submission from a district where no group
    # of its organisation works, an import someone else started, another partner's device,
    # and an assessment whose findings are a draft (only leads and analysts read drafts).
    kulob = Place.objects.get(code="TJ-KT-KUL")
    s_other = _submission(
        fw_own["form"], fw_own["version"], marker=f"OTHER-{TAG}", place=kulob, pk=7430002
    )
    j_other = _import_job(fw_own["form"], marker=f"OTHER-{TAG}", by=users[Role.LEAD], pk=7440002)
    d_other = _device(
        p1, other_org, marker=f"OTHER-{TAG}", assessments=[fw_own["assessment"]], pk=7450002
    )
    a_draft = Assessment.objects.create(
        pk=7400002, programme=p1, title=f"DRAFT-{TAG}-ASSESSMENT", kind=Assessment.Kind.ENDLINE
    )
    f_draft = Form.objects.create(
        pk=7410002, assessment=a_draft, form_id=f"draft-{TAG}-form", title=f"DRAFT-{TAG}-FORM"
    )
    fd_own = _findings(fw_own["form"], is_own, marker=f"OWN-{TAG}", published=True)
    # Drivers of P1 a facilitator may not see: the other partner's notes and map, and the
    # priorities of a group it does not facilitate (the codebook is the programme's: shared).
    dr_other = _drivers(
        p1,
        marker=f"OTHER-{TAG}",
        assessment=fw_own["assessment"],
        organisation=other_org,
        coder=users[Role.LEAD],
        place=vakhsh,
        group=g_other,
        code=dr_own["code"],
        offset=20,
    )
    fd_draft = _findings(f_draft, is_own, marker=f"DRAFT-{TAG}", published=False, pk=7470002)

    # --- P2: foreign to everyone above ------------------------------------------------
    p2_lead = OrganisationFactory(
        pk=7340001, name=f"FOREIGN-LEADORG-{TAG}", kind=Organisation.Kind.INTERNATIONAL_NGO
    )
    p2_org = OrganisationFactory(pk=7340002, name=f"FOREIGN-ORG-{TAG}", country="UZ")
    p2 = ProgrammeFactory(
        pk=7310001,
        name=f"FOREIGN-PROGRAMME-{TAG}",
        slug=f"foreign-{TAG}",
        country=Place.objects.get(code="UZ"),
        lead_organisation=p2_lead,
        districts=[jizzakh],
    )
    p2.partners.add(p2_org)
    c2 = Place.objects.create(
        pk=7330001,
        level=Place.Level.COMMUNITY,
        parent=jizzakh,
        programme=p2,
        name_en=f"FOREIGN-COMMUNITY-{TAG}",
    )
    g_p2 = CommunityGroupFactory(
        pk=7320001,
        programme=p2,
        name=f"FOREIGN-GROUP-{TAG}",
        place=c2,
        facilitating_organisation=p2_org,
    )
    m_p2 = GroupMemberFactory(pk=7350001, group=g_p2, display_name=f"FOREIGN-MEMBER-{TAG}")
    p2_user = UserFactory(pk=7390001, username=f"FOREIGN-USER-{TAG}")
    p2_membership = Membership.objects.create(
        pk=7360001, user=p2_user, programme=p2, organisation=p2_lead, role=Role.LEAD
    )
    p2_token = PersonalToken.objects.create(
        pk=7370001,
        user=p2_user,
        name=f"FOREIGN-TOKEN-{TAG}",
        digest=PersonalToken.digest_of("matrix-foreign-secret"),
        hint="amn_fore",
    )
    p2_target = RepresentationTarget.objects.create(
        pk=7380001, programme=p2, dimension=RepresentationTarget.Dimension.YOUTH, min_share=30
    )
    fw_p2 = _fieldwork(
        p2,
        marker=f"FOREIGN-{TAG}",
        place=c2,
        organisation=p2_org,
        started_by=p2_user,
        ids={
            "assessment": 7400001,
            "form": 7410001,
            "version": 7420001,
            "submission": 7430001,
            "import_job": 7440001,
            "device": 7450001,
        },
    )
    is_p2 = _indicator_set(p2, marker=f"FOREIGN-{TAG}", pk=7460001)
    x_p2 = Download.objects.create(
        pk=7480001,
        programme=p2,
        requested_by=p2_user,
        kind=submission_services.DOWNLOAD.name,
        choices={"form": fw_p2["form"].pk, "export_format": "csv", "language": "en"},
        file_name=f"FOREIGN-{TAG}-EXPORT.csv",
    )
    d_p2 = Download.objects.create(
        pk=7490001,
        programme=p2,
        requested_by=p2_user,
        kind=qdpx.DOWNLOAD.name,
        file_name=f"FOREIGN-{TAG}-DOWNLOAD.qdpx",
    )
    fd_p2 = _findings(fw_p2["form"], is_p2, marker=f"FOREIGN-{TAG}", published=True, pk=7470001)
    dr_p2 = _drivers(
        p2,
        marker=f"FOREIGN-{TAG}",
        assessment=fw_p2["assessment"],
        organisation=p2_org,
        coder=p2_user,
        place=c2,
        group=g_p2,
        offset=0,
    )

    # Reports: P1's published report (everyone in P1 reads it and its published file, not its
    # earlier unpublished one) and its draft (leads and analysts only); P2's report.
    rp_own, sec_own, rn_own = _a_report(p1, marker=f"OWN-{TAG}", published_by=users[Role.LEAD])
    rn_unpublished = Rendering.objects.create(
        pk=7670001, report=rp_own, number=2, format="docx", report_revision=0, status="ready"
    )
    rd_own, sec_draft, rn_draft = _a_report(p1, marker=f"OTHER-{TAG}", ids=7640001)
    r_p2, sec_p2, rn_p2 = _a_report(p2, marker=f"FOREIGN-{TAG}", ids=7610001, published_by=p2_user)
    # Each programme's Word template, which only its leads see.
    t_own, t_p2 = (
        ReportTemplate.objects.create(
            programme=programme,
            name=f"{marker}-TEMPLATE.docx",
            file=f"reports/templates/{marker.lower()}.bin",
            sha256="0" * 64,
            uploaded_at=timezone.now(),
        )
        for programme, marker in ((p1, f"OWN-{TAG}"), (p2, f"FOREIGN-{TAG}"))
    )
    p2_names = [
        p2.name,
        p2.slug,
        p2_lead.name,
        p2_org.name,
        c2.name_en,
        g_p2.name,
        m_p2.display_name,
        p2_user.username,
        p2_token.name,
    ]
    p2_names += _traces(f"FOREIGN-{TAG}")
    p2_ids = [p2.pk, p2_lead.pk, p2_org.pk, c2.pk, g_p2.pk, m_p2.pk, 7360001, 7370001, 7380001]
    p2_ids.append(p2_user.pk)
    p2_ids += [fw_p2[kind].pk for kind in ("assessment", "form", "version", "submission")]
    p2_ids += [fw_p2["import_job"].pk, fw_p2["device"].pk, is_p2.pk, fd_p2.pk, x_p2.pk]
    p2_names.append(x_p2.file_name)
    p2_names += _driver_traces(f"FOREIGN-{TAG}")
    p2_ids += _driver_ids(dr_p2)
    p2_names += [r_p2.title, t_p2.name]
    p2_ids += [r_p2.pk, sec_p2.pk, rn_p2.pk]
    other = ([g_other.name, m_other.display_name], [g_other.pk, m_other.pk])
    sibling = ([g_sibling.name, m_sibling.display_name], [g_sibling.pk, m_sibling.pk])
    own_names = [m_own.display_name]  # personal data: only for who may see it
    # Fieldwork a facilitator may not see: the other district's submission, the lead's
    # import, the other partner's device, draft findings, the indicators' definition, and
    # personal answers (its membership does not grant them).
    other_fieldwork = (
        [
            *_traces(f"OTHER-{TAG}"),
            f"DRAFT-{TAG}-RESULT",
            f"OWN-{TAG}-INDICATORS",
            f"OWN-{TAG}-RESPONDENT",
            *_driver_traces(f"OTHER-{TAG}", "source", "driver_map", "priority_list"),
        ],
        [
            s_other.pk,
            j_other.pk,
            d_other.pk,
            fd_draft.pk,
            *_driver_ids(dr_other, *(k for k in DRIVER_KINDS if k != "code")),
        ],
    )
    # ... and what group members and viewers may not see either: no assessment, form,
    # submission, import or device at all; only published findings (the own assessment's).
    all_fieldwork = (
        other_fieldwork[0]
        + [t for t in _traces(f"OWN-{TAG}") if not t.endswith(("-ASSESSMENT", "-RESULT"))]
        + [a_draft.title, f_draft.title, f_draft.form_id]
        # No notes, codebook or unpublished map; a group member reads its own group's
        # priorities (names of their codes included), a viewer none.
        + _driver_traces(f"OWN-{TAG}", "source", "driver_map"),
        other_fieldwork[1]
        + [a_draft.pk, f_draft.pk]
        + _driver_ids(
            dr_own, "source", "passage", "redaction_flag", "excerpt", "driver_map", "factor", "link"
        ),
    )
    draft_report = ([rd_own.title, t_own.name], [rd_own.pk, sec_draft.pk, rn_draft.pk])
    hidden = {
        Role.LEAD: (p2_names, p2_ids),
        Role.ANALYST: ([*p2_names, t_own.name], p2_ids),
        Role.FACILITATOR: (
            p2_names
            + other[0]
            + own_names
            + [m_sibling.display_name]
            + other_fieldwork[0]
            + draft_report[0],
            p2_ids + other[1] + other_fieldwork[1] + draft_report[1],
        ),
        Role.GROUP_MEMBER: (
            p2_names
            + other[0]
            + sibling[0]
            + own_names
            + all_fieldwork[0]
            + draft_report[0]
            # A consultation's words: not for group members.
            + [f"OWN-{TAG}-WORDS"],
            p2_ids + other[1] + sibling[1] + all_fieldwork[1] + draft_report[1],
        ),
        Role.VIEWER: (
            p2_names
            + other[0]
            + sibling[0]
            + own_names
            + [g_own.name, c1.name_en]
            + all_fieldwork[0]
            + _driver_traces(f"OWN-{TAG}", "code", "priority_list")
            + draft_report[0],
            p2_ids
            + other[1]
            + sibling[1]
            + all_fieldwork[1]
            + _driver_ids(dr_own, "code", "priority_list", "priority", *PLAN_KINDS)
            + draft_report[1],
        ),
    }
    p2_bundle = {
        "programme": p2,
        "group": g_p2,
        "member": m_p2,
        "place": c2,
        "organisation": p2_org,
        "membership": p2_membership,
        "token": p2_token,
        **{k: v for k, v in fw_p2.items() if k != "version"},
        "findings": fd_p2,
        "download": d_p2,
        **dr_p2,
        "report": r_p2,
        "section": sec_p2,
        "rendering": rn_p2,
    }
    own_fieldwork = {k: v for k, v in fw_own.items() if k != "version"}
    own_fieldwork["findings"] = fd_own
    own_fieldwork["download"] = x_own
    not_for_facilitators = {
        "submission": s_other,
        "import_job": j_other,
        "device": d_other,
        "findings_assessment": a_draft,
        "findings": fd_draft,
        **{k: v for k, v in dr_other.items() if k != "code"},
    }
    bundles: dict[str, list[dict[str, Any]]] = {}
    own: dict[str, dict[str, Any]] = {}
    for index, role in enumerate(ROLES):
        colleague = ROLES[(index + 1) % len(ROLES)]
        own[role] = {
            "programme": p1,
            "group": g_own,
            "member": m_own,
            "place": c1,
            "organisation": own_org,
            "membership": facilitator_membership,
            "token": tokens[role],
            **own_fieldwork,
            **dr_own,
            "report": rp_own,
            "section": sec_own,
            "rendering": rn_own,
        }
        bundles[role] = [p2_bundle, {"token": tokens[colleague]}, {"download": x_p2}]
        if role != Role.LEAD:
            bundles[role].append({"download": d_own})
        if role in (Role.FACILITATOR, Role.GROUP_MEMBER, Role.VIEWER):
            # A draft report, and a file of the published one that was never published.
            bundles[role].append({"report": rd_own, "section": sec_draft, "rendering": rn_draft})
            bundles[role].append({"rendering": rn_unpublished})
            bundles[role].append({"group": g_other, "member": m_other})
            bundles[role].append(not_for_facilitators)
        if role in (Role.GROUP_MEMBER, Role.VIEWER):
            bundles[role].append({"group": g_sibling, "member": m_sibling})
            # No fieldwork at all, and no publishing of (even published) findings.
            bundles[role].append(
                {k: v for k, v in own_fieldwork.items() if k != "findings_assessment"}
            )
            # No notes, codebook or unpublished map of their programme either.
            bundles[role].append(
                {
                    k: v
                    for k, v in dr_own.items()
                    if k not in ("priority_list", "priority", *PLAN_KINDS)
                }
            )
        if role == Role.GROUP_MEMBER:
            # A photo of their own group's plan that is not marked publishable: the team's.
            bundles[role].append({"evidence": dr_own["evidence"]})
        if role == Role.VIEWER:
            bundles[role].append({"group": g_own, "member": m_own, "place": c1})
            bundles[role].append(
                {
                    kind: dr_own[kind]
                    for kind in (
                        "priority_list",
                        "priority",
                        "plan",
                        "objective",
                        "action",
                        "consultation",
                        "commitment",
                        "update",
                        "dispute",
                        "evidence",
                    )
                }
            )
    return World(
        p1=p1,
        p2=p2,
        users=users,
        own=own,
        bundles=bundles,
        hidden=hidden,
        community_of={p1.pk: c1, p2.pk: c2},
        district_of={p1.pk: vakhsh, p2.pk: jizzakh},
        partner_of={p1.pk: own_org, p2.pk: p2_org},
        target_of={p1.pk: p1_target, p2.pk: p2_target},
        newcomer=newcomer,
        device=fw_own["device"],
        device_own={"programme": p1, "form": fw_own["form"]},
        # A form the device is not assigned to (and that is not open) is as foreign as P2's.
        device_bundles=[p2_bundle, {"form": f_draft}],
        device_hidden=([*p2_names, f_draft.title, f_draft.form_id], [*p2_ids, f_draft.pk]),
    )


@pytest.fixture
def world(db: None, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"  # the import problems files
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # devices
    return build_world()


# ----------------------------------------------------------------------------------------
# What to send. ``o`` is the full set of objects the URL was filled from.


def _value(kind: str, obj: Any) -> str:
    return str(obj.slug if kind == "programme" else obj.pk)


def _action_payload(o: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "objective": o["objective"].pk,
        "title": "MATRIX-ACTION",
        "factors": [o["factor"].pk],
        "priorities": [o["priority"].pk],
        "lead_actor": "Hokimiyat",
        "lead_side": "authority",
        "start_on": "2022-03-01",
        "due_on": "2022-04-01",
        "cost_amount": "100.00",
        "cost_currency": "USD",
        "funding": "own",
        "status": "on_track",
        "progress": "10",
        "weight": "1",
        **overrides,
    }


def _consultation_payload(o: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "title": "MATRIX-CONSULTATION",
        "held_on": "2022-02-01",
        "level": "district",
        "group": o["group"].pk,
        "place": o["place"].pk,
        "community_women": "3",
        "community_men": "2",
        "authority_women": "1",
        "authority_men": "1",
        "attendees_authority": "Hokimiyat — deputy",
        "factors": [o["factor"].pk],
        "priorities": [o["priority"].pk],
        "issues_note": "MATRIX-WORDS",
        "reflected": "yes",
        **overrides,
    }


def _workplan_file(o: dict[str, Any], **overrides: str) -> SimpleUploadedFile:
    """A workplan of one action of the own objective, in the columns' keys (plans' import)."""
    row = {
        "objective": o["objective"].title,
        "title": "MATRIX-IMPORTED-ACTION",
        "lead_actor": "Hokimiyat",
        "lead_side": "authority",
        "start_on": "2022-03-01",
        "due_on": "2022-04-01",
        "factor_ids": str(o["factor"].pk),
        "priority_ids": str(o["priority"].pk),
        **overrides,
    }
    text = ",".join(row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n"
    return SimpleUploadedFile("workplan.csv", text.encode(), "text/csv")


def post_payloads(name: str, o: dict[str, Any], w: World, *, foreign: bool) -> list[dict[str, Any]]:
    prog = o["programme"]
    group, member, place, membership = o["group"], o["member"], o["place"], o["membership"]
    group_data = {
        "name": "MATRIX-NEW-GROUP",
        "kind": CommunityGroup.Kind.COMMUNITY_GROUP,
        "place": w.community_of[prog.pk].pk,
        "facilitating_organisation": w.partner_of[prog.pk].pk,
    }
    payloads: dict[str, list[dict[str, Any]]] = {
        "communities:create": [{**group_data, "is_new": "on"}],
        "communities:edit": [
            {
                "name": group.name,
                "kind": group.kind,
                "place": group.place_id,
                "facilitating_organisation": group.facilitating_organisation_id,
                "established_on": "2021-09-01",
                "description": "MATRIX-EDITED",
            }
        ],
        "communities:member_create": [
            {
                "display_name": "MATRIX-NEW-MEMBER",
                "sex": "female",
                "age_band": "25_29",
                "joined_on": "2022-01-10",
            }
        ],
        "communities:member_edit": [
            {
                "display_name": "MATRIX-RENAMED",
                "sex": member.sex,
                "age_band": member.age_band,
                "joined_on": member.joined_on.isoformat(),
                "left_on": "2022-03-01",
            }
        ],
        "communities:targets": [{"dimension": "youth", "min_share": "25"}],
        "places:create": [{"parent": w.district_of[prog.pk].pk, "name_en": "MATRIX-NEW-PLACE"}],
        "places:edit": [
            {"parent": place.parent_id, "name_en": "MATRIX-RENAMED-PLACE", "kind": "mahalla"}
        ],
        "places:partner_area": [{"places": [w.district_of[prog.pk].pk, place.pk]}],
        "accounts:team": [
            {
                "username": w.newcomer.username,  # type: ignore[union-attr]
                "organisation": w.partner_of[prog.pk].pk,
                "role": Role.VIEWER,
            }
        ],
        "accounts:membership_edit": [
            {
                "organisation": membership.organisation_id,
                "role": membership.role,
                "can_view_personal_data": "on",
            },
            *([{"action": "revoke"}] if foreign else []),
        ],
        "accounts:organisation_create": [{"name": "MATRIX-NEW-ORG", "kind": "cso"}],
        "accounts:account": [{"name": "MATRIX-TOKEN"}],
        "accounts:two_factor_setup": [{"token": "123456"}],
        "accounts:two_factor_verify": [{"token": "123456"}],
        "core:set_language": [{"language": "en", "next": "/"}],
        "api:group-list": [{**group_data, "programme": prog.slug, "name": "MATRIX-API-GROUP"}],
        "api:member-list": [
            {
                "group": group.pk,
                "display_name": "MATRIX-API-MEMBER",
                "sex": "male",
                "age_band": "18_24",
                "joined_on": "2022-02-01",
            }
        ],
        "fieldwork:assessment_create": [
            {
                "title": "MATRIX-NEW-ASSESSMENT",
                "kind": Assessment.Kind.RAPID,
                "places": [w.community_of[prog.pk].pk],
            }
        ],
        "fieldwork:assessment_edit": [
            {
                "title": o["assessment"].title,
                "kind": o["assessment"].kind,
                "places": [w.community_of[prog.pk].pk],
                "starts_on": "2021-09-02",
                "ends_on": "2021-09-30",
            }
        ],
        "fieldwork:form_sensitivity": [{"s0": "internal", "s1": "sensitive"}],
        "fieldwork:device_create": [
            {
                "label": "MATRIX-NEW-DEVICE",
                "organisation": w.partner_of[prog.pk].pk,
                "assessments": [o["assessment"].pk],
            }
        ],
        "findings:publish": [{"publish": "0"}, {"publish": "1"}],
        "drivers:source_create": [
            {
                "assessment": o["assessment"].pk,
                "title": "MATRIX-NEW-SOURCE",
                "kind": "focus_group",
                "language": "en",
                "participants": "6",
                "women": "6",
                "men": "0",
                "text": "MATRIX notes. The market is unsafe.",
            }
        ],
        "drivers:source_edit": [
            {
                "assessment": o["assessment"].pk,
                "title": "MATRIX-RENAMED-SOURCE",
                "kind": "interview",
                "language": "en",
                "participants": "1",
                "women": "1",
                "men": "0",
            }
        ],
        "drivers:excerpt_create": [
            {"passage": "1", "code": o["code"].pk},
            {"start": "0", "end": "5", "code": [o["code"].pk], "memo": "MATRIX-MEMO"},
        ],
        "drivers:excerpt_publish": [{"publishable": "1"}, {"publishable": "0"}],
        "drivers:excerpt_review": [
            {"decision": "approve", "checklist": ["no_names", "no_unique_events"]},
            {"decision": "return", "reason": "MATRIX-REASON"},
        ],
        "drivers:redaction_decide": [{"status": "redact"}, {"status": "open"}],
        "drivers:redaction_add": [{"kind": "name", "start": "0", "end": "5"}],
        "drivers:priority_list_create": [
            {"title": "MATRIX-NEW-PRIORITIES", "assessment": o["assessment"].pk}
        ],
        "drivers:priority_list_edit": [{"title": "MATRIX-RENAMED-PRIORITIES"}],
        "drivers:priority_list_agree": [
            {"agreed_on": "2022-04-02", "participants": "9", "women": "5", "men": "4"}
        ],
        "drivers:priority_add": [
            {
                "concern": "MATRIX-NEW-CONCERN",
                "severity": "4",
                "affected": "3",
                "urgency": "5",
                "changeable": "2",
                "code": o["code"].pk,
            }
        ],
        "drivers:priority_edit": [
            {
                "concern": "MATRIX-EDITED-CONCERN",
                "severity": "5",
                "affected": "3",
                "urgency": "5",
                "changeable": "2",
            }
        ],
        "drivers:map_create": [
            {"title": "MATRIX-NEW-MAP", "perspective": "women", "copy_from": o["driver_map"].pk}
        ],
        "drivers:map_edit": [{"title": "MATRIX-RENAMED-MAP", "perspective": "men"}],
        "drivers:map_publish": [{"action": "publish"}, {"action": "unpublish"}],
        "drivers:map_suggest": [{"code": o["code"].pk}],
        "drivers:code_create": [
            {"name_en": "MATRIX-NEW-CODE", "kind": "concern", "parent": o["code"].pk}
        ],
        "drivers:code_edit": [{"name_en": "MATRIX-RENAMED-CODE", "kind": "driver", "parent": ""}],
        "drivers:assist_accept": [
            {"passage": o["passage"].pk, "code": o["code"].pk, "probability": "0.7"}
        ],
        "drivers:assist_reject": [
            {"passage": o["passage"].pk, "code": o["code"].pk, "probability": "0.3"}
        ],
        "findings:indicators": [{"spec": INDICATORS_YAML, "note": "MATRIX-INDICATORS"}],
        "reports:create": [{"kind": "briefing", "language": "en", "title": "MATRIX-NEW-REPORT"}],
        "reports:edit": [{"language": "ru", "title": "MATRIX-RENAMED-REPORT"}],
        "reports:status": [{"action": a} for a in ("submit", "approve", "reopen", "publish")]
        + [{"action": "return", "reason": "MATRIX-REASON"}],
        "reports:section_add": [{"kind": "text"}],
        "reports:section_edit": [{"heading": "MATRIX-HEADING", "text": "MATRIX-TEXT"}],
        "reports:section_move": [{"direction": "up"}, {"direction": "down"}],
        "reports:rendering_create": [{"format": "pdf"}, {"format": "docx"}],
        "reports:template": [{}, {"action": "remove"}],
        "plans:create": [
            {
                "title": "MATRIX-NEW-PLAN",
                "period_start": "2022-01-01",
                "period_end": "2022-12-31",
                "priorities": [o["priority"].pk],
            }
        ],
        "plans:status": [{"status": "agreed"}, {"status": "closed", "reason": "MATRIX-REASON"}],
        "plans:endorse": [
            {
                "kind": "district",
                "name": "MATRIX-HOKIMIYAT",
                "role": "deputy",
                "endorsed_on": "2022-01-15",
            }
        ],
        "plans:action_create": [_action_payload(o, title="MATRIX-NEW-ACTION")],
        "plans:action_edit": [_action_payload(o, title="MATRIX-EDITED-ACTION")],
        "plans:consultation_create": [_consultation_payload(o, title="MATRIX-NEW-CONSULTATION")],
        "plans:consultation_edit": [_consultation_payload(o, title="MATRIX-EDITED-CONSULTATION")],
        "plans:commitment_add": [
            {"what": "MATRIX-COMMITMENT", "made_by": "Hokimiyat", "side": "authority"}
        ],
        "plans:commitment_action": [
            {"objective": o["objective"].pk, "start_on": "2022-03-01", "due_on": "2022-04-01"}
        ],
        "plans:workplan_import": [{"upload": _workplan_file(o)}],
        "plans:publish": [{"action": "publish"}, {"action": "unpublish"}],
        "plans:update_create": [
            {
                "reported_on": "2022-03-01",
                "text": "MATRIX-UPDATE",
                "status": "on_track",
                "progress": "50",
                "women_18_24": "2",
            }
        ],
        "plans:dispute_create": [{"claimed_status": "dropped", "text": "MATRIX-DISPUTE"}],
        "plans:dispute_resolve": [{"resolution": "MATRIX-RESOLVED"}],
    }
    return payloads.get(name, [{}])


PATCH_PAYLOADS: dict[str, dict[str, Any]] = {
    "api:group-detail": {"description": "MATRIX-PATCHED"},
    "api:member-detail": {"left_on": "2022-03-01", "display_name": "MATRIX-PATCHED"},
}


def body_foreign_payloads(
    name: str, bundle: dict[str, Any], w: World, role: str
) -> list[dict[str, Any]]:
    """Posts to a route about the user's own programme that name a foreign object in the body."""
    p1 = w.p1
    out: list[dict[str, Any]] = []
    if "programme" in bundle:
        p2 = bundle["programme"]
        foreign_group = {
            "name": "MATRIX-FOREIGN-GROUP",
            "kind": CommunityGroup.Kind.COMMUNITY_GROUP,
            "place": w.community_of[p2.pk].pk,
            "facilitating_organisation": w.partner_of[p2.pk].pk,
        }
        out += {
            "communities:create": [foreign_group],
            "api:group-list": [
                {**foreign_group, "programme": p2.slug},
                {**foreign_group, "programme": p1.slug},
            ],
            "places:create": [{"parent": w.district_of[p2.pk].pk, "name_en": "MATRIX-FOREIGN"}],
            "communities:targets": [{"delete": w.target_of[p2.pk].pk}],
            "accounts:team": [
                {
                    "username": w.newcomer.username,  # type: ignore[union-attr]
                    "organisation": w.partner_of[p2.pk].pk,
                    "role": Role.VIEWER,
                },
                {
                    "username": w.newcomer.username,  # type: ignore[union-attr]
                    "organisation": w.partner_of[p1.pk].pk,
                    "role": Role.GROUP_MEMBER,
                    "community_group": bundle["group"].pk,
                },
            ],
        }.get(name, [])
    if "assessment" in bundle and "programme" in bundle:
        foreign_assessment = {
            "title": "MATRIX-FOREIGN-ASSESSMENT",
            "kind": Assessment.Kind.RAPID,
            "places": [w.community_of[bundle["programme"].pk].pk],
        }
        out += {
            "fieldwork:assessment_create": [foreign_assessment],
            "fieldwork:assessment_edit": [foreign_assessment],
            "fieldwork:device_create": [
                {
                    "label": "MATRIX-FOREIGN-DEVICE",
                    "organisation": w.partner_of[p1.pk].pk,
                    "assessments": [bundle["assessment"].pk],
                }
            ],
        }.get(name, [])
    if "device" in bundle and name == "fieldwork:device_create":
        # Another programme's or another partner's organisation, with the own assessment.
        out.append(
            {
                "label": "MATRIX-FOREIGN-DEVICE",
                "organisation": bundle["device"].organisation_id,
                "assessments": [w.own[role]["assessment"].pk],
            }
        )
    if "assessment" in bundle and name in ("drivers:source_create", "drivers:source_edit"):
        out.append(
            {
                "assessment": bundle["assessment"].pk,
                "title": "MATRIX-FOREIGN-SOURCE",
                "kind": "focus_group",
                "language": "en",
                "participants": "2",
                "women": "1",
                "men": "1",
                "text": "MATRIX notes.",
            }
        )
    if "driver_map" in bundle and name == "drivers:map_create":
        out.append(
            {
                "title": "MATRIX-FOREIGN-MAP",
                "perspective": "men",
                "copy_from": bundle["driver_map"].pk,
            }
        )
    if "code" in bundle and name == "drivers:map_suggest":
        out.append({"code": bundle["code"].pk})
    if name in ("plans:action_create", "plans:action_edit"):
        # Another programme's, partner's or group's factor, priority, objective or action.
        own = w.own[role]
        for kind, field_name in (
            ("factor", "factors"),
            ("priority", "priorities"),
            ("objective", "objective"),
            ("action", "parent"),
        ):
            if kind in bundle:
                value = bundle[kind].pk
                out.append(
                    _action_payload(
                        own,
                        title="MATRIX-FOREIGN-ACTION",
                        **{field_name: [value] if field_name.endswith("s") else value},
                    )
                )
    if name in ("plans:consultation_create", "plans:consultation_edit"):
        # Another programme's, partner's or group's group, place, factor or priority.
        own = w.own[role]
        for kind, field_name in (
            ("group", "group"),
            ("place", "place"),
            ("factor", "factors"),
            ("priority", "priorities"),
        ):
            if kind in bundle:
                value = bundle[kind].pk
                out.append(
                    _consultation_payload(
                        own,
                        title="MATRIX-FOREIGN-CONSULTATION",
                        **{field_name: [value] if field_name.endswith("s") else value},
                    )
                )
    if "objective" in bundle and name == "plans:commitment_action":
        out.append({"objective": bundle["objective"].pk, "start_on": "2022-03-01"})
    if name == "plans:workplan_import":
        # Another programme's, partner's or group's factor or priority, by number.
        own = w.own[role]
        if "factor" in bundle:
            out.append({"upload": _workplan_file(own, factor_ids=str(bundle["factor"].pk))})
        if "priority" in bundle:
            out.append({"upload": _workplan_file(own, priority_ids=str(bundle["priority"].pk))})
    if "update" in bundle and name == "plans:dispute_create":
        # Another programme's, partner's or group's update, disputed on the own action.
        out.append(
            {"update": bundle["update"].pk, "claimed_status": "delayed", "text": "MATRIX-FOREIGN"}
        )
    if "priority" in bundle and name == "plans:create":
        out.append(
            {
                "title": "MATRIX-FOREIGN-PLAN",
                "period_start": "2022-01-01",
                "period_end": "2022-12-31",
                "priorities": [bundle["priority"].pk],
            }
        )
    if "code" in bundle and name == "drivers:priority_add":
        out.append(
            {
                "concern": "MATRIX-FOREIGN-CONCERN",
                "severity": "4",
                "affected": "3",
                "urgency": "5",
                "changeable": "2",
                "code": bundle["code"].pk,
            }
        )
    if "assessment" in bundle and name == "drivers:priority_list_create":
        out.append({"title": "MATRIX-FOREIGN-PRIORITIES", "assessment": bundle["assessment"].pk})
    if "code" in bundle and name == "drivers:excerpt_create":
        out.append({"passage": "0", "code": bundle["code"].pk})
    if "code" in bundle and name in ("drivers:code_create", "drivers:code_edit"):
        # A parent from a codebook the user may not change.
        out.append(
            {"name_en": "MATRIX-FOREIGN-CODE", "kind": "driver", "parent": bundle["code"].pk}
        )
    if "code" in bundle and name == "drivers:code_merge":
        out.append({"into": bundle["code"].pk})
    if "assessment" in bundle and name == "drivers:qdpx_import":
        out.append({"assessment": bundle["assessment"].pk})
    if "passage" in bundle and name in ("drivers:assist_accept", "drivers:assist_reject"):
        # A passage of notes the user may not read, with the own code and the foreign one.
        for code in (w.own[role]["code"], bundle.get("code", w.own[role]["code"])):
            out.append({"passage": bundle["passage"].pk, "code": code.pk, "probability": "0.6"})
    if "group" in bundle and name == "api:member-list":
        out.append(
            {
                "group": bundle["group"].pk,
                "sex": "male",
                "age_band": "18_24",
                "joined_on": "2022-02-01",
            }
        )
    return out


# ----------------------------------------------------------------------------------------
# Checking.

SNAPSHOT_MODELS = (
    Programme,
    Programme.partners.through,
    Organisation,
    Place,
    CommunityGroup,
    GroupMember,
    Membership,
    PersonalToken,
    RepresentationTarget,
    Assessment,
    Assessment.places.through,
    Form,
    FormVersion,
    Submission,
    ImportJob,
    DeviceUser,
    DeviceUser.assessments.through,
    IndicatorSet,
    Findings,
    Source,
    Passage,
    RedactionFlag,
    Code,
    Excerpt,
    Suggestion,
    CodeQuality,
    DriverMap,
    Factor,
    Factor.excerpts.through,
    Link,
    Link.excerpts.through,
    PriorityList,
    Priority,
    Consultation,
    Consultation.factors.through,
    Consultation.priorities.through,
    Commitment,
    Report,
    Report.authors.through,
    Section,
    Recommendation,
    Rendering,
    ReportTemplate,
)


def snapshot() -> list[Any]:
    rows: list[Any] = []
    for model in SNAPSHOT_MODELS:
        fields = [f.attname for f in model._meta.concrete_fields]
        rows.append(tuple(model.objects.order_by("pk").values_list(*fields)))
    rows.append(User.objects.order_by("pk").values_list("pk", "username", "is_active"))
    # A failed device sign-in is written to the log of the programme the URL names, by design
    # (a P1 device knocking at P2's collection address): that is the only write it may cause.
    rows.append(AuditEvent.objects.exclude(verb=AuditEvent.Verb.SIGN_IN_FAILED).count())
    return [tuple(r) if not isinstance(r, int) else r for r in rows]


def _leaks(
    body: str, url: str, names: list[str], ids: list[int], typed: frozenset[str] = frozenset()
) -> list[str]:
    # The URL the user asked for may be echoed back (the language switch keeps it), and so
    # may an id the user posted ("Select a valid choice. 7400001 is not one of the available
    # choices."): that reveals nothing the user did not type.
    for echo in (url, quote(url), escape(url)):
        body = body.replace(echo, "")
    found = [f"name {n!r}" for n in names if n in body]
    found += [
        f"id {i}"
        for i in ids
        if str(i) not in typed and re.search(rf"(?<![0-9]){i}(?![0-9])", body)
    ]
    return found


def _typed(data: dict[str, Any] | None) -> frozenset[str]:
    """The values a request posted, as text."""
    values: set[str] = set()
    for value in (data or {}).values():
        values |= {str(v) for v in value} if isinstance(value, list) else {str(value)}
    return frozenset(values)


def _writes(queries: list[dict[str, Any]]) -> bool:
    """Whether any statement but the session's wrote to the database."""
    return any(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE"))
        and "django_session" not in q["sql"]
        for q in queries
    )


@dataclass
class Checker:
    world: World
    violations: list[str] = field(default_factory=list)
    baseline: list[Any] | None = None

    def request(
        self,
        client: Client,
        who: str,
        method: str,
        route: Route,
        url: str,
        data: dict[str, Any] | None,
        *,
        foreign: bool,
        hidden: tuple[list[str], list[int]],
        case: str,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request and record what it broke. ``headers`` carry a device's
        signature; without them an OpenRosa route must refuse (see DEVICE_ROUTES)."""
        # A full snapshot after every request would be slow: take one only when a request
        # wrote something, and compare it with the one before.
        if self.baseline is None:
            self.baseline = snapshot()
        kwargs: dict[str, Any] = {}
        if method != "GET" and route.is_api:
            kwargs = {"data": json.dumps(data or {}), "content_type": "application/json"}
        elif method != "GET":
            kwargs = {"data": data or {}}
        reset_queries()  # the log keeps 9,000 queries: start each request with it empty
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method.lower())(url, headers=headers, **kwargs)
        where = f"{who} {method} {url} [{route.name}, {case}]"
        status = response.status_code
        if status >= 500:
            self.violations.append(f"{where}: answered {status}")
        # A device route refuses a device of another programme as it refuses anyone unsigned.
        refused = (404, 405, 401) if route.name in DEVICE_ROUTES else (404, 405)
        if foreign and case == "foreign object" and status not in refused:
            self.violations.append(f"{where}: a foreign object answered {status}, not 404")
        if route.name in DEVICE_ROUTES and not headers:
            expected = 401 if method in DEVICE_ROUTES[route.name] else 405
            if status != expected or (expected == 401 and "WWW-Authenticate" not in response):
                self.violations.append(
                    f"{where}: answered {status} without a device's credentials, not "
                    f"{expected}{' with a challenge' if expected == 401 else ''}"
                )
        if _writes(queries.captured_queries):
            after = snapshot()
            if foreign and after != self.baseline:
                self.violations.append(f"{where}: the database changed")
            self.baseline = after
        body = (
            b"".join(response).decode("utf-8", "replace")
            if response.streaming
            else (response.content.decode("utf-8", "replace"))
        )
        for leak in _leaks(body, url, *hidden, typed=_typed(data)):
            self.violations.append(f"{where}: the response shows foreign {leak}")
        return response


def _variants(
    route: Route,
    registry: dict[str, dict[str, str]],
    own: dict[str, Any],
    bundles: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], bool]]:
    """(objects, is_foreign) for the user's own objects and every foreign substitution."""
    kinds = {registry[route.name][k] for k in route.kwargs if k != "format"}
    seen: dict[str, tuple[dict[str, Any], bool]] = {}

    def add(objects: dict[str, Any], foreign: bool) -> None:
        key = route.url(_fill(route, registry, objects))
        previous = seen.get(key)
        seen[key] = (objects, foreign or (previous[1] if previous else False))

    add(dict(own), False)
    for bundle in bundles:
        relevant = kinds & set(bundle)
        if not relevant:
            continue
        add({**own, **{k: bundle[k] for k in relevant}}, True)
        for kind in relevant:
            add({**own, kind: bundle[kind]}, True)
    yield from seen.values()


def _fill(
    route: Route, registry: dict[str, dict[str, str]], objects: dict[str, Any]
) -> dict[str, str]:
    mapping = registry.get(route.name, {})
    values = {}
    for kwarg in route.kwargs:
        if kwarg == "format":
            values[kwarg] = "json"
        else:
            kind = mapping[kwarg]
            values[kwarg] = _value(kind, objects[kind])
    return values


def _stay_signed_in(client: Client, user: User) -> None:
    """Sign in again if the last request signed out (the sign-out route does)."""
    if client.session.get("_auth_user_id") != str(user.pk):
        client.force_login(user)


def access_violations(
    world: World,
    *,
    registry: dict[str, dict[str, str]] = KWARG_REGISTRY,
    only: Callable[[Route], bool] | None = None,
) -> list[str]:
    """Walk every route for every role and return what broke the rules (empty: all good)."""
    checker = Checker(world)
    routes = walk_routes()
    names = {route.name for route in routes}
    for stale in sorted(set(registry) - names):
        checker.violations.append(f"{stale} is in the access matrix but no longer a route")
    runnable = []
    for route in routes:
        needed = set(route.kwargs) - {"format"}
        known = registry.get(route.name, {})
        if needed - set(known):
            checker.violations.append(
                f"{route.name} ({route.label}) takes {sorted(needed)}: "
                f"add {route.name} to the access matrix (KWARG_REGISTRY)"
            )
            continue
        if route.label.startswith("collect/") and route.name not in DEVICE_ROUTES:
            checker.violations.append(
                f"{route.name} ({route.label}) is signed by devices: add it to DEVICE_ROUTES"
            )
            continue
        if only is None or only(route):
            runnable.append(route)
    for route in runnable:
        url = route.url(_fill(route, registry, world.own[Role.LEAD]))
        match = resolve(url)
        if match.url_name != route.name.rsplit(":", 1)[-1]:
            checker.violations.append(f"{route.name}: built {url}, which resolves elsewhere")

    # Anonymous visitors.
    anonymous = Client(raise_request_exception=False)
    everything = world.hidden[Role.VIEWER]
    for route in runnable:
        url = route.url(_fill(route, registry, world.own[Role.LEAD]))
        for method in ("GET", "POST"):
            response = checker.request(
                anonymous,
                "anonymous",
                method,
                route,
                url + (GET_QUERIES.get(route.name, "") if method == "GET" else ""),
                {},
                foreign=True,
                hidden=everything,
                case="anonymous",
            )
            if route.name in OPEN_ROUTES or route.name in DEVICE_ROUTES:
                continue  # device routes: checked in Checker.request
            if route.is_api and response.status_code != 401:
                checker.violations.append(
                    f"anonymous {method} {url} [{route.name}]: answered "
                    f"{response.status_code}, not 401"
                )
            if not route.is_api and not (
                response.status_code == 302 and response["Location"].startswith("/accounts/login/")
            ):
                checker.violations.append(
                    f"anonymous {method} {url} [{route.name}]: answered "
                    f"{response.status_code}, not a redirect to the login page"
                )

    # Every role, own and foreign objects, in a savepoint each so roles do not affect
    # one another.
    for role in ROLES:
        user = world.users[role]
        client = Client(raise_request_exception=False)
        client.force_login(user)
        hidden = world.hidden[role]
        with transaction.atomic():
            for route in runnable:
                # A route that deletes its object runs in a savepoint of its own, so that the
                # routes after it still find the object.
                deletes = route.name.endswith("delete")
                with transaction.atomic() if deletes else contextlib.nullcontext():
                    for objects, foreign in _variants(
                        route, registry, world.own[role], world.bundles[role]
                    ):
                        url = route.url(_fill(route, registry, objects))
                        case = "foreign object" if foreign else "own object"
                        response = checker.request(
                            client,
                            role,
                            "GET",
                            route,
                            url + GET_QUERIES.get(route.name, ""),
                            None,
                            foreign=foreign,
                            hidden=hidden,
                            case=case,
                        )
                        if role == Role.LEAD and not foreign and response.status_code == 404:
                            checker.violations.append(
                                f"lead GET {url} [{route.name}]: own object answered 404; "
                                "does KWARG_REGISTRY fill this route right?"
                            )
                        # The format-suffix twin of an API route reaches the same view: reading
                        # it is enough there.
                        methods = [] if "format" in route.kwargs else ["POST"]
                        methods += ["PATCH"] if route.is_api and route.kwargs == ("pk",) else []
                        for method in methods:
                            payloads = (
                                [PATCH_PAYLOADS.get(route.name, {})]
                                if method == "PATCH"
                                else post_payloads(route.name, objects, world, foreign=foreign)
                            )
                            for data in payloads:
                                checker.request(
                                    client,
                                    role,
                                    method,
                                    route,
                                    url,
                                    data,
                                    foreign=foreign,
                                    hidden=hidden,
                                    case=case,
                                )
                                _stay_signed_in(client, user)
                    url = route.url(_fill(route, registry, world.own[role]))
                    for bundle in world.bundles[role] if "format" not in route.kwargs else []:
                        for data in body_foreign_payloads(route.name, bundle, world, role):
                            checker.request(
                                client,
                                role,
                                "POST",
                                route,
                                url,
                                data,
                                foreign=True,
                                hidden=hidden,
                                case="foreign object in the body",
                            )
                            _stay_signed_in(client, user)
                    if deletes:
                        transaction.set_rollback(True)
                if deletes:
                    checker.baseline = None
            transaction.set_rollback(True)
        checker.baseline = None
    device_violations(checker, world, [r for r in runnable if r.name in DEVICE_ROUTES], registry)
    return checker.violations


def _digest(method: str, path: str, username: str) -> dict[str, str]:
    """The Authorization header ODK Collect would send after the server's challenge."""
    md5 = openrosa_auth.md5_hex
    nonce, nc, cnonce = openrosa_auth.new_nonce(), "00000001", "0a4f113b"
    ha1 = openrosa_auth.digest_ha1(username, DEVICE_PASSWORD)
    answer = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{md5(f'{method}:{path}')}")
    return {
        "Authorization": (
            f'Digest username="{username}", realm="{openrosa_auth.REALM}", nonce="{nonce}", '
            f'uri="{path}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}", '
            f'response="{answer}"'
        )
    }


def _instance(form_id: str, instance_id: str) -> dict[str, Any]:
    xml = (
        f'<?xml version="1.0"?><data id="{form_id}" version="1"><district>MATRIX</district>'
        f"<respondent>MATRIX</respondent><meta><instanceID>{instance_id}</instanceID></meta>"
        "</data>"
    )
    return {"xml_submission_file": SimpleUploadedFile("submission.xml", xml.encode(), "text/xml")}


def device_violations(
    checker: Checker,
    world: World,
    routes: list[Route],
    registry: dict[str, dict[str, str]],
) -> None:
    """The OpenRosa routes signed by P1's collection device: its own open form answers, a
    form of P2 (by its id, by P2's address, or named in a submission) or one it is not
    assigned to does not (401 or 404), changes nothing and never appears."""
    device = world.device
    if device is None or not routes:
        return
    client = Client(raise_request_exception=False)
    who = f"device {device.username}"
    with transaction.atomic():
        for route in routes:
            allowed = DEVICE_ROUTES[route.name]
            method = "POST" if "POST" in allowed else "GET"
            for objects, foreign in _variants(
                route, registry, world.device_own, world.device_bundles
            ):
                url = route.url(_fill(route, registry, objects))
                form = objects.get("form", world.device_own["form"])
                data = (
                    _instance(form.form_id, f"uuid:matrix-{form.pk}") if method == "POST" else None
                )
                response = checker.request(
                    client,
                    who,
                    method,
                    route,
                    url,
                    data,
                    foreign=foreign,
                    hidden=world.device_hidden,
                    case="foreign object" if foreign else "own object",
                    headers=_digest(method, url, device.username),
                )
                if not foreign and response.status_code not in (200, 201):
                    checker.violations.append(
                        f"{who} {method} {url} [{route.name}]: own object answered "
                        f"{response.status_code}; is the device signing in right?"
                    )
            if method != "POST":
                continue
            # The device's own address, with a foreign form named in the submission.
            url = route.url(_fill(route, registry, world.device_own))
            for bundle in world.device_bundles:
                if "form" not in bundle:
                    continue
                response = checker.request(
                    client,
                    who,
                    method,
                    route,
                    url,
                    _instance(bundle["form"].form_id, f"uuid:matrix-foreign-{bundle['form'].pk}"),
                    foreign=True,
                    hidden=world.device_hidden,
                    case="foreign object in the body",
                    headers=_digest(method, url, device.username),
                )
                if response.status_code != 404:
                    checker.violations.append(
                        f"{who} {method} {url} [{route.name}]: a submission to "
                        f"{bundle['form'].form_id} answered {response.status_code}, not 404"
                    )
        transaction.set_rollback(True)
    checker.baseline = None


def _report(violations: list[str]) -> str:
    shown = "\n".join(violations[:60])
    more = f"\n… and {len(violations) - 60} more" if len(violations) > 60 else ""
    return f"{len(violations)} access-matrix violations:\n{shown}{more}"


def test_every_route_keeps_foreign_objects_out_of_sight(world: World) -> None:
    violations = access_violations(world)
    assert not violations, _report(violations)


def test_the_walk_covers_pages_api_and_format_suffixes() -> None:
    routes = walk_routes()
    names = {route.name for route in routes}
    assert {"communities:member_edit", "api:group-detail", "api:schema", "core:healthz"} <= names
    suffixed = [r for r in routes if r.name == "api:group-detail" and "format" in r.kwargs]
    assert suffixed, "the format-suffix variant of the router routes is walked"
    assert not any(r.label.startswith(("admin/", "static/")) for r in routes)


# ----------------------------------------------------------------------------------------
# The matrix catches a view written without the selector, and a route nobody registered.


def leaky_group(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = CommunityGroup.objects.get(pk=pk)  # no selector, no policy: the bug on purpose
    return HttpResponse(f"<h1>{escape(group.name)}</h1>")


def forgotten_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return HttpResponse("")


leaky_urls = types.ModuleType("leaky_urls")
leaky_urls.urlpatterns = [  # type: ignore[attr-defined]
    *real_urls.urlpatterns,
    path("p/<slug:slug>/leaky/<int:pk>/", leaky_group, name="leaky"),
    path("p/<slug:slug>/forgotten/<int:pk>/", forgotten_view, name="forgotten"),
]
for _handler in ("handler400", "handler403", "handler404", "handler500"):
    setattr(leaky_urls, _handler, getattr(real_urls, _handler))


@override_settings(ROOT_URLCONF=leaky_urls)
def test_the_matrix_reports_a_view_that_skips_the_selector(world: World) -> None:
    registry = {**KWARG_REGISTRY, "leaky": {"slug": "programme", "pk": "group"}}
    violations = access_violations(
        world, registry=registry, only=lambda route: route.name in ("leaky", "forgotten")
    )
    leaky = [v for v in violations if "[leaky," in v]
    assert any("a foreign object answered 200" in v for v in leaky), _report(violations)
    assert any(f"name 'FOREIGN-GROUP-{TAG}'" in v for v in leaky), _report(violations)
    assert any("add forgotten to the access matrix" in v for v in violations)

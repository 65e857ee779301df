"""Generate the fixtures in this folder: exports of survey submissions in exactly the format
KoboToolbox and ODK Central write them, with the XLSForm each was collected with and the
answers Amniyat should store (``expected.json``). See README.md for what each file is.

Not run by the test suite. It needs things Amniyat does not depend on, so run it from its
own virtual environment, never from Amniyat's:

    python3 -m venv /tmp/formpack-venv
    FORMPACK=git+https://github.com/kobotoolbox/formpack@176f619aba8f9f1cf095147069a506711979687b
    /tmp/formpack-venv/bin/pip install "formpack @ $FORMPACK" pyxform==3.0.0 \\
        python-dateutil==2.9.0.post0 xlsxwriter==3.2.9 openpyxl==3.1.3 xlrd==2.0.1
    git clone https://github.com/kobotoolbox/kpi /tmp/kpi                 # any clone or bare mirror
    git clone https://github.com/getodk/central-backend /tmp/central-backend
    /tmp/formpack-venv/bin/python tests/fieldwork/imports/real/generate.py \\
        --kpi-git /tmp/kpi --central-git /tmp/central-backend [--out DIR] [--verify]

(the versions above are the ones kpi pins in dependencies/pip/requirements.txt at the kpi
commit below, but for formpack itself, whose pinned commit c00683281c was not available:
formpack's main branch at 176f619a was used.)

What it does:

* KoboToolbox cases: the form is written as an XLSForm (openpyxl), read back the way kpi
  imports an XLSForm (``formpack.utils.xls_to_ss_structure.xlsx_to_dicts`` then kpi's
  ``standardize_content``: ``expand_content`` + ``replace_aliases``), deployed the way kpi
  builds its export (``AssetVersion.to_formpack_schema`` and
  ``kobo.apps.reports.report_data.build_formpack``), and exported with formpack's own
  ``Export.to_csv`` / ``Export.to_xlsx`` with the options kpi's
  ``SubmissionExportTaskBase._build_export_options`` passes; CSV lines are written as kpi's
  ``_run_task`` writes them (``line + '\\r\\n'``, UTF-8). The JSON file is the shape of kpi's
  ``/api/v2/assets/<uid>/data.json`` (``count``/``next``/``previous``/``results``).
* ODK Central cases: expected outputs copied verbatim from central-backend's own tests
  (embedded below; ``--verify`` checks that every copied text is still in those tests).
* Legacy KoboToolbox (KoboCAT) CSVs: copied byte for byte from kpi's test fixtures.

``--verify`` also re-runs kpi's own export tests (kpi/tests/test_mock_data_exports.py: the
same forms, submissions and options) through the pipeline above and checks that the output
is exactly what those tests expect, so that the pipeline is known to match kpi.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import io
import json
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import openpyxl
import xlrd
from formpack import FormPack
from formpack.constants import UNSPECIFIED_TRANSLATION, UNTRANSLATED
from formpack.schema.fields import (
    IdCopyField,
    NotesCopyField,
    SubmissionTimeCopyField,
    TagsCopyField,
    ValidationStatusCopyField,
)
from formpack.utils.expand_content import expand_content
from formpack.utils.flatten_content import flatten_content
from formpack.utils.replace_aliases import replace_aliases
from formpack.utils.xls_to_ss_structure import xlsx_to_dicts

KPI_COMMIT = "2e5efb0172e64fc8c8de222039f2aa02c6d6be8e"
CENTRAL_COMMIT = "4f5943d13dd775fcecd2e21f9b8957db885d1ca3"
FORMPACK_COMMIT = "176f619aba8f9f1cf095147069a506711979687b"

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------
# kpi, reproduced (kpi/models/import_export_task.py, kobo/apps/reports/report_data.py,
# kpi/utils/standardize_content.py, kpi/utils/kobo_to_xlsform.py at KPI_COMMIT).

# SubmissionExportTaskBase.COPY_FIELDS
COPY_FIELDS = (
    IdCopyField,
    "_uuid",
    SubmissionTimeCopyField,
    ValidationStatusCopyField,
    NotesCopyField,
    "_status",
    "_submitted_by",
    "__version__",
    TagsCopyField,
    "meta/rootUuid",  # kobo.apps.openrosa.libs.utils.common_tags.META_ROOT_UUID
)
API_LANGUAGE_TO_FORMPACK_LANGUAGE = {"_default": UNTRANSLATED, "_xml": UNSPECIFIED_TRANSLATION}
INFERRED_VERSION_ID_KEY = "__inferred_version__"  # kobo/apps/reports/constants.py
# kpi/utils/standardize_content.py
ALLOWED_TYPES = {
    "score__row": True,
    "rank__level": True,
    "begin_score": ["begin score"],
    "end_score": ["end score"],
    "begin_rank": ["begin rank"],
    "end_rank": ["end rank"],
    "begin_kobomatrix": ["begin kobomatrix"],
    "end_kobomatrix": ["end kobomatrix"],
}

# What kpi's front end sends by default (jsapp/js/components/projectDownloads:
# DEFAULT_EXPORT_SETTINGS and ProjectExportsCreator's payload), with "XML values and
# headers" chosen as the export format.
UI_DEFAULTS_XML = {
    "fields_from_all_versions": True,
    "fields": [],
    "group_sep": "/",
    "hierarchy_in_labels": False,
    "lang": "_xml",
    "multiple_select": "both",
    "include_media_url": True,
}


def kpi_import_xlsform(path: Path) -> dict[str, Any]:
    """An XLSForm as kpi stores it once imported (asset.content)."""
    with path.open("rb") as handle:
        content = xlsx_to_dicts(handle)
    content = {k: v for k, v in content.items() if k in ("survey", "choices", "settings")}
    if isinstance(content.get("settings"), list):
        content["settings"] = content["settings"][0] if content["settings"] else {}
    # standardize_content_in_place
    content.setdefault("settings", {})
    content.setdefault("survey", [])
    expand_content(content, in_place=True)
    replace_aliases(content, in_place=True, allowed_types=ALLOWED_TYPES)
    return content


def to_formpack_schema(content: dict[str, Any], version_uid: str) -> dict[str, Any]:
    """AssetVersion.to_formpack_schema: expand_content(to_xlsform_structure(content,
    move_autonames=True)); build_formpack then sets version_id_key."""
    content = copy.deepcopy(content)
    for row in content.get("survey", []):  # replace_with_autofields
        auto = row.pop("$autoname", None)
        if auto:
            row["name"] = auto
    for row in content.get("choices", []):
        auto = row.pop("$autovalue", None)
        if auto:
            row["name"] = auto
    return {
        "content": expand_content(content),
        "version": version_uid,
        "version_id_key": INFERRED_VERSION_ID_KEY,
    }


def build_formpack(content, version_uid, title, asset_uid, submissions):
    pack = FormPack(
        versions=[to_formpack_schema(content, version_uid)], title=title, id_string=asset_uid
    )
    stream = []
    for submission in copy.deepcopy(submissions):
        submission[INFERRED_VERSION_ID_KEY] = version_uid  # _infer_version_id
        stream.append(submission)
    return pack, stream


def build_export_options(pack: FormPack, data: dict[str, Any]) -> dict[str, Any]:
    """SubmissionExportTaskBase._build_export_options."""
    group_sep = data.get("group_sep", "/")
    multiple_select = data.get("multiple_select", "both")
    translations = pack.available_translations
    lang = data.get("lang") or next(iter(translations), None)
    fields = data.get("fields", [])
    xls_types_as_text = data.get("xls_types_as_text", True)
    include_media_url = data.get("include_media_url", False)
    force_index = not fields or "_index" in fields
    with contextlib.suppress(KeyError):
        lang = API_LANGUAGE_TO_FORMPACK_LANGUAGE[lang]
    tag_cols_for_header = data.get("tag_cols_for_header", ["hxl"])
    hierarchy_in_labels = data.get("hierarchy_in_labels", False)
    if isinstance(hierarchy_in_labels, str):
        hierarchy_in_labels = hierarchy_in_labels.lower() == "true"
    return {
        "versions": pack.versions.keys(),
        "group_sep": group_sep,
        "multiple_select": multiple_select,
        "lang": lang,
        "hierarchy_in_labels": hierarchy_in_labels,
        "copy_fields": COPY_FIELDS,
        "force_index": force_index,
        "tag_cols_for_header": tag_cols_for_header,
        "filter_fields": fields,
        "xls_types_as_text": xls_types_as_text,
        "include_media_url": include_media_url,
    }


def kpi_export(content, version_uid, title, asset_uid, submissions, data) -> bytes:
    """The bytes of the file kpi's SubmissionExportTaskBase._run_task writes."""
    pack, stream = build_formpack(content, version_uid, title, asset_uid, submissions)
    export = pack.export(**build_export_options(pack, data))
    kind = data["type"]
    if kind == "csv":
        out = io.BytesIO()
        for line in export.to_csv(stream):
            out.write((line + "\r\n").encode("utf-8"))
        return out.getvalue()
    if kind == "xls":
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "export.xlsx"
            export.to_xlsx(str(target), stream)
            return target.read_bytes()
    raise ValueError(kind)


def api_data_json(submissions: list[dict[str, Any]]) -> bytes:
    """/api/v2/assets/<uid>/data.json: DRF's paginated list, compact UTF-8 JSON as DRF's
    JSONRenderer writes it (COMPACT_JSON, UNICODE_JSON)."""
    body = OrderedDict(
        [("count", len(submissions)), ("next", None), ("previous", None), ("results", submissions)]
    )
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def mongo_doc(
    *,
    pk: int,
    uuid: str,
    answers: list[tuple[str, Any]],
    submitted: str,
    asset_uid: str,
    version_uid: str,
    formhub_uuid: str,
    submitted_by: str | None = None,
    tags: list[str] | None = None,
    validation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A submission as kpi keeps it (MongoDB document; keys in the order of kpi's
    DataResponse schema: kpi/schema_extensions/v2/data/serializers.py)."""
    doc: dict[str, Any] = OrderedDict()
    doc["_id"] = pk
    doc["formhub/uuid"] = formhub_uuid
    for key, value in answers:
        doc[key] = value
    doc["__version__"] = version_uid
    doc["meta/instanceID"] = f"uuid:{uuid}"
    doc["meta/rootUuid"] = f"uuid:{uuid}"
    doc["_xform_id_string"] = asset_uid
    doc["_uuid"] = uuid
    doc["_attachments"] = []
    doc["_status"] = "submitted_via_web"
    doc["_geolocation"] = [None, None]
    doc["_submission_time"] = submitted
    doc["_tags"] = tags or []
    doc["_notes"] = []
    doc["_validation_status"] = validation or {}
    doc["_submitted_by"] = submitted_by
    return doc


APPROVED = OrderedDict(
    [
        ("timestamp", 1625097600),
        ("uid", "validation_status_approved"),
        ("by_whom", "supervisor1"),
        ("color", "#00ff00"),
        ("label", "Approved"),
    ]
)

# ---------------------------------------------------------------------------------------
# Writing XLSForms and reading sources.


def write_xlsform(path: Path, survey, choices, settings) -> None:
    """An XLSForm workbook: one sheet each, the union of the rows' keys as columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        if not rows:
            continue
        sheet = book.create_sheet(name)
        columns: list[str] = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c) for c in columns])
    book.save(path)


def xls_to_xlsx(data: bytes, path: Path) -> None:
    """An old .xls XLSForm as .xlsx, cell by cell (numbers that are whole written as text, as
    pyxform's own xls reader reads them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = xlrd.open_workbook(file_contents=data)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet in source.sheets():
        target = book.create_sheet(sheet.name)
        for r in range(sheet.nrows):
            row = []
            for c in range(sheet.ncols):
                value = sheet.cell_value(r, c)
                if isinstance(value, float) and value.is_integer():
                    value = str(int(value))
                row.append(value if value != "" else None)
            target.append(row)
    book.save(path)


class Git:
    def __init__(self, path: str | None, commit: str):
        self.path, self.commit = path, commit

    def read(self, name: str) -> bytes:
        if not self.path:
            raise SystemExit(f"needs the repository holding {name} (see --help)")
        # A fixed command reading one object of a pinned commit.
        return subprocess.run(  # noqa: S603
            ["git", "-C", self.path, "show", f"{self.commit}:{name}"],  # noqa: S607
            check=True,
            capture_output=True,
        ).stdout


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, value: Any) -> None:
    write(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")


ABOUT = (
    "Per submission (by instance id): the answers Amniyat should store, by field path as "
    "the XML names it, with choice names (not labels): integer -> int, decimal -> float, "
    "select_multiple -> list of choice names in the order answered, anything else -> the "
    "text as given; unanswered questions absent. A repeat is its path -> a list of "
    "objects, one per repetition, keyed by full paths; a repeat inside a repeat is nested "
    "the same way. submitted_at is the export's submission time in UTC; submitted_by the "
    "submitting account where the file names one. See README.md."
)


def write_expected(folder: Path, value: dict[str, Any]) -> None:
    write_json(folder / "expected.json", {"about": ABOUT, **value})


# ---------------------------------------------------------------------------------------
# Expected answers, from the ground truth (MongoDB documents or XML instances).
#
# Stored as Amniyat stores answers (amniyat/fieldwork/imports/schema.py): integer -> int,
# decimal -> float, select_multiple -> list of choice names, everything else the text as
# given; unanswered questions absent. Repeats: the repeat's path -> a list of objects, one
# per repetition, keyed by full paths; repeats inside repeats nested the same way.

SKIP_KEYS = {"formhub/uuid", "__version__", "meta/instanceID", "meta/rootUuid"}


def typed(kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return float(text)
    if kind == "select_multiple":
        return text.split()
    return text


def answers_from_doc(doc: dict[str, Any], kinds: dict[str, str], repeats: set[str]):
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key.startswith("_") or key in SKIP_KEYS:
            continue
        if key in repeats:
            items = [answers_from_doc(entry, kinds, repeats) for entry in value]
            if items:
                out[key] = items
        elif value not in (None, ""):
            out[key] = typed(kinds.get(key, "text"), value)
    return out


def parse_xml(data: str | bytes) -> ET.Element:
    """An XML instance of the pinned test suites (trusted, small)."""
    return ET.fromstring(data)  # noqa: S314


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def answers_from_xml(element, kinds: dict[str, str], repeats: set[str], prefix: str = ""):
    out: dict[str, Any] = {}
    for child in element:
        path = prefix + local(child.tag)
        if path in ("meta", "formhub"):
            continue
        if path in repeats:
            out.setdefault(path, []).append(answers_from_xml(child, kinds, repeats, path + "/"))
        elif len(child):
            for key, value in answers_from_xml(child, kinds, repeats, path + "/").items():
                if key in out and isinstance(value, list):
                    out[key] += value
                else:
                    out[key] = value
        elif child.text is not None and child.text.strip() != "":
            out[path] = typed(kinds.get(path, "text"), child.text)
    return out


def kobo_time(value: str) -> str:
    """KoboToolbox's _submission_time is UTC without a zone."""
    return value + "Z"


# ---------------------------------------------------------------------------------------
# The KoboToolbox forms and submissions.

ANIMALS_TITLE = "Identificación de animales"
ANIMALS_ASSET = "aX6CUrtnHfZE64CnNdjzuz"
ANIMALS_VERSION = "vTvXj5PzHjNwMxUqAkq4Lq"
ANIMALS_IDS = [2901, 2902, 2903]


def kpi_test_forms(kpi: Git) -> dict[str, Any]:
    """MockDataExportsBase.forms of kpi/tests/test_mock_data_exports.py, read as a literal."""
    tree = ast.parse(kpi.read("kpi/tests/test_mock_data_exports.py").decode("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "MockDataExportsBase":
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and getattr(statement.targets[0], "id", None) == "forms"
                ):
                    return ast.literal_eval(statement.value)
    raise SystemExit("MockDataExportsBase.forms not found")


def animals(kpi: Git):
    """kpi's 'Identificación de animales' test form and its three submissions, with the
    `_id` and `__version__` kpi's mock backend would have added."""
    form = kpi_test_forms(kpi)["Identificación de animales"]
    content = form["content"]
    submissions = []
    for pk, submission in zip(ANIMALS_IDS, form["submissions"], strict=True):
        submission = OrderedDict([("_id", pk), *submission.items()])
        submission["__version__"] = ANIMALS_VERSION
        submissions.append(submission)
    return content, submissions


def animals_xlsform(content: dict[str, Any]):
    """kpi's stored content as an XLSForm (formpack's flatten_content, which kpi uses to
    write a form out), its hxl tags in an `hxl` column, kpi's internal `$` keys left out."""
    flat = flatten_content(copy.deepcopy(content))
    survey, choices = [], []
    for row in flat["survey"]:
        row = {k: v for k, v in row.items() if not k.startswith("$")}
        tags = row.pop("tags", "")
        order = ["type", "name", "label::English", "label::Spanish", "required"]
        out = {k: row[k] for k in order if k in row}
        out.update({k: v for k, v in row.items() if k not in out})
        hxl = " ".join(t[len("hxl:") :] for t in tags.split() if t.startswith("hxl:"))
        if hxl:
            out["hxl"] = hxl
        survey.append(out)
    for row in flat["choices"]:
        choices.append({k: v for k, v in row.items() if not k.startswith("$")})
    settings = [{"form_title": ANIMALS_TITLE, "form_id": ANIMALS_ASSET, "version": ANIMALS_VERSION}]
    return survey, choices, settings


ANIMALS_KINDS = {
    "external_characteristics/What_kind_of_symmetry_do_you_have": "select_multiple",
    "external_characteristics/How_many_segments_does_your_body_have": "integer",
}


def animals_expected(submissions, files):
    return {
        "form": "form.xlsx",
        "files": files,
        "submissions": {
            s["meta/instanceID"]: {
                "submitted_at": kobo_time(s["_submission_time"]),
                "submitted_by": s["_submitted_by"],
                "answers": answers_from_doc(s, ANIMALS_KINDS, set()),
            }
            for s in submissions
        },
    }


# Case 2: a repeat inside a group, with the bookkeeping columns.
HH_TITLE = "Household visits"
HH_ASSET = "aHc6Rk2mPq8vYt3wZn5bUe"
HH_VERSION = "vJp4Qz8sLx2nWc7dRf6tAy"
HH_FORMHUB = "5c7e1f0a9b2d4e6f8a1b3c5d7e9f0a2b"
HH_SURVEY = [
    {"type": "text", "name": "village", "label": "Village", "required": "true"},
    {"type": "date", "name": "visit_date", "label": "Date of visit"},
    {"type": "select_one yes_no", "name": "consent", "label": "Did the household agree?"},
    {"type": "begin_group", "name": "people", "label": "People"},
    {"type": "begin_repeat", "name": "person", "label": "Person"},
    {"type": "text", "name": "name", "label": "Name"},
    {"type": "integer", "name": "age", "label": "Age"},
    {"type": "select_multiple needs", "name": "needs", "label": "Needs"},
    {"type": "end_repeat"},
    {"type": "end_group"},
    {"type": "decimal", "name": "income", "label": "Monthly income"},
]
HH_CHOICES = [
    {"list_name": "yes_no", "name": "1", "label": "Yes"},
    {"list_name": "yes_no", "name": "0", "label": "No"},
    {"list_name": "needs", "name": "water", "label": "Water"},
    {"list_name": "needs", "name": "food", "label": "Food"},
    {"list_name": "needs", "name": "shelter", "label": "Shelter"},
]
HH_KINDS = {
    "people/person/age": "integer",
    "people/person/needs": "select_multiple",
    "income": "decimal",
}
HH_REPEATS = {"people/person"}


def hh_submissions():
    common = {
        "asset_uid": HH_ASSET,
        "version_uid": HH_VERSION,
        "formhub_uuid": HH_FORMHUB,
    }
    return [
        mongo_doc(
            pk=31501,
            uuid="3f9b6c1e-2a4d-4e8f-9b0c-1d2e3f4a5b6c",
            answers=[
                ("village", "Vakhsh"),
                ("visit_date", "2021-06-30"),
                ("consent", "1"),
                (
                    "people/person",
                    [
                        OrderedDict(
                            [
                                ("people/person/name", "Dilnoza"),
                                ("people/person/age", "34"),
                                ("people/person/needs", "water food"),
                            ]
                        ),
                        OrderedDict(
                            [
                                ("people/person/name", "Aziz"),
                                ("people/person/age", "12"),
                            ]
                        ),
                    ],
                ),
                ("income", "1500.5"),
            ],
            submitted="2021-06-30T10:12:56",
            submitted_by="enumerator1",
            tags=["checked"],
            validation=APPROVED,
            **common,
        ),
        mongo_doc(
            pk=31502,
            uuid="7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            answers=[
                ("village", "Bokhtar"),
                ("visit_date", "2021-07-01"),
                ("consent", "1"),
                (
                    "people/person",
                    [
                        OrderedDict(
                            [
                                ("people/person/name", "Rustam"),
                                ("people/person/age", "40"),
                                ("people/person/needs", "shelter"),
                            ]
                        )
                    ],
                ),
                ("income", "980"),
            ],
            submitted="2021-07-01T08:03:11",
            submitted_by="enumerator2",
            **common,
        ),
        mongo_doc(
            pk=31503,
            uuid="b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
            answers=[("village", "Kulob"), ("visit_date", "2021-07-02"), ("consent", "0")],
            submitted="2021-07-02T12:45:00",
            **common,
        ),
    ]


# Case 3: household -> members (repeat) -> incidents (repeat inside the repeat).
NR_TITLE = "Household safety"
NR_ASSET = "aN8tWq3eRy6uIo1pAs4dFg"
NR_VERSION = "vK2mLp9oIu7yTr5eWq3aZx"
NR_FORMHUB = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
NR_SURVEY = [
    {"type": "text", "name": "village", "label": "Village", "required": "true"},
    {"type": "begin_repeat", "name": "members", "label": "Household members"},
    {"type": "text", "name": "member_name", "label": "Name"},
    {"type": "integer", "name": "member_age", "label": "Age"},
    {"type": "begin_repeat", "name": "incidents", "label": "Incidents"},
    {"type": "select_one incident_type", "name": "incident_type", "label": "What happened?"},
    {"type": "date", "name": "incident_date", "label": "When?"},
    {"type": "select_multiple reported_to", "name": "reported_to", "label": "Reported to"},
    {"type": "end_repeat"},
    {"type": "end_repeat"},
]
NR_CHOICES = [
    {"list_name": "incident_type", "name": "theft", "label": "Theft"},
    {"list_name": "incident_type", "name": "violence", "label": "Violence"},
    {"list_name": "incident_type", "name": "fraud", "label": "Fraud"},
    {"list_name": "reported_to", "name": "police", "label": "Police"},
    {"list_name": "reported_to", "name": "elders", "label": "Elders"},
    {"list_name": "reported_to", "name": "family", "label": "Family"},
]
NR_KINDS = {
    "members/member_age": "integer",
    "members/incidents/reported_to": "select_multiple",
}
NR_REPEATS = {"members", "members/incidents"}


def nr_submissions():
    common = {"asset_uid": NR_ASSET, "version_uid": NR_VERSION, "formhub_uuid": NR_FORMHUB}

    def incident(kind, date, reported=None):
        item = OrderedDict(
            [("members/incidents/incident_type", kind), ("members/incidents/incident_date", date)]
        )
        if reported:
            item["members/incidents/reported_to"] = reported
        return item

    return [
        mongo_doc(
            pk=40711,
            uuid="0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e",
            answers=[
                ("village", "Vakhsh"),
                (
                    "members",
                    [
                        OrderedDict(
                            [
                                ("members/member_name", "Dilnoza"),
                                ("members/member_age", "34"),
                                (
                                    "members/incidents",
                                    [
                                        incident("theft", "2021-05-02", "police family"),
                                        incident("fraud", "2021-06-11"),
                                    ],
                                ),
                            ]
                        ),
                        OrderedDict(
                            [("members/member_name", "Aziz"), ("members/member_age", "12")]
                        ),
                    ],
                ),
            ],
            submitted="2021-06-30T10:12:56",
            submitted_by="enumerator1",
            **common,
        ),
        mongo_doc(
            pk=40712,
            uuid="1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
            answers=[
                ("village", "Bokhtar"),
                (
                    "members",
                    [
                        OrderedDict(
                            [
                                ("members/member_name", "Rustam"),
                                ("members/member_age", "40"),
                                (
                                    "members/incidents",
                                    [incident("violence", "2021-04-20", "elders")],
                                ),
                            ]
                        )
                    ],
                ),
            ],
            submitted="2021-07-01T08:03:11",
            submitted_by="enumerator2",
            **common,
        ),
        mongo_doc(
            pk=40713,
            uuid="2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6",
            answers=[("village", "Kulob")],
            submitted="2021-07-02T12:45:00",
            **common,
        ),
    ]


def docs_expected(submissions, kinds, repeats, files):
    return {
        "form": "form.xlsx",
        "files": files,
        "submissions": {
            s["meta/instanceID"]: {
                "submitted_at": kobo_time(s["_submission_time"]),
                "submitted_by": s["_submitted_by"],
                "answers": answers_from_doc(s, kinds, repeats),
            }
            for s in submissions
        },
    }


def authored_xlsform(path: Path, survey, choices, title, asset, version) -> dict[str, Any]:
    settings = [{"form_title": title, "form_id": asset, "version": version}]
    write_xlsform(path, survey, choices, settings)
    return kpi_import_xlsform(path)


# ---------------------------------------------------------------------------------------
# ODK Central, copied from central-backend's tests at CENTRAL_COMMIT.

CENTRAL_BRIEFCASE_TEST = "test/unit/data/briefcase.js"
CENTRAL_SUBMISSIONS_TEST = "test/integration/api/submissions.js"
CENTRAL_XML_DATA = "test/data/xml.js"

# test/unit/data/briefcase.js, 'should handle nested repeats, with PARENT_KEY/KEY'.
MULTIREPEAT_FILES = {
    "multirepeat.csv": """SubmissionDate,meta-instanceID,name,age,KEY,SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion
2018-01-01T00:00:00.000Z,one,Alice,30,one,,,0,0,,,,0,version
2018-01-01T00:00:00.000Z,two,Bob,34,two,,,0,0,,,,0,version
2018-01-01T00:00:00.000Z,three,Chelsea,38,three,,,0,0,,,,0,version
""",  # noqa: E501
    "multirepeat-child.csv": """name,age,PARENT_KEY,KEY
Billy,4,two,two/children/child[1]
Blaine,6,two,two/children/child[2]
Baker,7,two,two/children/child[3]
Candace,2,three,three/children/child[1]
""",
    "multirepeat-toy.csv": """name,PARENT_KEY,KEY
R2-D2,two/children/child[1],two/children/child[1]/toy[1]
BB-8,two/children/child[2],two/children/child[2]/toy[1]
Porg plushie,two/children/child[2],two/children/child[2]/toy[2]
Millennium Falcon,three/children/child[1],three/children/child[1]/toy[1]
X-Wing,three/children/child[1],three/children/child[1]/toy[2]
Pod racer,three/children/child[1],three/children/child[1]/toy[3]
""",
}
# The same test's instances: instance(id, data) wraps data as below.
MULTIREPEAT_INSTANCES = {
    "one": "<name>Alice</name><age>30</age>",
    "two": "<name>Bob</name><age>34</age><children><child><name>Billy</name><age>4</age><toy><name>R2-D2</name></toy></child><child><name>Blaine</name><age>6</age><toy><name>BB-8</name></toy><toy><name>Porg plushie</name></toy></child><child><name>Baker</name><age>7</age></child></children>",  # noqa: E501
    "three": "<name>Chelsea</name><age>38</age><children><child><name>Candace</name><toy><name>Millennium Falcon</name></toy><toy><name>X-Wing</name></toy><toy><name>Pod racer</name></toy><age>2</age></child></children>",  # noqa: E501
}
MULTIREPEAT_SURVEY = [
    {"type": "text", "name": "name", "label": "What is your name?"},
    {"type": "integer", "name": "age", "label": "What is your age?"},
    {"type": "begin group", "name": "children"},
    {"type": "begin repeat", "name": "child", "label": "Child"},
    {"type": "text", "name": "name", "label": "What is the child's name?"},
    {"type": "integer", "name": "age", "label": "What is the child's age?"},
    {"type": "begin repeat", "name": "toy", "label": "Child"},
    {"type": "text", "name": "name", "label": "What is the toy's name?"},
    {"type": "end repeat"},
    {"type": "end repeat"},
    {"type": "end group"},
]

# test/integration/api/submissions.js, '.csv' 'should split select multiple values if
# ?splitSelectMultiples=true' (GET .../forms/selectMultiple/submissions.csv
# ?splitSelectMultiples=true):
# lines[0] exactly; lines[1] and lines[2] from character 24 on (the test cuts off the
# SubmissionDate, which is the time the test ran).
SELECT_MULTIPLE_HEADER = "SubmissionDate,meta-instanceID,q1,q1/a,q1/b,g1-q2,g1-q2/m,g1-q2/x,g1-q2/y,g1-q2/z,KEY,SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion"  # noqa: E501
SELECT_MULTIPLE_ROWS = [
    ("2018-01-01T00:00:01.000Z", ",two,b,0,1,m x,1,1,0,0,two,5,Alice,0,0,,,,0,"),
    ("2018-01-01T00:00:00.000Z", ",one,a b,1,1,x y z,0,1,1,1,one,5,Alice,0,0,,,,0,"),
]
# test/data/xml.js, instances.selectMultiple (instance(formId, instanceId, data)).
SELECT_MULTIPLE_INSTANCES = {
    "one": "<q1>a b</q1><g1><q2>x y z</q2></g1>",
    "two": "<q1>b</q1><g1><q2>m x</q2></g1>",
}
SELECT_MULTIPLE_SURVEY = [
    {"type": "select_multiple q1", "name": "q1", "label": "one"},
    {"type": "begin group", "name": "g1", "label": "group"},
    {"type": "select_multiple q2", "name": "q2", "label": "two"},
    {"type": "end group"},
]
SELECT_MULTIPLE_CHOICES = [
    {"list_name": "q1", "name": "a", "label": "a"},
    {"list_name": "q1", "name": "b", "label": "b"},
    {"list_name": "q2", "name": "m", "label": "m"},
    {"list_name": "q2", "name": "x", "label": "x"},
    {"list_name": "q2", "name": "y", "label": "y"},
    {"list_name": "q2", "name": "z", "label": "z"},
]


def central_instance(form_id: str, instance_id: str, data: str) -> str:
    """test/data/xml.js and test/unit/data/briefcase.js: instance()."""
    return f'<data id="{form_id}"><meta><instanceID>{instance_id}</instanceID></meta>{data}</data>'


def central_time(value: str) -> str:
    return value.replace(".000Z", "Z")


# ---------------------------------------------------------------------------------------
# Legacy KoboCAT CSV exports, copied from kpi's tests at KPI_COMMIT.

LEGACY = {
    "nested_repeats": {
        "form": "kobo/apps/openrosa/apps/viewer/tests/fixtures/nested_repeats/nested_repeats.xls",
        "csv": "kobo/apps/openrosa/apps/viewer/tests/fixtures/nested_repeats/nested_repeats.csv",
        "instances": [
            "kobo/apps/openrosa/apps/viewer/tests/fixtures/nested_repeats/instances/nested_repeats_01.xml",
            "kobo/apps/openrosa/apps/viewer/tests/fixtures/nested_repeats/instances/nested_repeats_02.xml",
        ],
        "kinds": {
            "kids/kids_details/kids_age": "integer",
            "kids/nested_group/nested_age": "integer",
            "web_browsers": "select_multiple",
        },
        "repeats": {"kids/kids_details", "kids/kids_details/kids_immunization"},
        "submitted": "2013-02-18T15:54:01Z",
    },
    "tutorial_w_repeats": {
        "form": "kobo/apps/openrosa/apps/main/tests/fixtures/csv_export/tutorial_w_repeats.xls",
        "csv": "kobo/apps/openrosa/apps/main/tests/fixtures/csv_export/tutorial_w_repeats.csv",
        "instances": [
            "kobo/apps/openrosa/apps/main/tests/fixtures/csv_export/tutorial_w_repeats.xml"
        ],
        "kinds": {
            "age": "integer",
            "children/childs_age": "integer",
            "web_browsers": "select_multiple",
        },
        "repeats": {"children"},
        "submitted": "2013-02-18T15:54:01Z",
    },
}
TRANSPORT_DIR = "kobo/apps/openrosa/apps/main/tests/fixtures/transportation"
TRANSPORT_INSTANCES = [
    # (instance file, _submission_time from test_process.py's uuid_to_submission_times)
    ("transport_2011-07-25_19-05-49", "2013-02-14T15:37:21"),
    ("transport_2011-07-25_19-05-36", "2013-02-14T15:37:22"),
    ("transport_2011-07-25_19-06-01", "2013-02-14T15:37:23"),
    ("transport_2011-07-25_19-06-14", "2013-02-14T15:37:24"),
]


def instance_id(root) -> str:
    for element in root.iter():
        if local(element.tag) == "instanceID":
            return element.text.strip()
    raise ValueError("no instanceID")


# ---------------------------------------------------------------------------------------
# The cases.


def case_kobo_hxl_csv(out: Path, kpi: Git) -> None:
    folder = out / "kobo_hxl_csv"
    content, submissions = animals(kpi)
    survey, choices, settings = animals_xlsform(content)
    write_xlsform(folder / "form.xlsx", survey, choices, settings)
    stored = kpi_import_xlsform(folder / "form.xlsx")
    base = dict(UI_DEFAULTS_XML, type="csv")
    files = {}
    for name, data in (
        ("export.csv", base),
        ("export_groups.csv", dict(base, hierarchy_in_labels=True)),
    ):
        write(
            folder / name,
            kpi_export(stored, ANIMALS_VERSION, ANIMALS_TITLE, ANIMALS_ASSET, submissions, data),
        )
        files[name] = {
            "format": "kobo-csv",
            "export_settings": data,
            "second_header_row": "HXL hashtags",
        }
    write_expected(folder, animals_expected(submissions, files))


def case_kobo_labels(out: Path, kpi: Git) -> None:
    folder = out / "kobo_labels"
    content, submissions = animals(kpi)
    survey, choices, settings = animals_xlsform(content)
    write_xlsform(folder / "form.xlsx", survey, choices, settings)
    stored = kpi_import_xlsform(folder / "form.xlsx")
    files = {}
    # The options of kpi's own tests: test_csv_export_default_options,
    # test_xls_export_english_labels, test_csv_export_spanish_labels,
    # test_csv_export_hierarchy_in_labels.
    for name, data in (
        ("export_labels.csv", {"type": "csv"}),
        ("export_labels.xlsx", {"type": "xls", "lang": "English"}),
        ("export_labels_spanish.csv", {"type": "csv", "lang": "Spanish"}),
        ("export_labels_hierarchy.csv", {"type": "csv", "hierarchy_in_labels": "true"}),
    ):
        write(
            folder / name,
            kpi_export(stored, ANIMALS_VERSION, ANIMALS_TITLE, ANIMALS_ASSET, submissions, data),
        )
        files[name] = {
            "format": "kobo-xlsx" if data["type"] == "xls" else "kobo-csv",
            "export_settings": data,
            "second_header_row": "HXL hashtags",
            "headers_and_choices": "labels",
        }
    write_expected(folder, animals_expected(submissions, files))


def case_kobo_xlsx_repeat_meta(out: Path) -> None:
    folder = out / "kobo_xlsx_repeat_meta"
    stored = authored_xlsform(
        folder / "form.xlsx", HH_SURVEY, HH_CHOICES, HH_TITLE, HH_ASSET, HH_VERSION
    )
    submissions = hh_submissions()
    base = dict(UI_DEFAULTS_XML, type="xls", xls_types_as_text=False)
    files = {}
    for name, data in (
        ("export.xlsx", base),
        ("export_groups.xlsx", dict(base, hierarchy_in_labels=True)),
    ):
        write(folder / name, kpi_export(stored, HH_VERSION, HH_TITLE, HH_ASSET, submissions, data))
        files[name] = {"format": "kobo-xlsx", "export_settings": data}
    write_expected(folder, docs_expected(submissions, HH_KINDS, HH_REPEATS, files))


def case_kobo_nested_repeats(out: Path) -> None:
    folder = out / "kobo_nested_repeats"
    stored = authored_xlsform(
        folder / "form.xlsx", NR_SURVEY, NR_CHOICES, NR_TITLE, NR_ASSET, NR_VERSION
    )
    submissions = nr_submissions()
    data = dict(UI_DEFAULTS_XML, type="xls", xls_types_as_text=False)
    write(
        folder / "export.xlsx",
        kpi_export(stored, NR_VERSION, NR_TITLE, NR_ASSET, submissions, data),
    )
    write(folder / "data.json", api_data_json(submissions))
    files = {
        "export.xlsx": {"format": "kobo-xlsx", "export_settings": data},
        "data.json": {"format": "kobo-json", "endpoint": "/api/v2/assets/<uid>/data.json"},
    }
    write_expected(folder, docs_expected(submissions, NR_KINDS, NR_REPEATS, files))


def case_odk_nested_repeats(out: Path) -> None:
    folder = out / "odk_nested_repeats"
    write_xlsform(
        folder / "form.xlsx",
        MULTIREPEAT_SURVEY,
        [],
        [{"form_title": "multirepeat", "form_id": "multirepeat", "name": "data"}],
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in MULTIREPEAT_FILES.items():
            info = zipfile.ZipInfo(name, date_time=(2018, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    write(folder / "multirepeat.csv.zip", buffer.getvalue())
    kinds = {"age": "integer", "children/child/age": "integer"}
    repeats = {"children/child", "children/child/toy"}
    submissions = {}
    for key, data in MULTIREPEAT_INSTANCES.items():
        root = parse_xml(central_instance("data", key, data))
        submissions[instance_id(root)] = {
            "submitted_at": "2018-01-01T00:00:00Z",
            "submitted_by": None,
            "answers": answers_from_xml(root, kinds, repeats),
        }
    write_expected(
        folder,
        {
            "form": "form.xlsx",
            "files": {"multirepeat.csv.zip": {"format": "odk-zip"}},
            "submissions": submissions,
        },
    )


def case_odk_split_select_multiple_in_group(out: Path) -> None:
    folder = out / "odk_split_select_multiple_in_group"
    write_xlsform(
        folder / "form.xlsx",
        SELECT_MULTIPLE_SURVEY,
        SELECT_MULTIPLE_CHOICES,
        [{"form_title": "selectMultiple", "form_id": "selectMultiple", "name": "data"}],
    )
    lines = [SELECT_MULTIPLE_HEADER] + [date + rest for date, rest in SELECT_MULTIPLE_ROWS]
    write(folder / "selectMultiple.csv", "\n".join(lines) + "\n")
    kinds = {"q1": "select_multiple", "g1/q2": "select_multiple"}
    dates = {rest.split(",")[1]: date for date, rest in SELECT_MULTIPLE_ROWS}
    submissions = {}
    for key in ("one", "two"):
        root = parse_xml(central_instance("selectMultiple", key, SELECT_MULTIPLE_INSTANCES[key]))
        submissions[key] = {
            "submitted_at": central_time(dates[key]),
            "submitted_by": "Alice",
            "answers": answers_from_xml(root, kinds, set()),
        }
    write_expected(
        folder,
        {
            "form": "form.xlsx",
            "files": {
                "selectMultiple.csv": {
                    "format": "odk-csv",
                    "endpoint": "/v1/projects/1/forms/selectMultiple/submissions.csv"
                    "?splitSelectMultiples=true",
                }
            },
            "submissions": submissions,
        },
    )


def case_kobo_legacy_csv(out: Path, kpi: Git) -> None:
    folder = out / "kobo_legacy_csv"
    files = {}
    submissions = {}
    for name, spec in LEGACY.items():
        xls_to_xlsx(kpi.read(spec["form"]), folder / f"{name}.xlsx")
        write(folder / f"{name}.csv", kpi.read(spec["csv"]))
        files[f"{name}.csv"] = {"format": "kobo-csv", "form": f"{name}.xlsx"}
        for path in spec["instances"]:
            root = parse_xml(kpi.read(path))
            submissions[instance_id(root)] = {
                "file": f"{name}.csv",
                "submitted_at": spec["submitted"],
                "submitted_by": None,
                "answers": answers_from_xml(root, spec["kinds"], spec["repeats"]),
            }
    write_expected(folder, {"files": files, "submissions": submissions})


def case_loop(out: Path, kpi: Git) -> None:
    folder = out / "loop"
    xls_to_xlsx(kpi.read(f"{TRANSPORT_DIR}/transportation.xls"), folder / "form.xlsx")
    # Byte for byte what KoboCAT's CSV export gave for the first instance submitted at
    # 2013-02-18T15:54:01Z (kobocat onadata/apps/viewer/tests/test_exports.py,
    # test_csv_http_response, until kobocat e469573e removed the test in July 2023).
    write(
        folder / "transportation.csv",
        kpi.read("kobo/apps/openrosa/apps/viewer/tests/fixtures/transportation.csv"),
    )
    # All four instances; only ever compared cell by cell, by a test skipped for years
    # and since removed (see README.md).
    write(
        folder / "transportation_4_submissions.csv",
        kpi.read(f"{TRANSPORT_DIR}/transportation.csv"),
    )
    kinds = {
        "transport/available_transportation_types_to_referral_facility": "select_multiple",
    }
    loop = "transport/loop_over_transport_types_frequency"
    submissions = {}
    for name, submitted in TRANSPORT_INSTANCES:
        root = parse_xml(kpi.read(f"{TRANSPORT_DIR}/instances/{name}/{name}.xml"))
        answers = answers_from_xml(root, kinds, set())
        lost = {}
        # What the CSV cannot carry: the loop's 'other' pass (no column for it) and a
        # select_multiple answer that is none of the choices (every choice column False).
        key = f"{loop}/other/frequency_to_referral_facility"
        if key in answers:
            lost[key] = answers.pop(key)
        key = "transport/available_transportation_types_to_referral_facility"
        if answers.get(key) == ["none"]:
            lost[key] = answers.pop(key)
        entry = {
            "submitted_at": submitted + "Z",
            "submitted_by": None,
            "answers": answers,
        }
        if lost:
            entry["in_the_xml_but_not_in_the_csv"] = lost
        submissions[instance_id(root)] = entry
    write_expected(
        folder,
        {
            "form": "form.xlsx",
            "files": {
                "transportation.csv": {
                    "format": "kobo-csv",
                    "exporter": "KoboCAT legacy CSV",
                    "submissions": ["uuid:5b2cc313-fc09-437e-8149-fcd32f695d41"],
                    "submitted_at": {
                        "uuid:5b2cc313-fc09-437e-8149-fcd32f695d41": "2013-02-18T15:54:01Z"
                    },
                },
                "transportation_4_submissions.csv": {
                    "format": "kobo-csv",
                    "exporter": "KoboCAT legacy CSV (formhub era, unverified layout)",
                    "submissions": list(submissions),
                },
            },
            "submissions": submissions,
        },
    )


# ---------------------------------------------------------------------------------------
# --verify: this pipeline against kpi's own export tests, and the copied Central texts.


def _eval_expected(node, names):
    """A literal of kpi's tests, where f-strings may name `submissions[i]["_id"]` and
    `version_uid`, and `self.asset.name` / `asset.name` a dict key: evaluated without
    running any code from the file."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        return [_eval_expected(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {
            _eval_expected(k, names): _eval_expected(v, names)
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.JoinedStr):
        return "".join(str(_eval_expected(v, names)) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _eval_expected(node.value, names)
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.Attribute) and node.attr == "name":
        return names["asset.name"]
    if isinstance(node, ast.Subscript):
        return _eval_expected(node.value, names)[_eval_expected(node.slice, names)]
    raise ValueError(ast.dump(node))


def _kpi_test_expectation(tree, function: str, variable: str, names):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and getattr(statement.targets[0], "id", None) == variable
                ):
                    return _eval_expected(statement.value, names)
    raise SystemExit(f"{function}.{variable} not found")


def _xlsx_rows(data: bytes) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {
        sheet.title: [[c.value if c.value is not None else "" for c in row] for row in sheet.rows]
        for sheet in book.worksheets
    }


def verify(kpi: Git, central: Git) -> None:
    forms = kpi_test_forms(kpi)
    tree = ast.parse(kpi.read("kpi/tests/test_mock_data_exports.py").decode("utf-8"))
    content, submissions = animals(kpi)
    names = {
        "submissions": submissions,
        "version_uid": ANIMALS_VERSION,
        "asset.name": ANIMALS_TITLE,
    }
    failures = 0
    for function, data in (
        ("test_csv_export_default_options", {"type": "csv"}),
        ("test_csv_export_english_labels", {"type": "csv", "lang": "English"}),
        ("test_csv_export_spanish_labels", {"type": "csv", "lang": "Spanish"}),
        (
            "test_csv_export_english_labels_no_hxl",
            {"type": "csv", "lang": "English", "tag_cols_for_header": []},
        ),
        (
            "test_csv_export_english_labels_group_sep",
            {"type": "csv", "lang": "English", "group_sep": "%"},
        ),
        ("test_csv_export_hierarchy_in_labels", {"type": "csv", "hierarchy_in_labels": "true"}),
    ):
        expected = _kpi_test_expectation(tree, function, "expected_lines", names)
        for source in ("kpi content", "form.xlsx round trip"):
            stored = content
            if source != "kpi content":
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "form.xlsx"
                    write_xlsform(path, *animals_xlsform(content))
                    stored = kpi_import_xlsform(path)
            got = kpi_export(
                stored, ANIMALS_VERSION, ANIMALS_TITLE, ANIMALS_ASSET, submissions, data
            )
            wanted = "".join(line + "\r\n" for line in expected).encode("utf-8")
            ok = got == wanted
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} kpi {function} ({source})")
    for function, data, form_name in (
        (
            "test_xls_export_english_labels",
            {"type": "xls", "lang": "English"},
            "Identificación de animales",
        ),
        (
            "test_xls_export_multiple_select_summary",
            {"type": "xls", "lang": "English", "multiple_select": "summary"},
            "Identificación de animales",
        ),
        ("test_xls_export_repeat_groups", {"type": "xls"}, "Simple repeat group"),
    ):
        form = forms[form_name]
        subs = []
        for number, submission in enumerate(form["submissions"]):
            submission = OrderedDict([("_id", 3000 + number), *submission.items()])
            submission["__version__"] = ANIMALS_VERSION
            subs.append(submission)
        form_content = form["content"]
        if form_name == "Simple repeat group":  # kpi's autoname gives these rows names
            form_content = copy.deepcopy(form_content)
            for row in form_content["survey"]:
                if "name" not in row and row.get("label"):
                    row["$autoname"] = row["label"][0]
        local_names = dict(names, submissions=subs, **{"asset.name": form_name})
        expected = _kpi_test_expectation(tree, function, "expected_data", local_names)
        got = _xlsx_rows(kpi_export(form_content, ANIMALS_VERSION, form_name, "aUid", subs, data))
        ok = got == expected
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} kpi {function}")
        if not ok:
            print(json.dumps(got, default=str)[:2000])
            print(json.dumps(expected, default=str)[:2000])
    briefcase = central.read(CENTRAL_BRIEFCASE_TEST).decode("utf-8")
    for name, text in MULTIREPEAT_FILES.items():
        ok = f"`{text}`" in briefcase
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} central {CENTRAL_BRIEFCASE_TEST}: {name}")
    for data in MULTIREPEAT_INSTANCES.values():
        ok = data in briefcase
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} central {CENTRAL_BRIEFCASE_TEST}: instance")
    integration = central.read(CENTRAL_SUBMISSIONS_TEST).decode("utf-8")
    for text in [SELECT_MULTIPLE_HEADER] + [rest for _date, rest in SELECT_MULTIPLE_ROWS]:
        ok = f"'{text}'" in integration
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} central {CENTRAL_SUBMISSIONS_TEST}: {text[:40]}")
    xml_data = central.read(CENTRAL_XML_DATA).decode("utf-8")
    for key, data in SELECT_MULTIPLE_INSTANCES.items():
        ok = f"instance('selectMultiple', '{key}', '{data}')" in xml_data
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} central {CENTRAL_XML_DATA}: selectMultiple.{key}")
    if failures:
        raise SystemExit(f"{failures} check(s) failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kpi-git", help="a clone (or bare mirror) of kobotoolbox/kpi")
    parser.add_argument("--central-git", help="a clone of getodk/central-backend")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--verify", action="store_true", help="check against the sources")
    args = parser.parse_args()
    kpi = Git(args.kpi_git, KPI_COMMIT)
    central = Git(args.central_git, CENTRAL_COMMIT)
    if args.verify:
        verify(kpi, central)
    out = args.out
    case_kobo_hxl_csv(out, kpi)
    case_kobo_xlsx_repeat_meta(out)
    case_kobo_nested_repeats(out)
    case_odk_nested_repeats(out)
    case_odk_split_select_multiple_in_group(out)
    case_loop(out, kpi)
    case_kobo_labels(out, kpi)
    case_kobo_legacy_csv(out, kpi)
    print(f"written under {out}")


if __name__ == "__main__":
    main()

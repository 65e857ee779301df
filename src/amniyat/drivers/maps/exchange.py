"""Driver maps in and out: GraphML (for networkx, Gephi, yEd and PRSM) and a pair of CSV
files, one row per factor and one per link, in the shape Kumu imports (elements: ``Label``
first, then ``Type``, ``Description``, ``Tags``; connections: ``From``, ``To``, ``Type``,
``Strength``) and PRSM reads from its "Factors" and "Links" sheets (``Label``, ``Description``,
``x``, ``y``; ``From``, ``To``, ``Description``). Links name their factors by label, which is
unique on a map.

Imports are checked whole before anything is written: every problem is reported with its file,
row and field, and either every factor and link is saved (in one transaction) or none is.
XML is parsed with defusedxml first, so a document with a DTD or entities never reaches the
GraphML reader. Text a spreadsheet would run as a formula is exported with a quote in front,
which the import takes off again.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.archives import ArchiveRefused, checked_members, member_bytes
from amniyat.core.cells import CellWriter
from amniyat.core.text import format_list, format_number
from amniyat.drivers.maps import services as maps
from amniyat.drivers.maps.selectors import EvidenceIds, map_evidence_ids
from amniyat.drivers.models import Code, DriverMap, Factor, Link
from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.imports.convert import unneutralise

if TYPE_CHECKING:
    from django.http import HttpRequest

    from amniyat.accounts.models import Programme, User

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_FACTORS = 1000
MAX_LINKS = 5000
MAX_ZIP_MEMBERS = 10
PROBLEMS_MAX = 200
NODE_COLUMNS = ("Label", "Type", "Description", "Tags", "Code", "Indicators", "Excerpts", "x", "y")
EDGE_COLUMNS = ("From", "To", "Type", "Strength", "Description", "Indicators", "Excerpts")
SEPARATOR = "|"  # Kumu's separator of several values in one cell


@dataclass(frozen=True)
class ImportProblem:
    file: str
    row: int | None  # 1 is the header row of a CSV; for GraphML the n-th node or edge
    field: str
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(_("row {n}").format(n=self.row))
        if self.field:
            where.append(self.field)
        return f"{', '.join(where)}: {self.message}"


class MapImportError(Exception):
    """The files could not be imported; nothing was saved."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:5]))
        self.problems = problems


@dataclass
class FactorRow:
    file: str
    row: int
    label: str
    kind: str
    note: str = ""
    code: Code | None = None
    x: float | None = None
    y: float | None = None
    indicator_keys: list[str] = field(default_factory=list)
    excerpt_ids: list[int] = field(default_factory=list)


@dataclass
class LinkRow:
    file: str
    row: int
    source: str  # labels
    target: str
    kind: str = Link.Kind.CAUSES
    strength: int = 2
    note: str = ""
    indicator_keys: list[str] = field(default_factory=list)
    excerpt_ids: list[int] = field(default_factory=list)


@dataclass
class MapData:
    factors: list[FactorRow] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    driver_map: DriverMap
    factors_added: int
    factors_updated: int
    links_added: int
    links_updated: int


# ----------------------------------------------------------------------------------------
# Export.


def _joined(values: Iterable[Any]) -> str:
    return SEPARATOR.join(str(v) for v in values)


def _map_rows(
    driver_map: DriverMap,
    visible_excerpts: set[int],
    evidence: EvidenceIds | None = None,
    *,
    factors: bool = True,
    links: bool = True,
) -> tuple[list[Factor], list[Link], dict[int, list[int]], dict[int, list[int]]]:
    """The map's factors and links (those asked for), and the ids of the visible excerpts of
    each. The excerpts are named by id, read from the join tables (``evidence``, when the
    caller has read them already): their rows, with memos and reviews to decrypt, are not."""
    by_factor, by_link = evidence if evidence is not None else map_evidence_ids(driver_map)
    factor_rows = list(driver_map.factors.select_related("code").order_by("pk")) if factors else []
    link_rows = (
        list(driver_map.links.select_related("source", "target").order_by("pk")) if links else []
    )
    factor_evidence = {
        f.pk: sorted(pk for pk in by_factor.get(f.pk, ()) if pk in visible_excerpts)
        for f in factor_rows
    }
    link_evidence = {
        k.pk: sorted(pk for pk in by_link.get(k.pk, ()) if pk in visible_excerpts)
        for k in link_rows
    }
    return factor_rows, link_rows, factor_evidence, link_evidence


def export_graphml(
    driver_map: DriverMap, *, visible_excerpts: set[int], evidence: EvidenceIds | None = None
) -> bytes:
    """The map as GraphML: nodes ``f<id>`` with ``label``, ``kind``, ``code``, ``note``, ``x``,
    ``y``, ``indicator_keys`` and ``excerpts`` (ids, ``|``-separated; only those in
    ``visible_excerpts``); edges with ``kind``, ``strength``, ``note``, ``indicator_keys`` and
    ``excerpts``."""
    factors, links, factor_evidence, link_evidence = _map_rows(
        driver_map, visible_excerpts, evidence
    )
    graph = nx.DiGraph(
        title=driver_map.title,
        perspective=driver_map.perspective,
        programme=driver_map.programme.slug,
    )
    for factor in factors:
        graph.add_node(
            f"f{factor.pk}",
            factor_id=factor.pk,
            label=factor.label,
            kind=factor.kind,
            code=factor.code.key if factor.code else "",
            note=factor.note,
            x=float(factor.x),
            y=float(factor.y),
            indicator_keys=_joined(factor.indicator_keys),
            excerpts=_joined(factor_evidence[factor.pk]),
        )
    for link in links:
        graph.add_edge(
            f"f{link.source_id}",
            f"f{link.target_id}",
            link_id=link.pk,
            kind=link.kind,
            strength=int(link.strength),
            note=link.note,
            indicator_keys=_joined(link.indicator_keys),
            excerpts=_joined(link_evidence[link.pk]),
        )
    out = io.BytesIO()
    nx.write_graphml(graph, out, encoding="utf-8")
    return out.getvalue()


def _csv_text(header: tuple[str, ...], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = CellWriter.for_csv(out, lineterminator="\r\n")
    writer.row(header)
    for row in rows:
        writer.row(row)
    return out.getvalue()


def export_csv_nodes(
    driver_map: DriverMap, *, visible_excerpts: set[int], evidence: EvidenceIds | None = None
) -> str:
    factors, _links, shown, _le = _map_rows(driver_map, visible_excerpts, evidence, links=False)
    return _csv_text(
        NODE_COLUMNS,
        (
            [
                f.label,
                f.kind,
                f.note,
                f.code.key if f.code else "",
                f.code.key if f.code else "",
                _joined(f.indicator_keys),
                _joined(shown[f.pk]),
                f.x,
                f.y,
            ]
            for f in factors
        ),
    )


def export_csv_edges(
    driver_map: DriverMap, *, visible_excerpts: set[int], evidence: EvidenceIds | None = None
) -> str:
    _factors, links, _fe, shown = _map_rows(driver_map, visible_excerpts, evidence, factors=False)
    return _csv_text(
        EDGE_COLUMNS,
        (
            [
                k.source.label,
                k.target.label,
                k.kind,
                k.strength,
                k.note,
                _joined(k.indicator_keys),
                _joined(shown[k.pk]),
            ]
            for k in links
        ),
    )


def export_csv_zip(
    driver_map: DriverMap, *, visible_excerpts: set[int], evidence: EvidenceIds | None = None
) -> bytes:
    evidence = evidence if evidence is not None else map_evidence_ids(driver_map)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "elements.csv",
            export_csv_nodes(driver_map, visible_excerpts=visible_excerpts, evidence=evidence),
        )
        archive.writestr(
            "connections.csv",
            export_csv_edges(driver_map, visible_excerpts=visible_excerpts, evidence=evidence),
        )
    return out.getvalue()


# ----------------------------------------------------------------------------------------
# Reading files.


class _Collector:
    """Problems found while reading; reading goes on so that all of them are reported."""

    def __init__(self) -> None:
        self.problems: list[ImportProblem] = []

    def add(self, file: str, row: int | None, field_name: str, message: str) -> None:
        if len(self.problems) < PROBLEMS_MAX:
            self.problems.append(ImportProblem(file, row, field_name, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise MapImportError(self.problems)


def _kind_names(choices: type[Factor.Kind] | type[Link.Kind]) -> dict[str, str]:
    """Accepted spellings of a kind: its key and its name in English and the active language."""
    names: dict[str, str] = {}
    for value, label in choices.choices:
        names[value.casefold()] = value
        names[str(label).casefold()] = value
        with override("en"):
            names[str(choices(value).label).casefold()] = value
    return names


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def _read_ints(value: str) -> list[int] | None:
    try:
        return [int(part) for part in _split(value)]
    except ValueError:
        return None


def _read_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) <= 1e6 else None


def _decode(name: str, content: bytes, problems: _Collector) -> str | None:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(name, None, "", _("The file is not UTF-8 text. Save it as CSV UTF-8."))
        return None


def _header_of(text: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text)), [])
    return [column.strip().casefold() for column in first]


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows as {lower-case column: text}, numbered as a spreadsheet shows them (header 1)."""
    reader = csv.reader(io.StringIO(text))
    header = [column.strip().casefold() for column in next(reader, [])]
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        cells = {
            header[i]: unneutralise(values[i].strip()) for i in range(min(len(header), len(values)))
        }
        rows.append((number, cells))
    return rows


def _cell(cells: dict[str, str], *names: str) -> str:
    for name in names:
        if cells.get(name):
            return cells[name]
    return ""


class _Reader:
    """Turns rows of either format into checked :class:`FactorRow` and :class:`LinkRow`."""

    def __init__(self, programme: Programme, problems: _Collector) -> None:
        self.problems = problems
        self.factor_kinds = _kind_names(Factor.Kind)
        self.link_kinds = _kind_names(Link.Kind)
        self.codes = {c.key: c for c in Code.objects.filter(programme=programme)}
        self.indicators = maps.indicator_keys_of(programme)

    def factor(
        self, file: str, row: int, cells: dict[str, str], *, label_field: str = "Label"
    ) -> FactorRow | None:
        ok = True
        label = _cell(cells, "label")
        if not label:
            self.problems.add(file, row, label_field, _("Give every factor a label."))
            ok = False
        elif len(label) > 200:
            self.problems.add(
                file, row, label_field, _("Keep this under {n} characters.").format(n=200)
            )
            ok = False
        kind_text = _cell(cells, "type", "kind")
        kind = self.factor_kinds.get(kind_text.casefold()) if kind_text else Factor.Kind.DRIVER
        if kind is None:
            self.problems.add(
                file,
                row,
                "Type",
                _(
                    "“{value}” is not a kind of factor: use concern, driver, root_cause or effect."
                ).format(value=kind_text),
            )
            ok = False
        code_key = _cell(cells, "code")
        code = self.codes.get(code_key) if code_key else None
        if code_key and code is None:
            self.problems.add(
                file,
                row,
                "Code",
                _("“{value}” is not a code of this programme's codebook.").format(value=code_key),
            )
            ok = False
        position: dict[str, float | None] = {}
        for axis in ("x", "y"):
            text = _cell(cells, axis)
            position[axis] = _read_number(text) if text else None
            if text and position[axis] is None:
                self.problems.add(file, row, axis, _("A position must be a number."))
                ok = False
        keys = self._indicators(file, row, _cell(cells, "indicators", "indicator_keys"))
        excerpt_ids = self._excerpts(file, row, _cell(cells, "excerpts"))
        if not ok or keys is None or excerpt_ids is None or kind is None:
            return None
        return FactorRow(
            file=file,
            row=row,
            label=label,
            kind=kind,
            note=_cell(cells, "description", "note"),
            code=code,
            x=position["x"],
            y=position["y"],
            indicator_keys=keys,
            excerpt_ids=excerpt_ids,
        )

    def link(self, file: str, row: int, cells: dict[str, str]) -> LinkRow | None:
        ok = True
        source, target = _cell(cells, "from", "source"), _cell(cells, "to", "target")
        if not source:
            self.problems.add(file, row, "From", _("Name the factor the link starts from."))
            ok = False
        if not target:
            self.problems.add(file, row, "To", _("Name the factor the link points to."))
            ok = False
        if source and target and source.casefold() == target.casefold():
            self.problems.add(file, row, "To", _("A factor cannot be linked to itself."))
            ok = False
        kind_text = _cell(cells, "type", "kind")
        kind = self.link_kinds.get(kind_text.casefold()) if kind_text else Link.Kind.CAUSES
        if kind is None:
            self.problems.add(
                file,
                row,
                "Type",
                _("“{value}” is not a kind of link: use causes, worsens or mitigates.").format(
                    value=kind_text
                ),
            )
            ok = False
        strength_text = _cell(cells, "strength")
        strength = 2
        if strength_text:
            number = _read_number(strength_text)
            if number not in (1, 2, 3):
                self.problems.add(file, row, "Strength", _("The strength of a link is 1, 2 or 3."))
                ok = False
            else:
                strength = int(number or 2)
        keys = self._indicators(file, row, _cell(cells, "indicators", "indicator_keys"))
        excerpt_ids = self._excerpts(file, row, _cell(cells, "excerpts"))
        if not ok or keys is None or excerpt_ids is None or kind is None:
            return None
        return LinkRow(
            file=file,
            row=row,
            source=source,
            target=target,
            kind=kind,
            strength=strength,
            note=_cell(cells, "description", "note"),
            indicator_keys=keys,
            excerpt_ids=excerpt_ids,
        )

    def _indicators(self, file: str, row: int, text: str) -> list[str] | None:
        keys = _split(text)
        unknown = [k for k in keys if k not in self.indicators]
        if unknown:
            self.problems.add(
                file,
                row,
                "Indicators",
                _("Not an indicator of this programme's indicator set: {keys}.").format(
                    keys=format_list(unknown)
                ),
            )
            return None
        return keys

    def _excerpts(self, file: str, row: int, text: str) -> list[int] | None:
        ids = _read_ints(text)
        if ids is None:
            self.problems.add(file, row, "Excerpts", _("List excerpt numbers separated by “|”."))
        return ids


def _graphml_data(name: str, content: bytes, reader: _Reader, problems: _Collector) -> MapData:
    data = MapData()
    try:
        fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException):
        problems.add(name, None, "", _("This is not a GraphML file that can be read safely."))
        return data
    try:
        graph = nx.parse_graphml(content)
    except (nx.NetworkXError, ValueError, KeyError, TypeError):
        problems.add(name, None, "", _("This is not a GraphML file networkx can read."))
        return data
    labels: dict[Any, str] = {}
    for number, (node, attrs) in enumerate(graph.nodes(data=True), start=1):
        cells = {str(k).casefold(): str(v).strip() for k, v in attrs.items()}
        cells.setdefault("label", str(node))
        cells["indicators"] = cells.get("indicator_keys", "")
        row = reader.factor(name, number, cells, label_field="label")
        if row is not None:
            data.factors.append(row)
            labels[node] = row.label
    for number, (source, target, attrs) in enumerate(graph.edges(data=True), start=1):
        cells = {str(k).casefold(): str(v).strip() for k, v in attrs.items()}
        cells["from"] = labels.get(source, "")
        cells["to"] = labels.get(target, "")
        cells["indicators"] = cells.get("indicator_keys", "")
        if source in labels and target in labels:
            link = reader.link(name, number, cells)
            if link is not None:
                data.links.append(link)
    return data


def _zip_members(name: str, content: bytes, problems: _Collector) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        checked_members(
            archive,
            file=name,
            max_members=MAX_ZIP_MEMBERS,
            max_unpacked=MAX_IMPORT_BYTES,
            max_ratio=limits.max_compression_ratio(),
        )
    except (zipfile.BadZipFile, OSError, ValueError):
        problems.add(name, None, "", _("This is not a zip file."))
        return []
    except ArchiveRefused as refused:
        problems.add(name, None, "", refused.message)
        return []
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir() and i.filename.endswith(".csv")]
        if not members:
            problems.add(name, None, "", _("The zip file should hold the two CSV files."))
            return []
        try:
            return [
                (
                    i.filename.rsplit("/", 1)[-1],
                    member_bytes(archive, i, file=name, limit=MAX_IMPORT_BYTES),
                )
                for i in members
            ]
        except ArchiveRefused as refused:
            problems.add(name, None, "", refused.message)
            return []


def read_map_files(files: list[tuple[str, bytes]], *, programme: Programme) -> MapData:
    """Read a GraphML file, or the CSV of factors and/or the CSV of links (as files or in one
    zip), into checked rows. Raises :class:`MapImportError` with every problem found."""
    problems = _Collector()
    if not files:
        problems.add("", None, "", _("Choose a file to import."))
    total = sum(len(content) for _name, content in files)
    if total > MAX_IMPORT_BYTES:
        problems.add(
            format_list(n for n, _c in files),
            None,
            "",
            _("The files are too large: at most {n} MB.").format(
                n=format_number(MAX_IMPORT_BYTES / 2**20)
            ),
        )
    problems.raise_if_any()
    reader = _Reader(programme, problems)
    data = MapData()
    csv_files: list[tuple[str, bytes]] = []
    for name, content in files:
        lower = name.lower()
        if lower.endswith((".graphml", ".xml")):
            found = _graphml_data(name, content, reader, problems)
            data.factors += found.factors
            data.links += found.links
        elif lower.endswith(".zip"):
            csv_files += _zip_members(name, content, problems)
        elif lower.endswith(".csv"):
            csv_files.append((name, content))
        else:
            problems.add(name, None, "", _("Import a .graphml file, two .csv files or a .zip."))
    for name, content in csv_files:
        text = _decode(name, content, problems)
        if text is None:
            continue
        header = _header_of(text)
        if "from" in header and "to" in header:
            for number, cells in _csv_rows(text):
                link = reader.link(name, number, cells)
                if link is not None:
                    data.links.append(link)
        elif "label" in header:
            for number, cells in _csv_rows(text):
                factor = reader.factor(name, number, cells)
                if factor is not None:
                    data.factors.append(factor)
        else:
            problems.add(
                name,
                1,
                "",
                _("A CSV of factors needs a “Label” column; a CSV of links “From” and “To”."),
            )
    if len(data.factors) > MAX_FACTORS:
        problems.add("", None, "", _("At most {n} factors.").format(n=format_number(MAX_FACTORS)))
    if len(data.links) > MAX_LINKS:
        problems.add("", None, "", _("At most {n} links.").format(n=format_number(MAX_LINKS)))
    _check_together(data, problems)
    problems.raise_if_any()
    return data


def _check_together(data: MapData, problems: _Collector) -> None:
    """Checks across rows: labels unique, links between known factors, each pair once."""
    seen: dict[str, FactorRow] = {}
    for row in data.factors:
        key = row.label.casefold()
        if key in seen:
            problems.add(
                row.file,
                row.row,
                "Label",
                _("“{label}” is already in row {n}.").format(label=row.label, n=seen[key].row),
            )
        else:
            seen[key] = row
    pairs: dict[tuple[str, str], LinkRow] = {}
    for link in data.links:
        pair = (link.source.casefold(), link.target.casefold())
        if pair in pairs:
            problems.add(
                link.file,
                link.row,
                "To",
                _("This link is already in row {n}.").format(n=pairs[pair].row),
            )
        else:
            pairs[pair] = link


# ----------------------------------------------------------------------------------------
# Writing into a map.


def _problem_from(error: ValidationError, file: str, row: int | None) -> list[ImportProblem]:
    if hasattr(error, "error_dict"):
        return [
            ImportProblem(file, row, name, str(message))
            for name, errors in error.error_dict.items()
            for item in errors
            for message in item.messages
        ]
    return [ImportProblem(file, row, "", str(m)) for m in error.messages]


def map_import(
    *,
    acting_user: User,
    driver_map: DriverMap,
    data: MapData,
    request: HttpRequest | None = None,
) -> ImportResult:
    """Write checked rows into ``driver_map``: a factor whose label is already on the map is
    updated, others added; likewise a link between the same two factors. Every problem
    (an excerpt the user cannot read, a label clash) is collected; if there is any, nothing
    is saved."""
    problems: list[ImportProblem] = []
    counts = {"factors_added": 0, "factors_updated": 0, "links_added": 0, "links_updated": 0}
    try:
        with transaction.atomic():
            existing = {f.label.casefold(): f for f in driver_map.factors.all()}
            for index, row in enumerate(data.factors):
                factor = existing.get(row.label.casefold())
                try:
                    if factor is None:
                        factor = maps.factor_add(
                            acting_user=acting_user,
                            driver_map=driver_map,
                            label=row.label,
                            kind=row.kind,
                            code=row.code,
                            note=row.note,
                            x=row.x if row.x is not None else 60 + 170 * (index % 6),
                            y=row.y if row.y is not None else 60 + 130 * (index // 6),
                            indicator_keys=row.indicator_keys,
                            excerpts=row.excerpt_ids,
                            request=request,
                        )
                        existing[row.label.casefold()] = factor
                        counts["factors_added"] += 1
                    else:
                        values: dict[str, Any] = {"kind": row.kind, "note": row.note}
                        if row.code is not None:
                            values["code"] = row.code
                        if row.x is not None and row.y is not None:
                            values.update(x=row.x, y=row.y)
                        maps.factor_update(
                            acting_user=acting_user, factor=factor, request=request, **values
                        )
                        maps.evidence_attach(
                            acting_user=acting_user,
                            item=factor,
                            excerpts=row.excerpt_ids,
                            indicator_keys=row.indicator_keys,
                            request=request,
                        )
                        counts["factors_updated"] += 1
                except ValidationError as error:
                    problems += _problem_from(error, row.file, row.row)
            for link_row in data.links:
                source = existing.get(link_row.source.casefold())
                target = existing.get(link_row.target.casefold())
                if source is None or target is None:
                    missing = link_row.source if source is None else link_row.target
                    problems.append(
                        ImportProblem(
                            link_row.file,
                            link_row.row,
                            "From" if source is None else "To",
                            _("There is no factor “{label}” in the file or on the map.").format(
                                label=missing
                            ),
                        )
                    )
                    continue
                try:
                    link = driver_map.links.filter(source=source, target=target).first()
                    if link is None:
                        maps.link_add(
                            acting_user=acting_user,
                            driver_map=driver_map,
                            source=source,
                            target=target,
                            kind=link_row.kind,
                            strength=link_row.strength,
                            note=link_row.note,
                            indicator_keys=link_row.indicator_keys,
                            excerpts=link_row.excerpt_ids,
                            request=request,
                        )
                        counts["links_added"] += 1
                    else:
                        maps.link_update(
                            acting_user=acting_user,
                            link=link,
                            request=request,
                            kind=link_row.kind,
                            strength=link_row.strength,
                            note=link_row.note,
                        )
                        maps.evidence_attach(
                            acting_user=acting_user,
                            item=link,
                            excerpts=link_row.excerpt_ids,
                            indicator_keys=link_row.indicator_keys,
                            request=request,
                        )
                        counts["links_updated"] += 1
                except ValidationError as error:
                    problems += _problem_from(error, link_row.file, link_row.row)
            if problems:
                raise MapImportError(problems[:PROBLEMS_MAX])
            audit_record(
                actor=acting_user,
                verb=AuditEvent.Verb.IMPORTED,
                obj=driver_map,
                programme=driver_map.programme,
                request=request,
                details=counts,
            )
    except MapImportError:
        driver_map.refresh_from_db()
        raise
    return ImportResult(driver_map=driver_map, **counts)


def map_import_new(
    *,
    acting_user: User,
    programme: Programme,
    title: str,
    perspective: str = DriverMap.Perspective.EVERYONE,
    data: MapData,
    request: HttpRequest | None = None,
) -> ImportResult:
    """A new map holding the imported factors and links; no map is left behind if the
    import fails."""
    with transaction.atomic():
        try:
            driver_map = maps.map_create(
                acting_user=acting_user,
                programme=programme,
                title=title,
                perspective=perspective,
                request=request,
            )
        except ValidationError as error:
            raise MapImportError(_problem_from(error, "", None)) from None
        return map_import(
            acting_user=acting_user, driver_map=driver_map, data=data, request=request
        )

"""A report as a Word document (DOCX), drawn from what its page draws: the same sections, the
same tree of written text (:mod:`amniyat.reports.writing`), the same built figures and the
same Vega-Lite charts, drawn here as PNG on the server (vl-convert, no browser).

The document uses Word's own styles (``Title``, ``Heading 1``–``3``, ``Caption``, ``Quote``,
``List Bullet``, ``List Number``, ``Table Grid``), so a communications officer restyles it in
Word or LibreOffice by changing styles; headings feed the table of contents field at the
start, which Word and LibreOffice fill when the document is opened or printed; tables repeat
their header row on each page; pages are numbered in the footer.

python-docx writes paragraphs, runs, tables, pictures and styles but has no footnotes and no
hyperlinks: :class:`_Footnotes` adds the footnotes part (``word/footnotes.xml``) and
:func:`_hyperlink` the link element, each from the WordprocessingML schema (ECMA-376 part 1,
§17.11 and §17.16.22), because that is all they need and no kept library writes them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import IO, Any, cast

import vl_convert
from django.utils import translation
from django.utils.translation import gettext as _
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import nsdecls, nsmap, qn
from docx.oxml.parser import parse_xml
from docx.shared import Cm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from amniyat.reports import docx_template
from amniyat.reports.writing import Node

Progress = Callable[[int, int], None]

# Width of a chart on an A4 page with 2.5 cm margins.
CHART_WIDTH = Cm(16)


# A template's own parts are read as python-docx reads them: no entities, nothing fetched.
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True)


def _footnotes_part(document: DocumentObject) -> Part | None:
    """The footnotes part a template brought (Word makes one with its separators)."""
    for rel in document.part.rels.values():
        if rel.reltype == RT.FOOTNOTES and not rel.is_external:
            return cast(Part, rel.target_part)
    return None


class _Footnotes:
    """The document's footnotes, numbered as they are added, written as one part at the end.
    On a template that has a footnotes part already, its separators are kept and the notes
    numbered after them."""

    def __init__(self, first: int = 1) -> None:
        self.first = first
        self.notes: list[tuple[int, list[Node]]] = []

    @classmethod
    def of(cls, document: DocumentObject) -> _Footnotes:
        part = _footnotes_part(document)
        if part is None:
            return cls()
        root = etree.fromstring(part.blob, _SAFE_XML)
        ids = [int(str(i)) for i in root.xpath("./w:footnote/@w:id", namespaces=nsmap)]
        return cls(first=max([0, *ids]) + 1)

    def add(self, inlines: list[Node]) -> int:
        number = self.first + len(self.notes)
        self.notes.append((number, inlines))
        return number

    def attach(self, document: DocumentObject) -> None:
        if not self.notes:
            return
        existing = _footnotes_part(document)
        if existing is not None:
            # The template's separators stay, and the notes its kept cover page refers to;
            # the others went with its body.
            root: Any = etree.fromstring(existing.blob, _SAFE_XML)
            cited = set(document.element.body.xpath(".//w:footnoteReference/@w:id"))
            normal = "./w:footnote[not(@w:type) or @w:type='normal']"
            for old in root.xpath(normal, namespaces=nsmap):
                if old.get(qn("w:id")) not in cited:
                    root.remove(old)
        else:
            root = parse_xml(
                f"<w:footnotes {nsdecls('w', 'r')}>"
                '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
                "</w:footnote>"
                '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r>'
                "<w:continuationSeparator/></w:r></w:p></w:footnote>"
                "</w:footnotes>"
            )
        for number, inlines in self.notes:
            note = OxmlElement("w:footnote")
            note.set(qn("w:id"), str(number))
            paragraph = OxmlElement("w:p")
            mark = _run_element(superscript=True)
            mark.append(OxmlElement("w:footnoteRef"))
            paragraph.append(mark)
            paragraph.append(_text_run(" ", size=9))
            for run in _plain_runs(inlines, size=9):
                paragraph.append(run)
            note.append(paragraph)
            root.append(note)
        blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        if existing is not None:
            if hasattr(existing, "_element"):  # an XML part python-docx knows
                existing._element = root
            else:
                existing._blob = blob
            return
        part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, blob, document.part.package)
        document.part.relate_to(part, RT.FOOTNOTES)


def _run_element(*, superscript: bool = False, size: int | None = None, **flags: bool) -> Any:
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    for name, on in flags.items():
        if on:
            properties.append(OxmlElement(f"w:{name}"))
    if superscript:
        align = OxmlElement("w:vertAlign")
        align.set(qn("w:val"), "superscript")
        properties.append(align)
    if size:
        measure = OxmlElement("w:sz")
        measure.set(qn("w:val"), str(size * 2))
        properties.append(measure)
    if len(properties):
        run.append(properties)
    return run


def _text_run(text: str, **style: Any) -> Any:
    run = _run_element(**style)
    element = OxmlElement("w:t")
    element.set(qn("xml:space"), "preserve")
    element.text = text
    run.append(element)
    return run


def _plain_runs(inlines: list[Node], *, size: int | None = None, **flags: bool) -> list[Any]:
    """Runs for footnote text: emphasis kept, links as their words."""
    runs: list[Any] = []
    for node in inlines:
        kind = node["type"]
        if kind in ("text", "code"):
            runs.append(_text_run(node["text"], size=size, **flags))
        elif kind == "break":
            run = _run_element()
            run.append(OxmlElement("w:br"))
            runs.append(run)
        elif kind in ("em", "strong", "link"):
            more = {"i": True} if kind == "em" else {"b": True} if kind == "strong" else {}
            runs.extend(_plain_runs(node["inlines"], size=size, **{**flags, **more}))
    return runs


def _hyperlink(
    paragraph: Paragraph, href: str, inlines: list[Node], flags: dict[str, bool]
) -> None:
    rel = paragraph.part.relate_to(href, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    for run in _plain_runs(inlines, **{**flags, "u": False}):
        link.append(run)
    paragraph._p.append(link)


class Writer:
    """Writes a document on the engine's own template, or on a programme's (``template``:
    its DOCX, checked when uploaded), whose styles, headers, footers and cover page it keeps
    (:func:`amniyat.reports.docx_template.prepared`); ``styles_fallback`` names the styles the
    programme's template lacked, for which the engine's were used."""

    def __init__(
        self, *, title: str, footnotes: _Footnotes | None = None, template: bytes | None = None
    ) -> None:
        self.styles_fallback: list[str] = []
        self.on_template = template is not None
        if template is None:
            self.document = Document()
        else:
            self.document, self.styles_fallback = docx_template.prepared(template)
        self.document.core_properties.title = title
        self.footnotes = footnotes or _Footnotes.of(self.document)
        # Footnote numbers of the section being written: its own [^1] becomes the document's n.
        self.numbers: dict[int, int] = {}
        self.toc: Paragraph | None = None  # the contents field's first paragraph

    # --- text --------------------------------------------------------------------------

    def inlines(self, paragraph: Paragraph, inlines: list[Node], **flags: bool) -> None:
        for node in inlines:
            kind = node["type"]
            if kind == "text":
                run = paragraph.add_run(node["text"])
                run.italic = flags.get("i") or None
                run.bold = flags.get("b") or None
            elif kind == "code":
                run = paragraph.add_run(node["text"])
                run.font.name = "Courier New"
            elif kind == "break":
                paragraph.add_run().add_break()
            elif kind == "em":
                self.inlines(paragraph, node["inlines"], **{**flags, "i": True})
            elif kind == "strong":
                self.inlines(paragraph, node["inlines"], **{**flags, "b": True})
            elif kind == "link":
                _hyperlink(paragraph, node["href"], node["inlines"], flags)
            elif kind == "footnote" and node["number"] in self.numbers:
                reference = _run_element(superscript=True)
                mark = OxmlElement("w:footnoteReference")
                mark.set(qn("w:id"), str(self.numbers[node["number"]]))
                reference.append(mark)
                paragraph._p.append(reference)

    def blocks(self, blocks: list[Node], *, depth: int = 0, quote: bool = False) -> None:
        for block in blocks:
            kind = block["type"]
            if kind == "heading":
                self.inlines(self.document.add_heading(level=block["level"]), block["inlines"])
            elif kind == "paragraph":
                style = "Quote" if quote else None
                self.inlines(self.document.add_paragraph(style=style), block["inlines"])
            elif kind == "list":
                self.list(block, depth=depth)
            elif kind == "quote":
                self.blocks(block["blocks"], depth=depth, quote=True)
            elif kind == "code":
                run = self.document.add_paragraph().add_run(block["text"])
                run.font.name = "Courier New"
            elif kind == "rule":
                self.document.add_paragraph("⁂").alignment = WD_ALIGN_PARAGRAPH.CENTER

    def list(self, block: Node, *, depth: int) -> None:
        level = min(depth, 2)
        base = "List Number" if block["ordered"] else "List Bullet"
        style = base if level == 0 else f"{base} {level + 1}"
        for item in block["items"]:
            first, *rest = item or [{"type": "paragraph", "inlines": []}]
            paragraph = self.document.add_paragraph(style=style)
            self.inlines(paragraph, first.get("inlines", []))
            for nested in rest:
                if nested["type"] == "list":
                    self.list(nested, depth=depth + 1)
                else:
                    self.blocks([nested], depth=depth + 1)

    def written(self, written: Any) -> None:
        self.numbers = {
            note["number"]: self.footnotes.add(note["inlines"]) for note in written.footnotes
        }
        self.blocks(written.blocks)

    # --- figures -----------------------------------------------------------------------

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
        """A table whose first row repeats on every page; a cell given as ``(text, span)``
        spans ``span`` columns (a withheld figure's reason)."""
        table: Table = self.document.add_table(rows=1, cols=len(headers), style="Table Grid")
        header = table.rows[0]
        row_properties = header._tr.get_or_add_trPr()
        row_properties.append(OxmlElement("w:tblHeader"))
        for cell, text in zip(header.cells, headers, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(str(text)).bold = True
        for values in rows:
            cells = table.add_row().cells  # type: ignore[no-untyped-call]
            column = 0
            for value in values:
                text, span = value if isinstance(value, tuple) else (value, 1)
                cell = cells[column]
                if span > 1:
                    cell = cell.merge(cells[column + span - 1])
                cell.text = str(text)
                column += span
        return table

    def caption(self, text: str) -> None:
        self.document.add_paragraph(text, style="Caption")

    def chart(self, spec: dict[str, Any], *, title: str) -> None:
        png = vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[])
        self.document.add_picture(io.BytesIO(png), width=CHART_WIDTH)
        self.caption(title)

    # --- the whole ---------------------------------------------------------------------

    def contents(self) -> None:
        """A table of contents field over headings 1–3. Its entries are the document's
        headings, written in when the document is saved (:meth:`_fill_contents`): LibreOffice
        shows a field's result as written, and Word, asked to update fields on opening,
        renumbers the pages."""
        self.document.add_heading(_("Contents"), level=1)
        paragraph = self.document.add_paragraph()
        for kind, text in (
            ("begin", None),
            (None, 'TOC \\o "1-3" \\h \\z \\u'),
            ("separate", None),
        ):
            run = OxmlElement("w:r")
            if kind:
                field = OxmlElement("w:fldChar")
                field.set(qn("w:fldCharType"), kind)
                if kind == "begin":
                    field.set(qn("w:dirty"), "true")
                run.append(field)
            else:
                instruction = OxmlElement("w:instrText")
                instruction.set(qn("xml:space"), "preserve")
                instruction.text = text
                run.append(instruction)
            paragraph._p.append(run)
        self.toc = paragraph
        settings = self.document.settings.element
        update = settings.find(qn("w:updateFields"))
        if update is None:
            update = OxmlElement("w:updateFields")
            settings.append(update)
        update.set(qn("w:val"), "true")

    def _fill_contents(self) -> None:
        """The contents field's result: one paragraph per heading after it (levels 1–3), in
        the "TOC n" styles, the field ending with the last."""
        if self.toc is None:
            return
        after = False
        entries: list[tuple[int, str]] = []
        for paragraph in self.document.paragraphs:
            if paragraph._p is self.toc._p:
                after = True
                continue
            name = paragraph.style.name if paragraph.style is not None else ""
            if after and name.startswith("Heading ") and name[8:].isdigit():
                level = int(name[8:])
                if level <= 3 and paragraph.text.strip():
                    entries.append((level, paragraph.text.strip()))
        last = self.toc
        if not entries:
            last.add_run(_("Update the field to see the contents."))
        for index, (level, text) in enumerate(entries):
            style = self._toc_style(level)
            if index == 0:
                self.toc.style = style
                self.toc.add_run(text)
                continue
            element = OxmlElement("w:p")
            last._p.addnext(element)
            entry = Paragraph(element, last._parent)
            entry.style = style
            entry.add_run(text)
            last = entry
        end = OxmlElement("w:r")
        field = OxmlElement("w:fldChar")
        field.set(qn("w:fldCharType"), "end")
        end.append(field)
        last._p.append(end)

    def _toc_style(self, level: int) -> Any:
        """Word's "TOC n" paragraph style, added (indented by level) where the template has
        none."""
        name = f"TOC {level}"
        styles = self.document.styles
        try:
            return styles[name]
        except KeyError:
            style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = styles["Normal"]
            style.paragraph_format.left_indent = Cm(0.6 * (level - 1))
            style.paragraph_format.space_after = Pt(2)
            return style

    def page_numbers(self) -> None:
        """A page number in the footer, unless the template's footers number pages already."""
        if self.on_template and _numbers_pages(self.document):
            return
        footer = self.document.sections[-1].footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer._p.append(
            parse_xml(
                f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
            )
        )

    def save(self, target: IO[bytes]) -> None:
        self._fill_contents()
        self.footnotes.attach(self.document)
        self.document.save(target)


def _numbers_pages(document: DocumentObject) -> bool:
    """Whether a footer or header of the document has a PAGE field."""
    for section in document.sections:
        for part in (
            section.footer,
            section.first_page_footer,
            section.even_page_footer,
            section.header,
        ):
            if part.is_linked_to_previous:
                continue
            element = part._element
            fields = element.xpath(".//w:instrText/text() | .//w:fldSimple/@w:instr")
            if any("PAGE" in str(field).split() for field in fields):
                return True
    return False


def margins(document: DocumentObject) -> None:
    for section in document.sections:
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin = section.bottom_margin = Cm(2.5)


def _section(writer: Writer, item: Any) -> None:
    """One section of the report, as its page draws it."""
    kind = item.kind
    built = item.built
    if kind != "title":
        writer.document.add_heading(item.heading, level=1)
    writer.written(item.written)
    for recommendation in item.recommendations:
        writer.document.add_paragraph(recommendation["text"], style="List Number")
        if recommendation["factors"]:
            writer.caption(f"{_('Factors it answers:')} {'; '.join(recommendation['factors'])}")
        if recommendation["priorities"]:
            writer.caption(
                f"{_('Priorities it answers:')} {'; '.join(recommendation['priorities'])}"
            )
    if item.section.is_written:
        return
    if not item.section.built_at:
        writer.document.add_paragraph(_("Not built yet."))
        return
    if item.stale:
        writer.document.add_paragraph(
            _("Figures as they were on {date}; the data changed since.").format(date=item.built_on),
            style="Caption",
        )
    if kind == "findings":
        headers = ["", _("Estimate"), _("95% interval"), "n"]
        for indicator in built.get("indicators", []):
            writer.document.add_heading(indicator["label"], level=2)
            if indicator.get("label_note"):
                writer.caption(indicator["label_note"])
            rows: list[list[Any]] = []
            if indicator.get("overall"):
                rows.append(_finding(_("Everyone"), indicator["overall"]))
            for group in indicator.get("groups", []):
                rows.append([(group["title"], 4)])
                rows.extend(_finding(row["label"], row) for row in group["rows"])
            writer.table(headers, rows)
            writer.caption(indicator["label"])
    elif kind == "methodology":
        _methodology(writer, built)
        writer.caption(
            _("Counted from the assessment's submissions as they stood on {date}").format(
                date=item.built_on
            )
        )
    elif kind == "driver_map":
        _driver_map(writer, built)
    elif kind == "change":
        _change(writer, built)
    elif "chart" in built:
        if built.get("fallback"):
            writer.document.add_paragraph(built["fallback"])
        chart = built["chart"]
        if chart.get("spec"):
            writer.chart(chart["spec"], title=chart["title"])
        span = max(len(chart["headers"]) - 1, 1)
        writer.table(
            chart["headers"],
            [
                [row["label"], (row["note"], span)]
                if row["note"]
                else [row["label"], *row["values"]]
                for row in chart["rows"]
            ],
        )
        if chart.get("caption"):
            writer.caption(chart["caption"])
    elif kind == "quotes":
        for quote in item.quotes:
            writer.document.add_paragraph(f"“{quote['text']}”", style="Quote")
            writer.document.add_paragraph(f"{quote['profile']} · {quote['code']}", style="Caption")
    elif kind == "priorities":
        writer.table(
            [
                _("Concern"),
                _("Groups with it in their first {top}").format(top=built.get("top", 3)),
                _("Mean score (4–20)"),
            ],
            [
                [row["concern"], row["groups"], row["mean_score"]]
                for row in built.get("concerns", [])
            ],
        )


def _methodology(writer: Writer, built: dict[str, Any]) -> None:
    for paragraph in built.get("paragraphs", []):
        writer.document.add_paragraph(paragraph)
    for sample in built.get("samples", []):
        if not sample.get("rows"):
            continue
        writer.table(
            sample["headers"],
            [
                [
                    row["label"],
                    *(c["note"] if c["text"] is None else c["text"] for c in row["counts"]),
                ]
                for row in sample["rows"]
            ],
        )
        writer.caption(_("Respondents to {form} by district and sex").format(form=sample["form"]))


def _driver_map(writer: Writer, built: dict[str, Any]) -> None:
    from amniyat.reports.maps import map_png

    if built.get("none"):
        writer.document.add_paragraph(built["none"])
        return
    png = map_png(built)
    if png:
        writer.document.add_picture(io.BytesIO(png), width=CHART_WIDTH)
        writer.caption(built["title"])
    for key, heading in (
        ("root_causes", _("Likely root causes")),
        ("leverage_points", _("Leverage points")),
        ("loops", _("Feedback loops")),
    ):
        if built.get(key):
            writer.document.add_heading(heading, level=2)
            for finding in built[key]:
                writer.document.add_paragraph(finding["sentence"], style="List Bullet")
    writer.caption(
        _("From the driver map {title} (published on {date}).").format(
            title=built.get("title", ""), date=built.get("published_on", "")
        )
    )


def _change(writer: Writer, built: dict[str, Any]) -> None:
    if built.get("none"):
        writer.document.add_paragraph(built["none"])
        return
    if built.get("chart", {}).get("spec"):
        writer.chart(built["chart"]["spec"], title=built["chart"]["title"])
    baseline, endline = built["baseline"]["title"], built["endline"]["title"]
    headers = [
        "",
        f"{baseline}: {_('Estimate')}",
        _("95% interval"),
        "n",
        f"{endline}: {_('Estimate')}",
        _("95% interval"),
        "n",
        _("Change"),
    ]
    for indicator in built.get("indicators", []):
        writer.document.add_heading(indicator["label"], level=2)
        rows = []
        for row in indicator["rows"]:
            first = _finding(row["label"], row["baseline"])
            last = _finding("", row["endline"])[1:]
            change = row["note"] if row["change"] is None else row["change"]
            rows.append([*first, *last, f"{change} ★" if row["significant"] else change])
        writer.table(headers, rows)
        writer.caption(indicator["label"])
    if built.get("note"):
        writer.caption(built["note"])


def _finding(label: str, row: dict[str, Any]) -> list[Any]:
    """A row of key findings; a withheld figure shows its reason across two columns and
    never a value."""
    if row["estimate"] is None:
        return [label, (row["note"], 2), row["n"]]
    return [label, row["estimate"], row["interval"], row["n"]]


def write(
    drawn: Any,
    target: IO[bytes],
    *,
    progress: Progress | None = None,
    template: bytes | None = None,
) -> list[str]:
    """Writes ``drawn`` (:class:`amniyat.reports.document.Drawn`) as DOCX, in the report's
    language, on the programme's ``template`` if given (its page set-up and fonts kept);
    returns the styles the template lacked, for which the engine's own were used."""
    with translation.override(drawn.report.language):
        writer = Writer(title=drawn.title, template=template)
        if template is None:
            margins(writer.document)
            writer.document.styles["Normal"].font.size = Pt(11)
        steps = len(drawn.sections) + 1
        writer.document.add_paragraph(drawn.title, style="Title")
        if drawn.subtitle:
            writer.document.add_paragraph(drawn.subtitle, style="Subtitle")
        writer.contents()
        writer.page_numbers()
        for index, item in enumerate(drawn.sections, start=1):
            _section(writer, item)
            if progress:
                progress(index, steps)
        writer.save(target)
    if progress:
        progress(steps, steps)
    return writer.styles_fallback

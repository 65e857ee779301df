"""Reading XLSForms: what pyxform converts, the schema and default sensitivity Amniyat derives,
and the clear problem (file, sheet, row, column) for every file it cannot use.

The good forms follow the examples of the XLSForm documentation (xlsform.org) and pyxform's
own test forms: groups, repeats, cascading selects with ``choice_filter``, select_multiple,
several ``label::Language (code)`` columns, a settings sheet."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree as defused

from amniyat.fieldwork.forms.xlsform import (
    ConvertedForm,
    FormError,
    FormProblem,
    default_sensitivity,
    xlsform_convert,
)
from tests.factories import workbook

LANGUAGE_COLUMNS = ["label::English (en)", "label::Russian (ru)", "label::Tajik (tg)"]


def safety_survey_sheets(
    *, form_id: str = "safety_survey", version: str | None = "2024060101"
) -> dict[str, list[list[Any]]]:
    """A community safety questionnaire in three languages."""
    header = ["type", "name", *LANGUAGE_COLUMNS, "required", "relevant", "constraint"]
    header += ["choice_filter", "calculation"]
    survey = [
        header,
        ["start", "start", "", "", "", "", "", "", "", ""],
        ["text", "respondent_name", "Name", "Имя", "Ном", "", "", "", "", ""],
        ["integer", "age", "Age", "Возраст", "Синну сол", "yes", "", ". >= 16", "", ""],
        ["select_one sex", "sex", "Sex", "Пол", "Ҷинс", "yes", "", "", "", ""],
        ["select_one region", "region", "Region", "Область", "Вилоят", "", "", "", "", ""],
        [
            "select_one district",
            "district",
            "District",
            "Район",
            "Ноҳия",
            "",
            "",
            "",
            "region=${region}",
            "",
        ],
        [
            "select_multiple concern",
            "concerns",
            "What makes you feel unsafe?",
            "Что заставляет вас чувствовать себя в опасности?",
            "Чӣ шуморо ба хатар меандозад?",
            "",
            "",
            "",
            "",
            "",
        ],
        ["begin_group", "household", "Household", "Домохозяйство", "Хонавода", "", "", "", "", ""],
        [
            "begin_repeat",
            "member",
            "Household member",
            "Член домохозяйства",
            "Аъзои хонавода",
            "",
            "",
            "",
            "",
            "",
        ],
        ["text", "member_fio", "Full name", "ФИО", "Ному насаб", "", "", "", "", ""],
        ["integer", "member_age", "Age", "Возраст", "Синну сол", "", "", "", "", ""],
        ["end_repeat", "", "", "", "", "", "", "", "", ""],
        ["text", "phone", "Phone", "Телефон", "Телефон", "", "${age} >= 18", "", "", ""],
        ["end_group", "", "", "", "", "", "", "", "", ""],
        ["geopoint", "location", "Location", "Место", "Ҷой", "", "", "", "", ""],
        ["note", "thanks", "Thank you", "Спасибо", "Ташаккур", "", "", "", "", ""],
        ["calculate", "adult", "", "", "", "", "", "", "", "if(${age} >= 18, 1, 0)"],
    ]
    choices = [
        ["list_name", "name", *LANGUAGE_COLUMNS, "region"],
        ["sex", "female", "Female", "Женщина", "Зан", ""],
        ["sex", "male", "Male", "Мужчина", "Мард", ""],
        ["region", "khatlon", "Khatlon", "Хатлон", "Хатлон", ""],
        ["region", "sughd", "Sughd", "Согд", "Суғд", ""],
        ["district", "vakhsh", "Vakhsh", "Вахш", "Вахш", "khatlon"],
        ["district", "isfara", "Isfara", "Исфара", "Исфара", "sughd"],
        ["concern", "police", "Police conduct", "Поведение милиции", "Рафтори милитсия", ""],
        ["concern", "water", "Water disputes", "Споры из-за воды", "Баҳсҳо дар бораи об", ""],
    ]
    settings_header = ["form_title", "form_id", "default_language"]
    settings_row = ["Community safety survey", form_id, "English (en)"]
    if version is not None:
        settings_header.append("version")
        settings_row.append(version)
    return {"survey": survey, "choices": choices, "settings": [settings_header, settings_row]}


def safety_survey(**kwargs: Any) -> bytes:
    return workbook(safety_survey_sheets(**kwargs))


def convert(content: bytes, file_name: str = "safety.xlsx") -> ConvertedForm:
    return xlsform_convert(file_name=file_name, content=content)


def problems_of(content: bytes, file_name: str = "broken.xlsx") -> list[FormProblem]:
    with pytest.raises(FormError) as caught:
        convert(content, file_name)
    assert caught.value.problems
    for problem in caught.value.problems:
        assert "Traceback" not in str(problem)
    return caught.value.problems


def field(converted: ConvertedForm, path: str) -> dict[str, Any]:
    return next(item for item in converted.fields if item["path"] == path)


# ----------------------------------------------------------------------------------------
# Good forms.


def test_a_multilingual_form_with_groups_and_repeats_converts() -> None:
    converted = convert(safety_survey())

    assert converted.form_id == "safety_survey"
    assert converted.title == "Community safety survey"
    assert converted.version == "2024060101"
    assert converted.languages == ["English (en)", "Russian (ru)", "Tajik (tg)"]
    assert 'version="2024060101"' in converted.xform
    assert '<translation lang="Tajik (tg)">' in converted.xform
    assert [item["path"] for item in converted.fields] == [
        "start",
        "respondent_name",
        "age",
        "sex",
        "region",
        "district",
        "concerns",
        "household/member/member_fio",
        "household/member/member_age",
        "household/phone",
        "location",
        "thanks",
        "adult",
        "meta/instanceID",
    ]


def test_the_schema_keeps_types_labels_choices_and_logic() -> None:
    converted = convert(safety_survey())

    age = field(converted, "age")
    assert age["type"] == "integer"
    assert age["required"] is True
    assert age["constraint"] == ". >= 16"
    assert age["label"] == {
        "English (en)": "Age",
        "Russian (ru)": "Возраст",
        "Tajik (tg)": "Синну сол",
    }

    concerns = field(converted, "concerns")
    assert concerns["type"] == "select_multiple"
    assert [c["name"] for c in concerns["choices"]] == ["police", "water"]
    assert concerns["choices"][0]["label"]["Tajik (tg)"] == "Рафтори милитсия"

    district = field(converted, "district")
    assert district["type"] == "select_one"
    assert [c["name"] for c in district["choices"]] == ["vakhsh", "isfara"]

    member_age = field(converted, "household/member/member_age")
    assert member_age["repeat"] == "household/member"
    assert member_age["repeats"] == ["household/member"]
    assert member_age["name"] == "member_age"
    phone = field(converted, "household/phone")
    assert phone["repeat"] is None
    assert phone["relevant"] == "${age} >= 18"
    assert field(converted, "meta/instanceID")["type"] == "calculate"
    assert set(age) == {
        "name",
        "path",
        "type",
        "label",
        "choices",
        "repeat",
        "repeats",
        "required",
        "relevant",
        "relevant_groups",
        "bind_type",
        "constraint",
    }


def test_default_sensitivity_protects_what_identifies_people_and_leaves_the_rest_open() -> None:
    converted = convert(safety_survey())
    proposed = converted.default_sensitivity()

    assert proposed == {
        "start": "internal",
        "respondent_name": "sensitive",  # free text, and a name
        "household/member/member_fio": "sensitive",
        "household/phone": "sensitive",
        "location": "sensitive",
        "thanks": "internal",
        "adult": "internal",
        "meta/instanceID": "internal",
    }
    assert converted.fields_lacking_sensitivity() == [
        "age",
        "sex",
        "region",
        "district",
        "concerns",
        "household/member/member_age",
    ]


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("ismi", "select_one", "sensitive"),  # Uzbek: name
        ("nomi_padar", "select_one", "sensitive"),  # Tajik: father's name
        ("fio", "select_one", "sensitive"),
        ("tel_raqam", "integer", "sensitive"),
        ("mobile_number", "integer", "sensitive"),
        ("economy", "select_one", None),  # "nom" inside a word is not a name
        ("hotel_visits", "integer", None),
        ("household_size", "integer", None),
        ("photo", "image", "sensitive"),
        ("interview", "audio", "sensitive"),
        ("route", "geotrace", "sensitive"),
        ("full_name", "calculate", "sensitive"),  # a name wins over "calculations are internal"
        ("intro", "note", "internal"),
        ("comment", "text", "sensitive"),
    ],
)
def test_default_sensitivity_by_name_and_type(name: str, kind: str, expected: str | None) -> None:
    assert default_sensitivity({"name": name, "type": kind}) == expected


def test_a_form_without_version_gets_a_timestamp_and_the_file_name_as_form_id() -> None:
    sheets = safety_survey_sheets()
    del sheets["settings"]
    converted = convert(workbook(sheets), file_name="Baseline survey 2024.xlsx")

    assert converted.form_id == "Baseline_survey_2024"
    assert converted.version.isdigit() and len(converted.version) == 14
    assert f'version="{converted.version}"' in converted.xform


def test_a_plain_label_column_is_one_language() -> None:
    content = workbook(
        {"survey": [["type", "name", "label"], ["integer", "households", "Households"]]}
    )
    converted = convert(content)

    assert converted.languages == ["default"]
    assert field(converted, "households")["label"] == {"default": "Households"}


def test_cascading_selects_and_a_select_multiple_filtered_by_another() -> None:
    # The pattern of the XLSForm documentation: a choice list filtered by an earlier answer.
    content = workbook(
        {
            "survey": [
                ["type", "name", "label", "choice_filter", "relevant"],
                ["select_multiple issues", "issues", "Issues", "", ""],
                [
                    "select_multiple issues",
                    "worst",
                    "Worst issues",
                    "selected(${issues}, name)",
                    "",
                ],
                ["select_one country", "country", "Country", "", ""],
                ["select_one city", "city", "City", "country=${country}", "${country} != ''"],
            ],
            "choices": [
                ["list_name", "name", "label", "country"],
                ["issues", "theft", "Theft", ""],
                ["issues", "violence", "Violence", ""],
                ["country", "tj", "Tajikistan", ""],
                ["country", "uz", "Uzbekistan", ""],
                ["city", "dushanbe", "Dushanbe", "tj"],
                ["city", "tashkent", "Tashkent", "uz"],
            ],
        }
    )
    converted = convert(content)

    assert field(converted, "worst")["type"] == "select_multiple"
    assert [c["name"] for c in field(converted, "city")["choices"]] == ["dushanbe", "tashkent"]
    assert field(converted, "city")["relevant"] == "${country} != ''"


def test_a_csv_exported_from_one_sheet_with_semicolons_in_windows_cyrillic() -> None:
    text = "type;name;label::Russian (ru)\ninteger;age;Возраст\ntext;comment;Комментарий\n"
    converted = convert(text.encode("cp1251"), file_name="survey.csv")

    assert converted.languages == ["Russian (ru)"]
    assert field(converted, "age")["label"] == {"Russian (ru)": "Возраст"}


def test_a_csv_in_pyxform_layout_with_its_choices() -> None:
    rows = [
        ["survey", "", "", ""],
        ["", "type", "name", "label"],
        ["", "select_one yn", "safe", "Do you feel safe?"],
        ["choices", "", "", ""],
        ["", "list_name", "name", "label"],
        ["", "yn", "yes", "Yes"],
        ["", "yn", "no", "No"],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    converted = convert(out.getvalue().encode("utf-8"), file_name="safe.csv")

    assert [c["name"] for c in field(converted, "safe")["choices"]] == ["yes", "no"]


# ----------------------------------------------------------------------------------------
# Broken forms: the exact sheet, row and column.

HEADER = ["type", "name", "label"]


@pytest.mark.parametrize(
    ("sheets", "sheet", "row", "column", "words"),
    [
        (
            {"survey": [HEADER, ["text", "a", "A"], ["txet", "b", "B"]]},
            "survey",
            3,
            "type",
            "“txet” is not a question type",
        ),
        (
            {
                "survey": [HEADER, ["integer", "a", "A"], ["select_one yn", "b", "B"]],
                "choices": [["list_name", "name", "label"], ["other", "x", "X"]],
            },
            "survey",
            3,
            "type",
            "The choice list “yn” is not on the choices sheet.",
        ),
        (
            {"survey": [HEADER, ["integer", "a", "A"], ["begin_group", "g", "G"]]},
            "survey",
            3,
            "type",
            "has no matching begin or end row",
        ),
        (
            {"survey": [HEADER, ["integer", "a", "A"], ["text", "a", "Again"]]},
            "survey",
            3,
            "name",
            "The name “a” is used twice",
        ),
        (
            {"survey": [HEADER, ["text", "first name", "A"]]},
            "survey",
            2,
            "name",
            "A name must begin with a letter",
        ),
        (
            {
                "survey": [HEADER, ["select_one yn", "a", "A"]],
                "choices": [["list_name", "name", "label"], ["yn", "y", "Yes"], ["yn", "y", "Y"]],
            },
            "choices",
            3,
            "name",
            "This choice name is used twice",
        ),
        (
            {"survey": [[*HEADER, "relevant"], ["text", "a", "A", ""], ["text", "b", "B", "${c}"]]},
            "survey",
            3,
            "relevant",
            "${c} refers to a question that is not on the survey sheet.",
        ),
        (
            {"survey": [HEADER, ["integer", "a", "A"], ["calculate", "c", ""]]},
            "survey",
            3,
            "calculation",
            "This calculate row has no calculation.",
        ),
        (
            {"survey": [HEADER, ["integer", "a", "A"], ["text", "b", None]]},
            "survey",
            3,
            "label",
            "The question “b” has neither a label nor a hint.",
        ),
        (
            {"choices": [["list_name", "name", "label"], ["yn", "y", "Yes"]], "notes": [["x"]]},
            "survey",
            None,
            "",
            "The workbook has no sheet named “survey”.",
        ),
        ({"survey": [HEADER]}, "survey", None, "", "The survey sheet has no questions."),
    ],
)
def test_broken_forms_name_the_sheet_row_and_column(
    sheets: dict[str, list[list[Any]]], sheet: str, row: int | None, column: str, words: str
) -> None:
    [problem] = problems_of(workbook(sheets))

    assert (problem.file, problem.sheet, problem.row, problem.column) == (
        "broken.xlsx",
        sheet,
        row,
        column,
    )
    assert words in problem.message
    assert str(problem).startswith("broken.xlsx, sheet “")


def test_pyxform_s_own_words_are_kept_beside_amniyat_s() -> None:
    [problem] = problems_of(workbook({"survey": [HEADER, ["txet", "b", "B"]]}))

    assert problem.detail == "Unknown question type 'txet'."
    assert problem.as_dict()["row"] == 2


def test_a_form_error_is_a_validation_error_listing_each_problem() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        convert(workbook({"survey": [HEADER, ["txet", "b", "B"]]}), "f.xlsx")
    assert caught.value.messages == [
        "f.xlsx, sheet “survey”, row 2, column “type”: “txet” is not a question type XLSForm "
        "knows. Check its spelling."
    ]


# ----------------------------------------------------------------------------------------
# Files that are not XLSForms.


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("file_name", "content", "words"),
    [
        ("form.xlsx", b"", "The file is empty."),
        ("form.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "it looks like a PDF document"),
        ("form.pdf", b"%PDF-1.7", "Upload an XLSForm saved as .xlsx, .xlsm, .xls or .csv"),
        ("form.docx", b"PK\x03\x04", "Upload an XLSForm saved as .xlsx, .xlsm, .xls or .csv"),
        ("form.xls", None, "The file is named .xls but its content is not"),
        ("form.csv", None, "The file is named .csv but its content is not"),
        ("form.xlsx", b"type,name,label\ntext,a,A\n", "The file is named .xlsx"),
        ("form.xlsx", b"PK\x03\x04 damaged beyond repair", "not a readable .xlsx workbook"),
        ("form.xlsx", "word", "This is a Word document"),
        ("form.xlsx", "zip", "This zip file is not an Excel workbook."),
        ("form.xlsx", b"\x89PNG\r\n\x1a\n....", "it looks like an image"),
        ("form.xlsx", b'<?xml version="1.0"?><h:html>', "not the XForm"),
    ],
)
def test_files_that_are_not_xlsforms_are_refused_clearly(
    file_name: str, content: bytes | str | None, words: str
) -> None:
    if content is None:
        content = safety_survey()  # a real workbook, renamed
    elif content == "word":
        content = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"})
    elif content == "zip":
        content = _zip({"notes.txt": b"hello"})
    assert isinstance(content, bytes)
    [problem] = problems_of(content, file_name)

    assert words in problem.message
    assert problem.file == file_name
    assert problem.row is None


def test_a_zip_bomb_is_refused_before_it_is_opened() -> None:
    # 60 MB of zeros compress to about 60 kB: the archive is small, its content is not.
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"\0" * (60 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024

    [problem] = problems_of(bomb)
    assert "would unpack to 60.0 MB; at most 50.0 MB are allowed." in problem.message


def test_a_workbook_of_too_many_files_is_refused() -> None:
    members = {f"xl/media/image{n}.png": b"x" for n in range(2001)}
    [problem] = problems_of(_zip({"xl/workbook.xml": b"<w/>", **members}))

    assert "The workbook contains 2002 files; at most 2000 are allowed." in problem.message


def test_a_file_over_the_upload_limit_is_refused(settings: Any) -> None:
    settings.AMNIYAT_MAX_UPLOAD_BYTES = 1024 * 1024
    content = safety_survey() + b"\0" * (1024 * 1024)

    [problem] = problems_of(content)
    assert problem.message == "The file is larger than 1.0 MB, the most this server accepts."


def test_a_damaged_workbook_never_shows_a_traceback() -> None:
    good = safety_survey()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members["xl/worksheets/sheet1.xml"] = b"<worksheet><sheetData><row><c>"  # truncated XML
    [problem] = problems_of(_zip(members))

    assert "could not be read as an XLSForm" in problem.message


def test_the_schema_keeps_skip_logic_of_questions_and_their_groups() -> None:
    survey = [
        ["type", "name", "label", "required", "relevant"],
        ["select_one yn", "consent", "Consent?", "yes", ""],
        ["begin_group", "safety", "Safety", "", "${consent} = 'yes'"],
        ["select_one yn", "aware", "Aware?", "yes", ""],
        ["integer", "attended", "Attended", "yes", "${aware} = 'yes'"],
        ["end_group", "", "", "", ""],
    ]
    choices = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]
    content = workbook({"survey": survey, "choices": choices})
    converted = xlsform_convert(file_name="skip.xlsx", content=content)
    by_path = {f["path"]: f for f in converted.fields}
    assert by_path["consent"]["relevant_groups"] == []
    assert by_path["safety/aware"]["relevant_groups"] == ["${consent} = 'yes'"]
    assert by_path["safety/attended"]["relevant"] == "${aware} = 'yes'"
    assert by_path["safety/attended"]["relevant_groups"] == ["${consent} = 'yes'"]


def test_a_loop_is_one_group_per_choice_as_in_the_forms_own_instance() -> None:
    """``begin loop over`` a list: pyxform makes one group per choice ("none" left out) with
    the choice's name and label filled in, and that is what phones send and tools export.
    The fields are those of the XForm's own instance, label for label. (KoboToolbox's
    ``transportation.xls``, from kpi's test fixtures: ``imports/real/loop/``.)"""
    real = Path(__file__).resolve().parents[1] / "imports" / "real" / "loop" / "form.xlsx"
    converted = xlsform_convert(file_name="transportation.xlsx", content=real.read_bytes())

    loop = [f for f in converted.fields if "/loop_over_transport_types_frequency/" in f["path"]]
    instance = defused.fromstring(converted.xform).find(
        ".//{http://www.w3.org/2002/xforms}instance/*"
    )
    assert instance is not None
    leaves = {"/".join(part.split("}")[-1] for part in path) for path in _leaf_paths(instance, ())}
    assert {f["path"] for f in loop} == {
        leaf for leaf in leaves if "/loop_over_transport_types_frequency/" in leaf
    }
    assert len(loop) == 10  # nine means of transport and "other"; never "none"
    ambulance = next(f for f in loop if "/ambulance/" in f["path"])
    assert ambulance["label"] == {"default": "Is ambulance available daily or weekly?"}
    assert [c["name"] for c in ambulance["choices"]] == [
        "daily",
        "weekly",
        "other",
        "dont_know",
    ]


def _leaf_paths(node: Element, above: tuple[str, ...]) -> list[tuple[str, ...]]:
    children = list(node)
    if not children:
        return [above]
    return [path for child in children for path in _leaf_paths(child, (*above, child.tag))]


def _macro_enabled(content: bytes) -> bytes:
    """``content`` (an .xlsx) as Excel saves a workbook with macros: the workbook part typed
    ``macroEnabled`` and a VBA project beside it."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" '
                    b'ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                )
            target.writestr(item, data)
        target.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 a macro that is never run")
    return out.getvalue()


def test_a_macro_enabled_workbook_is_an_xlsform_as_pyxform_reads_it() -> None:
    converted = convert(_macro_enabled(safety_survey()), file_name="safety.xlsm")

    assert field(converted, "age")["type"] == "integer"
    assert "<h:html" in converted.xform

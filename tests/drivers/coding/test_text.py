"""Reading notes (encodings, Word, OpenDocument, files that only pretend), cutting them into
sentences with exact offsets, and finding the personal details to redact."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from django.core.exceptions import ValidationError
from odf import text as odf_text
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText

from amniyat.drivers.coding.text import (
    MAX_UPLOAD_BYTES,
    clean_text,
    extract_text,
    find_personal_details,
    split_passages,
)

RUSSIAN = "Вечером на улице страшно. Молодёжь без работы уезжает в Россию."
TAJIK = "Шабона дар кӯча торик аст. Ҷавонон кор надоранд."


def make_docx(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_odt(*paragraphs: str, heading: str = "") -> bytes:
    document = OpenDocumentText()
    if heading:
        document.text.addElement(odf_text.H(outlinelevel=1, text=heading))
    for paragraph in paragraphs:
        document.text.addElement(odf_text.P(text=paragraph))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def message(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(error.value.messages)


# Reading files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "cp1251"],
)
def test_plain_text_is_read_in_the_encodings_offices_save(encoding: str) -> None:
    data = f"{RUSSIAN}\r\n\r\nВторой абзац.".encode(encoding)
    assert extract_text("notes.txt", data) == f"{RUSSIAN}\n\nВторой абзац."


def test_tajik_text_in_utf8_and_markdown_is_read() -> None:
    assert extract_text("Нотаҳо.MD", TAJIK.encode()) == TAJIK


def test_a_word_document_gives_its_paragraphs_and_table_cells_in_order() -> None:
    data = make_docx("Первый абзац.", "Второй абзац.", table=[["Вопрос", "Ответ"]])
    assert extract_text("fgd.docx", data) == "Первый абзац.\nВторой абзац.\nВопрос\nОтвет"


def test_an_opendocument_text_gives_headings_and_paragraphs_in_order() -> None:
    data = make_odt("Ҷавонон кор надоранд.", "Second.", heading="Focus group")
    assert extract_text("fgd.odt", data) == "Focus group\nҶавонон кор надоранд.\nSecond."


def test_a_binary_file_posing_as_docx_is_refused_naming_the_file() -> None:
    with pytest.raises(ValidationError) as error:
        extract_text("C:\\notes\\fgd.docx", bytes(range(256)) * 20)
    assert "“fgd.docx” is not a real Word (.docx) document" in message(error)


def test_a_zip_without_word_parts_posing_as_docx_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("hello.txt", "not a document")
    with pytest.raises(ValidationError) as error:
        extract_text("fgd.docx", buffer.getvalue())
    assert "is not a real Word (.docx) document" in message(error)


def test_a_word_document_renamed_to_odt_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        extract_text("fgd.odt", make_docx("Text."))
    assert "“fgd.odt” is not a real OpenDocument (.odt) document" in message(error)


def test_an_opendocument_spreadsheet_is_not_taken_for_notes() -> None:
    buffer = io.BytesIO()
    OpenDocumentSpreadsheet().write(buffer)
    with pytest.raises(ValidationError) as error:
        extract_text("table.odt", buffer.getvalue())
    assert "not a text document" in message(error)


def test_a_word_document_renamed_to_txt_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        extract_text("fgd.txt", make_docx("Text."))
    assert "“fgd.txt” is not a text file" in message(error)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.txt", b""),
        ("blank.txt", b"  \r\n\t \n"),
        ("empty.docx", make_docx()),
        ("blank.docx", make_docx("   ", "")),
        ("empty.odt", make_odt()),
    ],
)
def test_an_empty_document_is_refused(name: str, data: bytes) -> None:
    with pytest.raises(ValidationError) as error:
        extract_text(name, data)
    assert f"“{name}” is empty." in message(error) or f"“{name}” contains no text." in message(
        error
    )


def test_an_oversized_file_is_refused_before_it_is_read() -> None:
    with pytest.raises(ValidationError) as error:
        extract_text("big.txt", b"a" * (MAX_UPLOAD_BYTES + 1))
    assert "“big.txt” is 5.0 MB; notes may be at most 5.0 MB." in message(error)


def test_other_file_types_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        extract_text("scan.pdf", b"%PDF-1.4 ...")
    assert "“scan.pdf” is not a file Amniyat can read" in message(error)


def test_text_is_cleaned_to_one_form() -> None:
    decomposed = "ку\u0304ча"  # ӯ typed as у + combining macron
    assert clean_text(f"  \r\nA\u200b line  \r\n{decomposed}\x07\n\n") == "A line\nкӯча"


# Sentences ------------------------------------------------------------------------------------


def sentences(text: str) -> list[tuple[int, str]]:
    return [(paragraph, text[start:end]) for paragraph, start, end in split_passages(text)]


def test_sentences_split_on_full_stops_questions_and_ellipses_with_exact_offsets() -> None:
    text = "Страшно ли вам? Да… Ночью особенно!  Хорошо.\n\n  Новый абзац. Ещё."
    assert sentences(text) == [
        (0, "Страшно ли вам?"),
        (0, "Да…"),
        (0, "Ночью особенно!"),
        (0, "Хорошо."),
        (1, "Новый абзац."),
        (1, "Ещё."),
    ]
    for _paragraph, start, end in split_passages(text):
        assert text[start:end] == text[start:end].strip() and end > start


def test_abbreviations_initials_and_lower_case_continuations_do_not_end_a_sentence() -> None:
    text = (
        "Мы живём на ул. Ленина с 2019 г. и всё спокойно. А. Рахимов, т. е. председатель, "
        "согласен. Mr. Smith left. «Почему?» — спросила она. 1. Вопрос о работе?"
    )
    assert [s for _p, s in sentences(text)] == [
        "Мы живём на ул. Ленина с 2019 г. и всё спокойно.",
        "А. Рахимов, т. е. председатель, согласен.",
        "Mr. Smith left.",
        "«Почему?» — спросила она.",
        "1. Вопрос о работе?",
    ]


def test_tajik_and_uzbek_sentences() -> None:
    assert [s for _p, s in sentences(TAJIK + " Yoshlar ishsiz. Nima qilish kerak?")] == [
        "Шабона дар кӯча торик аст.",
        "Ҷавонон кор надоранд.",
        "Yoshlar ishsiz.",
        "Nima qilish kerak?",
    ]


def test_a_text_without_final_punctuation_is_one_passage() -> None:
    assert split_passages("  no full stop here  ") == [(0, 2, 19)]


# Personal details --------------------------------------------------------------------------


def found(text: str, **kwargs: object) -> list[tuple[str, str]]:
    return [(kind, text[s:e]) for kind, s, e in find_personal_details(text, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "phone",
    ["+992 93 123 45 67", "+998 90 123-45-67", "8 (3422) 2-34-56", "(93) 123-45-67", "931234567"],
)
def test_phone_numbers_in_regional_formats_are_flagged(phone: str) -> None:
    assert found(f"Звоните по номеру {phone} вечером.") == [("phone", phone)]


def test_amounts_and_years_are_not_phone_numbers() -> None:
    assert found("Бюджет 150 000 000 сомони в 2021-2022 годах.") == []


def test_emails_are_flagged() -> None:
    assert found("Write to dilnoza.s@mail.tj today.") == [("email", "dilnoza.s@mail.tj")]


@pytest.mark.parametrize(
    "address",
    [
        "ул. Ленина 5, кв. 12",
        "улица Сомони, дом 7",
        "кӯчаи Рӯдакӣ 25",
        "Navoiy ko'chasi 12-uy",
        "Bog'ishamol mahallasi, 12-uy",
        "дом 14, кв. 3",
    ],
)
def test_addresses_are_flagged(address: str) -> None:
    assert found(f"Она живёт: {address}.") == [("address", address)]


def test_a_mahalla_without_a_house_is_a_place_not_an_address() -> None:
    assert found("В махалла Навбахор стало спокойнее.") == []


def test_likely_names_are_flagged() -> None:
    text = (
        "Вчера сосед Рахимов Алишер пришёл. Мавлуда апа ответила. Karim aka agreed. "
        "Каримова отметила это. We met Dilnoza Saidova and Mr Smith. Назарзода молчал."
    )
    assert found(text) == [
        ("name", "Рахимов Алишер"),
        ("name", "Мавлуда апа"),
        ("name", "Karim aka"),
        ("name", "Каримова"),
        ("name", "Dilnoza Saidova"),
        ("name", "Smith"),
        ("name", "Назарзода"),
    ]


def test_ordinary_capitalised_words_are_not_names() -> None:
    text = (
        "Готов помочь. Случаев стало больше. The Community Security Working Group met in "
        "March. ОВД и UNDP помогли. Душанбе далеко."
    )
    assert found(text) == []


def test_known_place_names_are_not_names() -> None:
    text = "Мы ездили в Кушониён и Бохтар Район."
    assert found(text) == [("name", "Кушониён")]  # a Tajik surname ending
    assert found(text, not_names={"Кушониён", "Бохтар"}) == []


def test_flags_never_overlap_and_the_more_certain_kind_wins() -> None:
    text = "Пишите: ivan.petrov@mail.ru или +992 93 123 45 67, ул. Рахимова 5."
    assert found(text) == [
        ("email", "ivan.petrov@mail.ru"),
        ("phone", "+992 93 123 45 67"),
        ("address", "ул. Рахимова 5"),
    ]


def test_finding_is_deterministic() -> None:
    text = "Рахимов Алишер, +992 93 123 45 67, ул. Ленина 5. " * 20
    assert find_personal_details(text) == find_personal_details(text)


def test_an_uzbek_word_with_an_apostrophe_before_a_full_stop_ends_the_sentence() -> None:
    text = "Yordam yo'q. Yoshlar ketmoqda. Ish yo‘q. A. Karimov keldi."
    sentences = [text[start:end] for _paragraph, start, end in split_passages(text)]
    assert sentences == ["Yordam yo'q.", "Yoshlar ketmoqda.", "Ish yo‘q.", "A. Karimov keldi."]


def test_a_docx_that_unpacks_far_beyond_its_size_is_refused() -> None:
    """A Word file is a zip: a bomb posing as notes gets the archive check's message."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>" + " " * 20_000_000)
    with pytest.raises(ValidationError) as refused:
        extract_text("notes.docx", buffer.getvalue())
    assert "“notes.docx” looks like a zip bomb" in str(refused.value)

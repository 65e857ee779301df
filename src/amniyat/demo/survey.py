"""A demo community-security perception survey: its XLSForm and GENERATED respondents.

Nothing produced here is real data. :func:`generate_responses` invents respondents for the demo
programmes (Tajikistan: ten districts; Uzbekistan: Jizzakh, Tashkent and Namangan regions) so that
the forms, imports, analysis and reports can be shown and tested end to end; the app labels them as
demo data. The settlements and their populations (``data/survey.yaml``) are invented too.

- :func:`build_xlsform` writes the questionnaire as an XLSForm (``survey``, ``choices``,
  ``settings``) in English, Russian, Tajik (Cyrillic) and Uzbek (Latin); pyxform converts it.
- :func:`generate_responses` draws one phase (baseline or endline) of a stratified two-stage
  sample: districts are strata; settlements are the primary sampling units, drawn with probability
  proportional to their adult population (systematic PPS, large settlements taken with
  certainty); respondents are then drawn within each selected settlement. The same seed selects
  the same settlements at both phases (a repeated cross-section over fixed clusters), with fresh
  respondents. The answers follow the patterns the programme profiles describe; the built-in
  effects are listed in :data:`BUILT_IN_EFFECTS`.
- :func:`design_info` names the weight, strata and cluster fields for the analysis.

Respondents who refused consent are replaced within their settlement and are not in the frame;
item refusals and missing answers are (``trust_*`` left blank, ``refused``, ``dont_know``).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import polars as pl
import yaml
from numpy.typing import NDArray
from openpyxl import Workbook

__all__ = [
    "BUILT_IN_EFFECTS",
    "CONCERNS",
    "DEFAULT_N",
    "FIELDS",
    "FIELDWORK",
    "LANGUAGES",
    "build_xlsform",
    "design_info",
    "generate_responses",
]

Country = Literal["TJ", "UZ"]
Phase = Literal["baseline", "endline"]
Labels = dict[str, str]

COUNTRIES: Final[tuple[Country, ...]] = ("TJ", "UZ")
PHASES: Final[tuple[Phase, ...]] = ("baseline", "endline")

LANGUAGES: Final[dict[str, str]] = {
    "en": "English (en)",
    "ru": "Russian (ru)",
    "tg": "Tajik (tg)",
    "uz": "Uzbek (uz)",
}
"""Language codes and the XLSForm column suffix of each (``label::English (en)``)."""

DEFAULT_N: Final[dict[Country, int]] = {"TJ": 3000, "UZ": 1500}
"""Respondents per phase when ``n`` is not given."""

FORM_VERSION: Final[dict[Country, str]] = {"TJ": "2021090101", "UZ": "2021030101"}

CONCERNS: Final[tuple[str, ...]] = (
    "unemployment",
    "youth_idleness",
    "gbv",
    "domestic_violence",
    "police_abuse",
    "corruption",
    "drugs",
    "theft",
    "conflict_neighbours",
    "radicalisation",
    "poor_services",
    "land_water",
)
AGE_BANDS: Final[tuple[str, ...]] = ("under_18", "18_24", "25_29", "30_44", "45_59", "60_plus")
SAFETY: Final[tuple[str, ...]] = ("very_unsafe", "unsafe", "safe", "very_safe")
TRUST: Final[tuple[str, ...]] = ("1", "2", "3", "4", "5")

FIELDS: Final[tuple[str, ...]] = (
    "start",
    "end",
    "enumerator",
    "consent",
    "district",
    "settlement",
    "sex",
    "age",
    "age_band",
    "returning_migrant",
    "safe_day",
    "safe_night",
    "concerns",
    "causes",
    "trust_police",
    "trust_local_authority",
    "authorities_consult",
    "women_participate",
    "youth_participate",
    "aware_community_group",
    "participated_community_meeting",
    "harassment_experienced",
    "violence_experienced",
    "weight",
    "stratum",
    "cluster",
    "instance_id",
    "submitted_at",
)
"""Columns of a generated frame, in questionnaire order (meta and submission data included)."""

DATA_FILE: Final = Path(__file__).parent / "data" / "survey.yaml"
PLACES_FILE: Final = Path(__file__).resolve().parents[1] / "places" / "data" / "administrative.yaml"

# --------------------------------------------------------------------------------------------
# The questionnaire
# --------------------------------------------------------------------------------------------


def _t(en: str, ru: str, tg: str, uz: str) -> Labels:
    return {"en": en, "ru": ru, "tg": tg, "uz": uz}


@dataclass(frozen=True, slots=True)
class _Row:
    """One row of the ``survey`` sheet."""

    type: str
    name: str
    label: Labels | None = None
    hint: Labels | None = None
    required: bool = False
    relevant: str = ""
    constraint: str = ""
    constraint_message: Labels | None = None
    calculation: str = ""
    choice_filter: str = ""
    appearance: str = ""
    bind_type: str = ""


CONSENTED: Final = "${consent} = 'yes'"

YES = _t("Yes", "Да", "Ҳа", "Ha")
NO = _t("No", "Нет", "Не", "Yoʻq")
DONT_KNOW = _t("Don't know", "Не знаю", "Намедонам", "Bilmayman")
REFUSED = _t(
    "Prefer not to say", "Не хочу отвечать", "Намехоҳам ҷавоб диҳам", "Javob berishni istamayman"
)

CONCERN_LABELS: Final[dict[str, Labels]] = {
    "unemployment": _t("Unemployment", "Безработица", "Бекорӣ", "Ishsizlik"),
    "youth_idleness": _t(
        "Young people with nothing to do",
        "Молодёжи нечем заняться",
        "Бекоргардии ҷавонон",
        "Yoshlarning bekorchiligi",
    ),
    "gbv": _t(
        "Violence and harassment against women and girls",
        "Насилие и приставания в отношении женщин и девушек",
        "Зӯроварӣ ва озор нисбати занон ва духтарон",
        "Ayollar va qizlarga nisbatan zoʻravonlik va tazyiq",
    ),
    "domestic_violence": _t(
        "Violence in the family", "Насилие в семье", "Зӯроварӣ дар оила", "Oiladagi zoʻravonlik"
    ),
    "police_abuse": _t(
        "Abuse or mistreatment by the police",
        "Произвол и грубость со стороны милиции",
        "Сӯиистифода ва муносибати бади милитсия",
        "Militsiya xodimlarining oʻzboshimchaligi va qoʻpolligi",
    ),
    "corruption": _t(
        "Corruption and bribes",
        "Коррупция и взятки",
        "Коррупсия ва ришвахорӣ",
        "Korrupsiya va poraxoʻrlik",
    ),
    "drugs": _t("Drugs", "Наркотики", "Маводи мухаддир", "Giyohvandlik"),
    "theft": _t(
        "Theft and robbery", "Кражи и грабежи", "Дуздӣ ва ғоратгарӣ", "Oʻgʻrilik va talonchilik"
    ),
    "conflict_neighbours": _t(
        "Disputes between neighbours or with neighbouring communities",
        "Конфликты между соседями или с соседними сёлами",
        "Низоъ байни ҳамсояҳо ё бо деҳаҳои ҳамсоя",
        "Qoʻshnilar yoki qoʻshni qishloqlar bilan nizolar",
    ),
    "radicalisation": _t(
        "Radicalisation and recruitment into violent groups",
        "Радикализация и вербовка в насильственные группы",
        "Радикализатсия ва ҷалб ба гурӯҳҳои зӯровар",
        "Radikallashuv va zoʻravon guruhlarga yollash",
    ),
    "poor_services": _t(
        "Poor public services (health care, schools, electricity, drinking water)",
        "Плохие услуги (медицина, школы, электричество, питьевая вода)",
        "Хизматрасонии бесифат (тандурустӣ, мактаб, барқ, оби нӯшокӣ)",
        "Sifatsiz xizmatlar (tibbiyot, maktab, elektr, ichimlik suvi)",
    ),
    "land_water": _t(
        "Disputes over land or irrigation water",
        "Споры из-за земли или поливной воды",
        "Баҳс барои замин ё оби обёрӣ",
        "Yer yoki sugʻorish suvi boʻyicha nizolar",
    ),
}

SAFETY_LABELS: Final[dict[str, Labels]] = {
    "very_safe": _t("Very safe", "Очень безопасно", "Хеле бехатар", "Juda xavfsiz"),
    "safe": _t("Safe", "Безопасно", "Бехатар", "Xavfsiz"),
    "unsafe": _t("Unsafe", "Небезопасно", "Бехатар нест", "Xavfsiz emas"),
    "very_unsafe": _t(
        "Very unsafe", "Совсем небезопасно", "Тамоман бехатар нест", "Umuman xavfsiz emas"
    ),
}

TRUST_LABELS: Final[dict[str, Labels]] = {
    "1": _t(
        "1 – not at all",
        "1 – совсем не доверяю",
        "1 – умуман боварӣ надорам",
        "1 – umuman ishonmayman",
    ),
    "2": _t("2 – a little", "2 – немного доверяю", "2 – каме боварӣ дорам", "2 – biroz ishonaman"),
    "3": _t(
        "3 – somewhat", "3 – отчасти доверяю", "3 – қисман боварӣ дорам", "3 – qisman ishonaman"
    ),
    "4": _t(
        "4 – mostly", "4 – в основном доверяю", "4 – асосан боварӣ дорам", "4 – asosan ishonaman"
    ),
    "5": _t(
        "5 – completely", "5 – полностью доверяю", "5 – пурра боварӣ дорам", "5 – toʻliq ishonaman"
    ),
}

TRUST_HINT: Final = _t(
    "Show the card: 1 = not at all, 5 = completely. Leave blank if the respondent prefers not to "
    "answer.",
    "Покажите карточку: 1 – совсем не доверяю, 5 – полностью доверяю. Оставьте пустым, если "
    "респондент не хочет отвечать.",
    "Кортро нишон диҳед: 1 – умуман боварӣ надорам, 5 – пурра боварӣ дорам. Агар пурсидашаванда "
    "ҷавоб додан нахоҳад, холӣ гузоред.",
    "Kartochkani koʻrsating: 1 – umuman ishonmayman, 5 – toʻliq ishonaman. Respondent javob "
    "berishni istamasa, boʻsh qoldiring.",
)

AGE_BAND_CALCULATION: Final = (
    "if(${age} < 18, 'under_18', if(${age} < 25, '18_24', if(${age} < 30, '25_29', "
    "if(${age} < 45, '30_44', if(${age} < 60, '45_59', '60_plus')))))"
)


def _local_authority_label(country: Country) -> Labels:
    if country == "TJ":
        return _t(
            "How much do you trust the local authorities (the district hukumat and the jamoat)?",
            "Насколько вы доверяете местной власти (хукумату района и джамоату)?",
            "Шумо ба мақомоти маҳаллӣ (ҳукумати ноҳия ва ҷамоат) то чӣ андоза боварӣ доред?",
            "Mahalliy hokimiyatga (tuman hukumati va jamoatga) qanchalik ishonasiz?",
        )
    return _t(
        "How much do you trust the local authorities (the district khokimiyat and the mahalla "
        "committee)?",
        "Насколько вы доверяете местной власти (хокимияту района и махаллинскому комитету)?",
        "Шумо ба мақомоти маҳаллӣ (ҳокимияти ноҳия ва кумитаи маҳалла) то чӣ андоза боварӣ доред?",
        "Mahalliy hokimiyatga (tuman hokimligi va mahalla fuqarolar yigʻiniga) qanchalik "
        "ishonasiz?",
    )


def _community_group_label(country: Country) -> Labels:
    if country == "TJ":
        return _t(
            "Have you heard of a community group in your area that works with the authorities "
            "and the police on safety problems?",
            "Слышали ли вы об инициативной группе в вашей местности, которая вместе с властями "
            "и милицией решает проблемы безопасности?",
            "Оё шумо дар бораи гурӯҳи ташаббускори ҷомеа дар маҳалли худ шунидаед, ки якҷоя бо "
            "мақомот ва милитсия мушкилоти амниятро ҳал мекунад?",
            "Hududingizda hokimiyat va militsiya bilan birga xavfsizlik muammolarini hal "
            "qiladigan jamoa tashabbus guruhi haqida eshitganmisiz?",
        )
    return _t(
        "Have you heard of a community security working group in your area, where residents, "
        "officials and the police work together on safety problems?",
        "Слышали ли вы о рабочей группе по безопасности сообществ в вашей местности, где жители, "
        "представители власти и милиция вместе решают проблемы безопасности?",
        "Оё шумо дар бораи гурӯҳи кории амнияти ҷомеа дар маҳалли худ шунидаед, ки дар он сокинон, "
        "мансабдорон ва милитсия якҷоя мушкилоти амниятро ҳал мекунанд?",
        "Hududingizda aholi, mansabdorlar va militsiya birgalikda xavfsizlik muammolarini hal "
        "qiladigan jamoat xavfsizligi boʻyicha ishchi guruh haqida eshitganmisiz?",
    )


def _survey_rows(country: Country) -> list[_Row]:
    """The questionnaire, in order. Everything after consent is asked only with consent."""
    past_year = _t(
        "The past 12 months: since this month last year.",
        "Последние 12 месяцев: с этого месяца прошлого года.",
        "12 моҳи охир: аз ҳамин моҳи соли гузашта.",
        "Soʻnggi 12 oy: oʻtgan yilning shu oyidan beri.",
    )
    return [
        _Row("start", "start"),
        _Row("end", "end"),
        _Row("username", "enumerator"),
        _Row(
            "select_one consent",
            "consent",
            _t(
                "We are talking with people in this community about how safe they feel and what "
                "could make life here safer. The interview takes about 20 minutes. We do not write "
                "down your name, your answers stay confidential, and you can skip any question or "
                "stop at any time. Do you agree to take part?",
                "Мы беседуем с жителями вашего сообщества о том, насколько безопасно они себя "
                "чувствуют и что могло бы сделать жизнь здесь безопаснее. Интервью займёт около "
                "20 минут. Мы не записываем ваше имя, ваши ответы останутся конфиденциальными, "
                "вы можете пропустить любой вопрос или прекратить интервью в любой момент. Вы "
                "согласны принять участие?",
                "Мо бо сокинони ҷомеаи шумо дар бораи он сӯҳбат мекунем, ки онҳо худро то чӣ "
                "андоза бехатар ҳис мекунанд ва чӣ метавонад зиндагии ин ҷоро бехатартар гардонад. "
                "Мусоҳиба тақрибан 20 дақиқа давом мекунад. Мо номи шуморо сабт намекунем, "
                "ҷавобҳои шумо махфӣ мемонанд ва шумо метавонед ба ҳар саволе ҷавоб надиҳед ё "
                "мусоҳибаро дар ҳар лаҳза қатъ кунед. Шумо розӣ ҳастед, ки иштирок кунед?",
                "Biz jamoangiz aholisi bilan ular oʻzlarini qanchalik xavfsiz his qilishlari va bu "
                "yerdagi hayotni nima xavfsizroq qilishi mumkinligi haqida suhbatlashyapmiz. "
                "Suhbat taxminan 20 daqiqa davom etadi. Biz ismingizni yozib olmaymiz, "
                "javoblaringiz maxfiy saqlanadi, istalgan savolga javob bermasligingiz yoki "
                "suhbatni istalgan vaqtda toʻxtatishingiz mumkin. Ishtirok etishga rozimisiz?",
            ),
            _t(
                "If the answer is No, thank the person and end the interview.",
                "Если ответ «Нет», поблагодарите человека и завершите интервью.",
                "Агар ҷавоб «Не» бошад, ба шахс ташаккур гӯед ва мусоҳибаро анҷом диҳед.",
                "Agar javob “Yoʻq” boʻlsa, suhbatdoshga rahmat aytib, suhbatni yakunlang.",
            ),
            required=True,
        ),
        _Row(
            "select_one district",
            "district",
            _t("District or city", "Район или город", "Ноҳия ё шаҳр", "Tuman yoki shahar"),
            _t(
                "Where the interview takes place.",
                "Где проходит интервью.",
                "Ҷойе, ки мусоҳиба мегузарад.",
                "Suhbat oʻtkazilayotgan joy.",
            ),
            required=True,
            relevant=CONSENTED,
            appearance="minimal",
        ),
        _Row(
            "select_one settlement",
            "settlement",
            _t(
                "Settlement (village or mahalla)",
                "Населённый пункт (село или махалля)",
                "Маҳалли аҳолинишин (деҳа ё маҳалла)",
                "Aholi punkti (qishloq yoki mahalla)",
            ),
            _t(
                "Only the sampled settlements of the district chosen above are listed.",
                "В списке только населённые пункты выборки в выбранном выше районе.",
                "Дар рӯйхат танҳо маҳалҳои интихобшудаи ноҳияи дар боло қайдшуда ҳастанд.",
                "Roʻyxatda faqat yuqorida tanlangan tumandagi tanlanma aholi punktlari bor.",
            ),
            required=True,
            relevant=CONSENTED,
            choice_filter="district = ${district}",
            appearance="minimal",
        ),
        _Row(
            "select_one sex",
            "sex",
            _t(
                "Respondent's sex",
                "Пол респондента",
                "Ҷинси пурсидашаванда",
                "Respondentning jinsi",
            ),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "integer",
            "age",
            _t("How old are you?", "Сколько вам лет?", "Шумо чандсолаед?", "Yoshingiz nechada?"),
            _t("Completed years.", "Полных лет.", "Солҳои пурра.", "Toʻliq yillar."),
            required=True,
            relevant=CONSENTED,
            constraint=". >= 15 and . <= 90",
            constraint_message=_t(
                "We interview people aged 15 to 90.",
                "Мы опрашиваем людей в возрасте от 15 до 90 лет.",
                "Мо одамони аз 15 то 90 соларо мепурсем.",
                "Biz 15 yoshdan 90 yoshgacha boʻlgan odamlar bilan suhbatlashamiz.",
            ),
        ),
        _Row("calculate", "age_band", relevant=CONSENTED, calculation=AGE_BAND_CALCULATION),
        _Row(
            "select_one yes_no",
            "returning_migrant",
            _t(
                "In the past three years, have you come back from working abroad (for example in "
                "Russia or Kazakhstan)?",
                "Вернулись ли вы за последние три года с работы за рубежом (например, из России "
                "или Казахстана)?",
                "Оё шумо дар се соли охир аз кор дар хориҷа (масалан, аз Русия ё Қазоқистон) "
                "баргаштаед?",
                "Soʻnggi uch yil ichida chet eldagi ishdan (masalan, Rossiya yoki Qozogʻistondan) "
                "qaytib keldingizmi?",
            ),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "begin group",
            "safety",
            _t(
                "Safety in your community",
                "Безопасность в вашем сообществе",
                "Амният дар ҷомеаи шумо",
                "Jamoangizdagi xavfsizlik",
            ),
            relevant=CONSENTED,
        ),
        _Row(
            "select_one safety",
            "safe_day",
            _t(
                "How safe do you feel walking around your neighbourhood during the day?",
                "Насколько безопасно вы чувствуете себя, когда ходите по своей махалле днём?",
                "Вақте ки рӯзона дар маҳаллаи худ роҳ меравед, худро то чӣ андоза бехатар ҳис "
                "мекунед?",
                "Kunduzi mahallangizda yurganingizda oʻzingizni qanchalik xavfsiz his qilasiz?",
            ),
            required=True,
            appearance="likert",
        ),
        _Row(
            "select_one safety",
            "safe_night",
            _t(
                "And after dark?",
                "А после наступления темноты?",
                "Ва пас аз торик шудани ҳаво чӣ?",
                "Qorongʻi tushgandan keyin-chi?",
            ),
            _t(
                "Walking around the neighbourhood after dark.",
                "Когда ходите по махалле в тёмное время суток.",
                "Вақте ки шабона дар маҳалла роҳ меравед.",
                "Qorongʻida mahallada yurganda.",
            ),
            required=True,
            appearance="likert",
        ),
        _Row(
            "select_multiple concerns",
            "concerns",
            _t(
                "Which of these are the main problems for people's safety in your community? "
                "Choose all that apply.",
                "Какие из этих проблем больше всего мешают людям чувствовать себя в безопасности "
                "в вашем сообществе? Отметьте все подходящие.",
                "Кадоме аз ин мушкилот ба амнияти мардуми ҷомеаи шумо бештар халал мерасонанд? "
                "Ҳамаи мувофиқро қайд кунед.",
                "Quyidagilardan qaysilari jamoangizda odamlar xavfsizligi uchun asosiy muammo? "
                "Barcha mosini belgilang.",
            ),
            _t(
                "Read the list aloud.",
                "Зачитайте список вслух.",
                "Рӯйхатро бо овози баланд хонед.",
                "Roʻyxatni ovoz chiqarib oʻqing.",
            ),
            required=True,
        ),
        _Row(
            "text",
            "causes",
            _t(
                "What makes people feel unsafe here, and why?",
                "Из-за чего люди здесь чувствуют себя в опасности и почему?",
                "Чӣ боис мешавад, ки одамон дар ин ҷо худро бехатар ҳис накунанд ва чаро?",
                "Bu yerda odamlarni nima xavotirga soladi va nima uchun?",
            ),
            _t(
                "Optional. Write the answer in the respondent's own words, in any language. Do not "
                "write names.",
                "Необязательный вопрос. Запишите ответ словами респондента, на любом языке. Не "
                "записывайте имена.",
                "Саволи ихтиёрӣ. Ҷавобро бо суханони худи пурсидашаванда, бо ҳар забон нависед. "
                "Номҳоро нанависед.",
                "Ixtiyoriy savol. Javobni respondentning oʻz soʻzlari bilan, istalgan tilda "
                "yozing. Ismlarni yozmang.",
            ),
            appearance="multiline",
        ),
        _Row("end group", "safety"),
        _Row(
            "select_one trust",
            "trust_police",
            _t(
                "How much do you trust the police (militsiya) in your district?",
                "Насколько вы доверяете милиции в вашем районе?",
                "Шумо ба милитсияи ноҳияи худ то чӣ андоза боварӣ доред?",
                "Tumaningizdagi militsiyaga qanchalik ishonasiz?",
            ),
            TRUST_HINT,
            relevant=CONSENTED,
            appearance="likert",
        ),
        _Row(
            "select_one trust",
            "trust_local_authority",
            _local_authority_label(country),
            TRUST_HINT,
            relevant=CONSENTED,
            appearance="likert",
        ),
        _Row(
            "select_one yes_no_dk",
            "authorities_consult",
            _t(
                "In the past 12 months, have the local authorities or the police asked people in "
                "your community about their safety concerns, for example at a meeting?",
                "За последние 12 месяцев спрашивали ли местные власти или милиция жителей вашего "
                "сообщества об их проблемах безопасности, например на собрании?",
                "Дар 12 моҳи охир оё мақомоти маҳаллӣ ё милитсия аз сокинони ҷомеаи шумо дар "
                "бораи мушкилоти амниятиашон пурсидаанд, масалан дар ҷаласа?",
                "Soʻnggi 12 oy ichida mahalliy hokimiyat yoki militsiya jamoangiz aholisidan "
                "xavfsizlik muammolari haqida soʻraganmi, masalan yigʻilishda?",
            ),
            past_year,
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "select_one yes_no_dk",
            "women_participate",
            _t(
                "Do women in your community take part in decisions about local safety?",
                "Участвуют ли женщины вашего сообщества в решениях о местной безопасности?",
                "Оё занони ҷомеаи шумо дар қабули қарорҳо оид ба амнияти маҳаллӣ иштирок мекунанд?",
                "Jamoangizdagi ayollar mahalliy xavfsizlik boʻyicha qarorlarda ishtirok etadimi?",
            ),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "select_one yes_no_dk",
            "youth_participate",
            _t(
                "Do young people in your community take part in decisions about local safety?",
                "Участвует ли молодёжь вашего сообщества в решениях о местной безопасности?",
                "Оё ҷавонони ҷомеаи шумо дар қабули қарорҳо оид ба амнияти маҳаллӣ иштирок "
                "мекунанд?",
                "Jamoangizdagi yoshlar mahalliy xavfsizlik boʻyicha qarorlarda ishtirok etadimi?",
            ),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "select_one yes_no",
            "aware_community_group",
            _community_group_label(country),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "select_one yes_no",
            "participated_community_meeting",
            _t(
                "In the past 12 months, have you taken part in a meeting this group organised?",
                "За последние 12 месяцев участвовали ли вы во встрече, которую организовала эта "
                "группа?",
                "Дар 12 моҳи охир оё шумо дар ҷаласае, ки ин гурӯҳ ташкил кардааст, иштирок "
                "кардаед?",
                "Soʻnggi 12 oy ichida ushbu guruh tashkil qilgan yigʻilishda qatnashganmisiz?",
            ),
            required=True,
            relevant="${aware_community_group} = 'yes'",
        ),
        _Row(
            "note",
            "sensitive_intro",
            _t(
                "The next two questions are personal. You do not have to answer them: you can "
                "say that you prefer not to say.",
                "Следующие два вопроса – личные. Вы не обязаны на них отвечать: можно сказать, "
                "что не хотите отвечать.",
                "Ду саволи навбатӣ шахсӣ мебошанд. Шумо ҳатман ба онҳо ҷавоб намедиҳед: "
                "метавонед гӯед, ки намехоҳед ҷавоб диҳед.",
                "Keyingi ikki savol shaxsiy. Ularga javob berishingiz shart emas: javob berishni "
                "istamasligingizni aytishingiz mumkin.",
            ),
            _t(
                "Make sure nobody else can hear the answers.",
                "Убедитесь, что ответы никто больше не слышит.",
                "Боварӣ ҳосил кунед, ки ҷавобҳоро каси дигар намешунавад.",
                "Javoblarni boshqa hech kim eshitmayotganiga ishonch hosil qiling.",
            ),
            relevant=CONSENTED,
        ),
        _Row(
            "select_one yes_no_refused",
            "harassment_experienced",
            _t(
                "In the past 12 months, has anyone harassed you in a public place, for example "
                "with insults, unwanted touching or by following you?",
                "За последние 12 месяцев приставал ли к вам кто-нибудь в общественном месте, "
                "например оскорблял, трогал без вашего согласия или преследовал?",
                "Дар 12 моҳи охир оё касе дар ҷои ҷамъиятӣ ба шумо озор додааст, масалан таҳқир "
                "кардааст, бе иҷозат даст расондааст ё аз пайи шумо рафтааст?",
                "Soʻnggi 12 oy ichida jamoat joyida kimdir sizga tazyiq oʻtkazganmi, masalan "
                "haqorat qilgan, ruxsatingizsiz tekkan yoki ortingizdan yurgan?",
            ),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "select_one yes_no_refused",
            "violence_experienced",
            _t(
                "In the past 12 months, has anyone used physical violence against you?",
                "За последние 12 месяцев применял ли кто-нибудь к вам физическое насилие?",
                "Дар 12 моҳи охир оё касе нисбати шумо зӯроварии ҷисмонӣ кардааст?",
                "Soʻnggi 12 oy ichida kimdir sizga nisbatan jismoniy zoʻravonlik qilganmi?",
            ),
            _t(
                "Anywhere: at home, in the street, at work, or by officials.",
                "Где угодно: дома, на улице, на работе или со стороны должностных лиц.",
                "Дар ҳар ҷо: дар хона, дар кӯча, дар ҷои кор ё аз ҷониби мансабдорон.",
                "Istalgan joyda: uyda, koʻchada, ishda yoki mansabdor shaxslar tomonidan.",
            ),
            required=True,
            relevant=CONSENTED,
        ),
        _Row(
            "calculate",
            "weight",
            relevant=CONSENTED,
            calculation="instance('settlement')/root/item[name = ${settlement}]/design_weight",
            bind_type="decimal",
        ),
        _Row("calculate", "stratum", relevant=CONSENTED, calculation="${district}"),
        _Row("calculate", "cluster", relevant=CONSENTED, calculation="${settlement}"),
        _Row(
            "note",
            "thanks",
            _t(
                "Thank you for your time.",
                "Спасибо, что уделили нам время.",
                "Ташаккур, ки вақт ҷудо кардед.",
                "Vaqt ajratganingiz uchun rahmat.",
            ),
            relevant=CONSENTED,
        ),
    ]


@dataclass(frozen=True, slots=True)
class _Choice:
    list_name: str
    name: str
    label: Labels
    district: str = ""
    design_weight: str = ""


def _choice_rows(country: Country) -> list[_Choice]:
    rows = [
        _Choice("consent", "yes", YES),
        _Choice("consent", "no", NO),
        _Choice("yes_no", "yes", YES),
        _Choice("yes_no", "no", NO),
        _Choice("yes_no_dk", "yes", YES),
        _Choice("yes_no_dk", "no", NO),
        _Choice("yes_no_dk", "dont_know", DONT_KNOW),
        _Choice("yes_no_refused", "yes", YES),
        _Choice("yes_no_refused", "no", NO),
        _Choice("yes_no_refused", "refused", REFUSED),
        _Choice("sex", "female", _t("Female", "Женский", "Зан", "Ayol")),
        _Choice("sex", "male", _t("Male", "Мужской", "Мард", "Erkak")),
    ]
    rows += [_Choice("safety", name, SAFETY_LABELS[name]) for name in reversed(SAFETY)]
    rows += [_Choice("trust", name, TRUST_LABELS[name]) for name in TRUST]
    rows += [_Choice("concerns", name, CONCERN_LABELS[name]) for name in CONCERNS]
    names = _district_names()
    frame = _sampling_frame(country)
    rows += [_Choice("district", d.code, names[d.code]) for d in frame.districts]
    planned = _planned_design_weights(country)
    rows += [
        _Choice("settlement", s.code, s.names, s.district, f"{planned[s.code]:.2f}")
        for s in frame.settlements
    ]
    return rows


def build_xlsform(country: Country) -> bytes:
    """The demo survey of a programme country as an XLSForm workbook (``.xlsx`` bytes).

    Every label, hint and constraint message is in English, Russian, Tajik and Uzbek. The
    settlement list carries each settlement's planned design weight (``design_weight``), which
    the hidden ``weight`` calculation looks up; the survey team fills it when it draws the sample.
    """
    country = _check_country(country)
    book = Workbook()
    survey = book.active
    assert survey is not None  # a new workbook always has one sheet
    survey.title = "survey"
    langs = list(LANGUAGES.values())
    survey.append(
        [
            "type",
            "name",
            *(f"label::{lang}" for lang in langs),
            *(f"hint::{lang}" for lang in langs),
            "required",
            "relevant",
            "constraint",
            *(f"constraint_message::{lang}" for lang in langs),
            "calculation",
            "choice_filter",
            "appearance",
            "bind::type",
        ]
    )
    for row in _survey_rows(country):
        survey.append(
            [
                row.type,
                row.name,
                *_in_languages(row.label),
                *_in_languages(row.hint),
                "yes" if row.required else "",
                row.relevant,
                row.constraint,
                *_in_languages(row.constraint_message),
                row.calculation,
                row.choice_filter,
                row.appearance,
                row.bind_type,
            ]
        )
    choices = book.create_sheet("choices")
    choices.append(
        ["list_name", "name", *(f"label::{lang}" for lang in langs), "district", "design_weight"]
    )
    for choice in _choice_rows(country):
        choices.append(
            [
                choice.list_name,
                choice.name,
                *_in_languages(choice.label),
                choice.district,
                choice.design_weight,
            ]
        )
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(
        [
            f"Community security perception survey — {_COUNTRY_NAMES[country]}",
            f"community_security_{country.lower()}",
            FORM_VERSION[country],
            LANGUAGES["en"],
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _in_languages(labels: Labels | None) -> list[str]:
    if labels is None:
        return [""] * len(LANGUAGES)
    return [labels[code] for code in LANGUAGES]


_COUNTRY_NAMES: Final[dict[Country, str]] = {"TJ": "Tajikistan", "UZ": "Uzbekistan"}

# --------------------------------------------------------------------------------------------
# The sampling frame and design
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Effects:
    """How a district differs from the country's average respondent (logit or latent scale)."""

    day: float = 0.0
    night: float = 0.0
    police: float = 0.0
    authority: float = 0.0
    consult: float = 0.0
    women: float = 0.0
    migration: float = 1.0  # multiplies the chance of being a returning migrant
    urban: bool = False
    endline_police: float = 0.0  # extra change in trust in police at endline
    endline_consult: float = 0.0  # extra change in authorities_consult at endline
    concerns: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _DistrictPlan:
    code: str
    clusters: int  # settlements sampled (m_h)
    existing_group: bool  # a community group / CSWG predates the programme
    effects: _Effects


# Tajikistan. Existing groups (from the 2018-2020 project): Bobojon Ghafurov, Isfara, Kulob,
# Vakhsh, Vahdat. Border and remote districts differ most from Vahdat, next to Dushanbe.
_TJ_PLAN: Final[tuple[_DistrictPlan, ...]] = (
    _DistrictPlan(
        "TJ-SU-BGH",
        5,
        True,
        _Effects(
            day=0.1,
            night=0.1,
            concerns={"theft": 0.3, "corruption": 0.3, "land_water": 0.3},
        ),
    ),
    _DistrictPlan(
        "TJ-KT-HAM",
        5,
        False,
        _Effects(
            night=-0.2,
            police=-0.1,
            migration=1.2,
            concerns={"land_water": 0.6, "drugs": 0.5, "unemployment": 0.3},
        ),
    ),
    # On the Kyrgyz border: clashes over water and roads in April 2021.
    _DistrictPlan(
        "TJ-SU-ISF",
        5,
        True,
        _Effects(
            day=-0.3,
            night=-0.45,
            police=-0.1,
            authority=-0.2,
            consult=-0.2,
            urban=True,
            concerns={"conflict_neighbours": 1.6, "land_water": 1.3, "drugs": 0.3},
        ),
    ),
    _DistrictPlan(
        "TJ-KT-KUS",
        5,
        False,
        _Effects(police=0.1, migration=1.2, concerns={"land_water": 0.7, "unemployment": 0.3}),
    ),
    _DistrictPlan(
        "TJ-KT-KUL",
        6,
        True,
        _Effects(
            night=-0.25,
            police=0.1,
            authority=0.1,
            urban=True,
            concerns={"drugs": 0.6, "theft": 0.5, "corruption": 0.3},
        ),
    ),
    _DistrictPlan(
        "TJ-RA-NUR",
        4,
        False,
        _Effects(
            day=0.2,
            police=-0.4,
            authority=-0.3,
            consult=-0.4,
            migration=1.3,
            concerns={"poor_services": 0.8, "radicalisation": 0.5, "unemployment": 0.4},
        ),
    ),
    _DistrictPlan(
        "TJ-RA-TOJ",
        4,
        False,
        _Effects(
            day=0.2,
            police=-0.35,
            authority=-0.2,
            consult=-0.3,
            migration=1.3,
            concerns={"poor_services": 0.7, "radicalisation": 0.4, "unemployment": 0.3},
        ),
    ),
    _DistrictPlan(
        "TJ-RA-VAH",
        6,
        True,
        _Effects(
            day=0.3,
            night=0.35,
            police=0.35,
            authority=0.3,
            consult=0.3,
            migration=0.8,
            urban=True,
            concerns={"theft": 0.4, "drugs": -0.2, "poor_services": -0.5},
        ),
    ),
    _DistrictPlan(
        "TJ-KT-VAK",
        5,
        True,
        _Effects(
            police=0.1,
            migration=1.1,
            concerns={"land_water": 0.6, "youth_idleness": 0.2},
        ),
    ),
    # Remote, on the Afghan border; trust in the police fell after the unrest in
    # Gorno-Badakhshan in May 2022, just before the endline.
    _DistrictPlan(
        "TJ-GB-VAN",
        4,
        False,
        _Effects(
            day=0.35,
            police=-0.7,
            authority=-0.5,
            consult=-0.6,
            migration=1.1,
            endline_police=-0.5,
            endline_consult=-0.35,
            concerns={
                "poor_services": 1.1,
                "drugs": 0.8,
                "police_abuse": 0.6,
                "unemployment": 0.3,
                "theft": -0.6,
            },
        ),
    ),
)

# Uzbekistan. Existing CSWGs (2018-2019 pilot): Jizzakh region.
_UZ_PLAN: Final[tuple[_DistrictPlan, ...]] = (
    _DistrictPlan(
        "UZ-JI-JIZ",
        5,
        True,
        _Effects(day=0.1, police=0.1, urban=True, concerns={"unemployment": 0.2}),
    ),
    _DistrictPlan(
        "UZ-JI-ZOM",
        4,
        True,
        _Effects(day=0.2, night=0.1, concerns={"land_water": 0.5, "poor_services": 0.4}),
    ),
    _DistrictPlan(
        "UZ-JI-FOR",
        4,
        True,
        _Effects(
            police=-0.1,
            consult=-0.2,
            migration=1.3,
            concerns={"land_water": 0.7, "poor_services": 0.7, "unemployment": 0.4},
        ),
    ),
    _DistrictPlan(
        "UZ-TK-YUN",
        6,
        False,
        _Effects(
            day=0.15,
            night=-0.1,
            police=0.3,
            authority=0.2,
            women=0.3,
            migration=0.5,
            urban=True,
            concerns={
                "theft": 0.6,
                "drugs": 0.3,
                "corruption": 0.2,
                "unemployment": -0.5,
                "poor_services": -0.8,
            },
        ),
    ),
    _DistrictPlan(
        "UZ-TO-YAN",
        4,
        False,
        _Effects(concerns={"theft": 0.2, "land_water": 0.3}),
    ),
    _DistrictPlan(
        "UZ-TO-CHI",
        5,
        False,
        _Effects(
            night=-0.2,
            urban=True,
            concerns={"drugs": 0.4, "theft": 0.4, "unemployment": 0.2},
        ),
    ),
    # Fergana valley: more conservative, more concern about recruitment, women consulted less.
    _DistrictPlan(
        "UZ-NG-NAM",
        5,
        False,
        _Effects(
            night=-0.25,
            police=-0.35,
            authority=-0.1,
            women=-0.4,
            migration=1.2,
            urban=True,
            concerns={"radicalisation": 0.8, "youth_idleness": 0.3, "domestic_violence": 0.2},
        ),
    ),
    _DistrictPlan(
        "UZ-NG-CHU",
        4,
        False,
        _Effects(
            police=-0.3,
            women=-0.5,
            migration=1.3,
            concerns={"radicalisation": 0.6, "land_water": 0.3, "unemployment": 0.3},
        ),
    ),
)

_PLANS: Final[dict[Country, tuple[_DistrictPlan, ...]]] = {"TJ": _TJ_PLAN, "UZ": _UZ_PLAN}


@dataclass(frozen=True, slots=True)
class _Settlement:
    code: str
    district: str
    names: Labels
    adults: int


@dataclass(frozen=True, slots=True)
class _Frame:
    districts: tuple[_DistrictPlan, ...]
    settlements: tuple[_Settlement, ...]

    def in_district(self, code: str) -> list[_Settlement]:
        return [s for s in self.settlements if s.district == code]

    def adults(self, code: str) -> int:
        return sum(s.adults for s in self.in_district(code))


@cache
def _assets() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return data


@cache
def _district_names() -> dict[str, Labels]:
    """Names of the shipped districts, from the places app's administrative list."""
    tree = yaml.safe_load(PLACES_FILE.read_text(encoding="utf-8"))
    names: dict[str, Labels] = {}

    def visit(node: dict[str, Any]) -> None:
        names[node["code"]] = {code: node["names"][code] for code in LANGUAGES}
        for child in node.get("children", []):
            visit(child)

    for root in tree:
        visit(root)
    return names


@cache
def _sampling_frame(country: Country) -> _Frame:
    plan = _PLANS[country]
    settlements: list[_Settlement] = []
    for district in plan:
        for number, entry in enumerate(_assets()["settlements"][district.code], start=1):
            settlements.append(
                _Settlement(
                    code=f"{district.code}-{number:02d}",
                    district=district.code,
                    names={code: str(entry[code]) for code in LANGUAGES},
                    adults=int(entry["adults"]),
                )
            )
    return _Frame(plan, tuple(settlements))


def _pps_probabilities(sizes: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    """Inclusion probabilities of a PPS sample of ``m`` units: ``m * size / total``, with units
    whose probability would reach 1 taken with certainty and the rest re-scaled among the others
    (the usual iterative rule, e.g. Särndal, Swensson & Wretman 1992, section 3.6)."""
    pi = np.zeros_like(sizes)
    certain = np.zeros(sizes.shape, dtype=bool)
    while True:
        rest = m - int(certain.sum())
        pi[certain] = 1.0
        pi[~certain] = rest * sizes[~certain] / sizes[~certain].sum()
        newly = (pi >= 1.0) & ~certain
        if not newly.any():
            return pi
        certain |= newly


def _systematic_pps(rng: np.random.Generator, pi: NDArray[np.float64]) -> NDArray[np.int64]:
    """Indices drawn by systematic PPS on a randomly ordered list (exact inclusion ``pi``)."""
    order = rng.permutation(len(pi))
    cumulative = np.cumsum(pi[order])
    points = rng.random() + np.arange(round(float(pi.sum())))
    picked = np.minimum(np.searchsorted(cumulative, points, side="right"), len(pi) - 1)
    return np.sort(order[picked])


def _allocate(total: int, shares: Sequence[float], minimum: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``shares`` (largest remainder), at least ``minimum``."""
    raw = np.asarray(shares, dtype=float) / float(sum(shares)) * total
    counts = np.maximum(np.floor(raw).astype(int), np.asarray(minimum))
    remainders = raw - np.floor(raw)
    for index in np.argsort(-remainders, kind="stable"):
        if counts.sum() >= total:
            break
        counts[index] += 1
    while counts.sum() > total:  # minimums pushed it over: take from the largest
        counts[int(np.argmax(counts - np.asarray(minimum)))] -= 1
    return [int(c) for c in counts]


def _stratum_sizes(country: Country, n: int) -> list[int]:
    """Respondents per district: square-root allocation, a compromise between equal precision
    per district and proportional allocation (Kish 1988)."""
    frame = _sampling_frame(country)
    shares = [math.sqrt(frame.adults(d.code)) for d in frame.districts]
    return _allocate(n, shares, [2 * d.clusters for d in frame.districts])


def _inclusion(country: Country) -> dict[str, float]:
    frame = _sampling_frame(country)
    pi: dict[str, float] = {}
    for district in frame.districts:
        members = frame.in_district(district.code)
        sizes = np.array([s.adults for s in members], dtype=float)
        for settlement, p in zip(
            members, _pps_probabilities(sizes, district.clusters), strict=True
        ):
            pi[settlement.code] = float(p)
    return pi


def _planned_design_weights(country: Country) -> dict[str, float]:
    """Weight of a respondent in each settlement if it is sampled, with the planned take."""
    frame = _sampling_frame(country)
    pi = _inclusion(country)
    per_stratum = dict(
        zip(
            (d.code for d in frame.districts),
            _stratum_sizes(country, DEFAULT_N[country]),
            strict=True,
        )
    )
    plans = {d.code: d for d in frame.districts}
    weights = {}
    for s in frame.settlements:
        take = per_stratum[s.district] / plans[s.district].clusters
        weights[s.code] = s.adults / (pi[s.code] * take)
    return weights


# --------------------------------------------------------------------------------------------
# The respondents
# --------------------------------------------------------------------------------------------

FIELDWORK: Final[dict[tuple[Country, Phase], tuple[dt.date, dt.date]]] = {
    ("TJ", "baseline"): (dt.date(2021, 9, 6), dt.date(2021, 10, 29)),
    ("TJ", "endline"): (dt.date(2022, 6, 1), dt.date(2022, 6, 30)),
    ("UZ", "baseline"): (dt.date(2021, 3, 1), dt.date(2021, 4, 30)),
    ("UZ", "endline"): (dt.date(2022, 5, 2), dt.date(2022, 5, 31)),
}
"""First and last day of fieldwork of each phase (interviews Monday to Saturday)."""

TIME_ZONES: Final[dict[Country, str]] = {"TJ": "Asia/Dushanbe", "UZ": "Asia/Tashkent"}

BUILT_IN_EFFECTS: Final[dict[str, str]] = {
    "safe_night": "women -0.85 on the latent logistic scale (about 20 points fewer feel safe or "
    "very safe after dark); people 60+ -0.2; border/urban districts lower (Isfara -0.45, Kulob "
    "-0.25, Namangan -0.25), Vahdat +0.35; endline +0.08 (+0.05 more with existing groups)",
    "safe_day": "women -0.2; Isfara -0.3; Vanj +0.35, Vahdat +0.3",
    "harassment_experienced": "yes: women about 19% (+0.5 logit aged 15-29, +0.25 urban), men "
    "about 6%; refused 5% women, 2.5% men",
    "violence_experienced": "yes about 6% women, 5% men (+0.4 logit young men, +0.3 returning "
    "migrants); refused 4.5%",
    "concerns": "young people (15-29): unemployment +0.5, youth_idleness +0.6 logit; returning "
    "migrants: unemployment +0.7, youth_idleness +0.4, police_abuse +0.4; women: gbv +1.0, "
    "domestic_violence +0.8; district emphases (Isfara conflict_neighbours/land_water, Vanj "
    "poor_services/drugs, Namangan and Chust radicalisation, Yunusobod theft)",
    "trust_police": "low overall (about 47% answer 1-2); young men -0.5, returning migrants -0.4, "
    "aged 45+ +0.15, took part in a group meeting +0.3; Vanj -0.7, Nurobod -0.4, Namangan -0.35, "
    "Vahdat +0.35; endline +0.12 (new groups) or +0.3 (existing groups), Vanj -0.5 more; "
    "about 4% blank (6% young men and migrants)",
    "trust_local_authority": "as trust_police but 0.25 higher and half the age/sex gaps; endline "
    "+0.1 or +0.25",
    "authorities_consult": "yes logit -1.2 (new) / -0.85 (existing groups); aware of a group +0.5; "
    "endline +0.25 (new) / +0.5 (existing), Vanj -0.35 less; don't know 12% (17% women)",
    "aware_community_group": "logit -2.2 (new, about 10%) / -0.7 (existing, about 33%); endline "
    "+0.5 / +0.7; UZ women +0.25",
    "women_participate": "yes logit -1.0 TJ, -0.7 UZ; endline +0.25/+0.4 TJ, +0.5/+0.7 UZ "
    "(women-led CSOs); Namangan -0.4, Chust -0.5",
    "youth_participate": "yes logit -0.9; endline +0.35/+0.5 TJ (youth focus), +0.25/+0.4 UZ",
    "returning_migrant": "men 18-44 28% TJ / 18% UZ, men 45-59 12% / 8%, women 3% / 2%; "
    "times a district factor (0.5-1.3)",
    "cluster effects": "settlement random effects (logit sd 0.3-0.6) give intra-cluster "
    "correlation",
}
"""The patterns :func:`generate_responses` builds in, for anyone checking an analysis of it."""

_BASE_CONCERNS: Final[dict[Country, dict[str, float]]] = {
    "TJ": {
        "unemployment": 0.55,
        "youth_idleness": 0.30,
        "gbv": 0.10,
        "domestic_violence": 0.14,
        "police_abuse": 0.10,
        "corruption": 0.18,
        "drugs": 0.12,
        "theft": 0.18,
        "conflict_neighbours": 0.10,
        "radicalisation": 0.06,
        "poor_services": 0.35,
        "land_water": 0.20,
    },
    "UZ": {
        "unemployment": 0.50,
        "youth_idleness": 0.28,
        "gbv": 0.14,
        "domestic_violence": 0.20,
        "police_abuse": 0.08,
        "corruption": 0.22,
        "drugs": 0.08,
        "theft": 0.18,
        "conflict_neighbours": 0.08,
        "radicalisation": 0.06,
        "poor_services": 0.30,
        "land_water": 0.12,
    },
}

# Age bands of the sample, and the language the enumerator wrote an open answer in.
_AGE_BAND_SHARES: Final = (0.05, 0.18, 0.13, 0.30, 0.21, 0.13)
_TEXT_LANGUAGES: Final[dict[Country, tuple[tuple[str, ...], tuple[float, ...]]]] = {
    "TJ": (("tg", "ru", "uz", "en"), (0.57, 0.30, 0.08, 0.05)),
    "UZ": (("uz", "ru", "tg", "en"), (0.62, 0.31, 0.02, 0.05)),
}
_TRUST_CUTS: Final = np.array([-1.386, -0.12, 1.10, 2.44])
_SAFETY_CUTS: Final = np.array([-2.0, -0.6, 1.8])


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return result


def _ordinal(
    rng: np.random.Generator, eta: NDArray[np.float64], cuts: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Category index of a cumulative-logit (proportional odds) model: 0 = lowest."""
    latent = eta + rng.logistic(size=eta.shape)
    return np.searchsorted(cuts, latent).astype(np.int64)


def _bernoulli(rng: np.random.Generator, eta: NDArray[np.float64]) -> NDArray[np.bool_]:
    draws: NDArray[np.bool_] = rng.random(eta.shape) < _sigmoid(eta)
    return draws


def _answer(
    rng: np.random.Generator,
    yes_eta: NDArray[np.float64],
    other: NDArray[np.floating[Any]],
    other_name: str,
) -> NDArray[np.str_]:
    """yes / no, or ``other_name`` (dont_know, refused) with probability ``other``."""
    out = np.where(_bernoulli(rng, yes_eta), "yes", "no")
    return np.where(rng.random(yes_eta.shape) < other, other_name, out)


def _check_country(country: str) -> Country:
    if country not in COUNTRIES:
        raise ValueError(f"country must be one of {', '.join(COUNTRIES)}; got {country!r}")
    return country  # type: ignore[return-value]


def generate_responses(
    country: Country, *, phase: Phase, n: int | None = None, seed: int = 0
) -> pl.DataFrame:
    """Generated demo respondents of one survey phase: one row per interview.

    Args:
        country: ``"TJ"`` or ``"UZ"``.
        phase: ``"baseline"`` or ``"endline"``.
        n: respondents (default 3,000 in Tajikistan, 1,500 in Uzbekistan). Must leave at least
            two per sampled settlement.
        seed: the same seed gives the same frame; it also selects the same settlements at both
            phases.

    Columns are :data:`FIELDS`: the form's fields (select_multiple as space-separated names,
    ``age`` an integer, ``weight`` a float, times timezone-aware UTC) plus ``instance_id``
    (``uuid:…``) and ``submitted_at``. ``weight`` is the final design weight: the inverse of the
    inclusion probability, adjusted for the take achieved in the settlement and scaled so that
    each district's weights sum to its (invented) adult population.
    """
    country = _check_country(country)
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}; got {phase!r}")
    frame = _sampling_frame(country)
    n = DEFAULT_N[country] if n is None else n
    minimum = 2 * sum(d.clusters for d in frame.districts)
    if not isinstance(n, int) or n < minimum:
        raise ValueError(f"n must be an integer of at least {minimum} for {country}; got {n!r}")
    country_index = COUNTRIES.index(country)
    # The settlements drawn and their character (random effects) depend on the seed only, so
    # both phases of one seed visit the same settlements; respondents are drawn per phase.
    design_rng = np.random.default_rng([seed, country_index, 0])
    settlement_rng = np.random.default_rng([seed, country_index, 9])
    rng = np.random.default_rng([seed, country_index, 1 + PHASES.index(phase)])
    endline = phase == "endline"

    # Stage one: settlements by PPS within each district. Stage two: respondents.
    pi = _inclusion(country)
    clusters: list[_Settlement] = []
    cluster_plan: list[_DistrictPlan] = []
    takes: list[int] = []
    for district, n_h in zip(frame.districts, _stratum_sizes(country, n), strict=True):
        members = frame.in_district(district.code)
        chosen = _systematic_pps(design_rng, np.array([pi[s.code] for s in members]))
        while True:
            # Achieved takes vary around the plan: call-backs, absences, refusals replaced.
            share = rng.gamma(100.0, size=len(chosen))
            take = rng.multinomial(n_h, share / share.sum())
            if take.min() >= 2:
                break
        clusters += [members[i] for i in chosen]
        cluster_plan += [district] * len(chosen)
        takes += [int(t) for t in take]
    take_arr = np.array(takes)
    cl = np.repeat(np.arange(len(clusters)), take_arr)
    size = len(cl)

    raw_weight = np.array(
        [s.adults / (pi[s.code] * t) for s, t in zip(clusters, takes, strict=True)]
    )
    district_of = np.array([s.district for s in clusters])
    weight_c = raw_weight.copy()
    for district in frame.districts:
        mask = district_of == district.code
        weight_c[mask] *= frame.adults(district.code) / float(
            (raw_weight[mask] * take_arr[mask]).sum()
        )

    def per_cluster(values: Sequence[float]) -> NDArray[np.float64]:
        return np.asarray(values, dtype=float)[cl]

    in_frame = np.array([frame.settlements.index(s) for s in clusters])

    def cluster_effect(sd: float) -> NDArray[np.float64]:
        # Drawn for every settlement of the frame, so a settlement keeps its effect across phases.
        effects: NDArray[np.float64] = settlement_rng.normal(0.0, sd, len(frame.settlements))
        per_respondent: NDArray[np.float64] = effects[in_frame][cl]
        return per_respondent

    eff = [p.effects for p in cluster_plan]
    existing = per_cluster([p.existing_group for p in cluster_plan]) > 0
    urban = per_cluster([e.urban for e in eff]) > 0
    tj = country == "TJ"

    # Who was interviewed.
    female = rng.random(size) < (0.55 if tj else 0.57)
    band = rng.choice(len(AGE_BANDS), size=size, p=_AGE_BAND_SHARES)
    lows = np.array([15, 18, 25, 30, 45, 60])
    highs = np.array([17, 24, 29, 44, 59, 90])
    age = lows[band] + np.floor(rng.random(size) * (highs[band] - lows[band] + 1)).astype(int)
    elderly = band == 5
    age[elderly] = np.minimum(60 + np.floor(rng.exponential(8.0, elderly.sum())).astype(int), 90)
    young = age < 30
    young_men = young & ~female
    migrant_rate = np.select(
        [female, (age >= 18) & (age < 45), (age >= 45) & (age < 60)],
        [0.03 if tj else 0.02, 0.28 if tj else 0.18, 0.12 if tj else 0.08],
        0.0,
    )
    migrant = rng.random(size) < migrant_rate * per_cluster([e.migration for e in eff])
    migrant &= age >= 18

    # Safety.
    safety_re = cluster_effect(0.3)
    day_eta = (
        1.3 + per_cluster([e.day for e in eff]) + safety_re - 0.2 * female - 0.1 * elderly
    ) + 0.05 * endline
    night_eta = (
        0.2
        + per_cluster([e.night for e in eff])
        + safety_re
        - 0.85 * female
        - 0.2 * elderly
        + endline * (0.08 + 0.05 * existing)
    )
    safe_day = np.array(SAFETY)[_ordinal(rng, day_eta, _SAFETY_CUTS)]
    safe_night = np.array(SAFETY)[_ordinal(rng, night_eta, _SAFETY_CUTS)]

    # Concerns: one logistic model per concern; everyone names at least one.
    base = _BASE_CONCERNS[country]
    concern_eta = np.empty((size, len(CONCERNS)))
    for k, concern in enumerate(CONCERNS):
        eta = _logit(base[concern]) + per_cluster([e.concerns.get(concern, 0.0) for e in eff])
        eta = eta + cluster_effect(0.3)
        if concern == "unemployment":
            eta = eta + 0.5 * young + 0.7 * migrant
        elif concern == "youth_idleness":
            eta = eta + 0.6 * young + 0.4 * migrant
        elif concern == "gbv":
            eta = eta + 1.0 * female
        elif concern == "domestic_violence":
            eta = eta + 0.8 * female
        elif concern == "police_abuse":
            eta = eta + 0.3 * young + 0.3 * young_men + 0.4 * migrant - 0.3 * female
        elif concern == "corruption":
            eta = eta + 0.3 * migrant
        elif concern == "poor_services":
            eta = eta + 0.2 * female
        concern_eta[:, k] = eta
    chosen_concerns = rng.random(concern_eta.shape) < _sigmoid(concern_eta)
    none = ~chosen_concerns.any(axis=1)
    chosen_concerns[none, np.argmax(concern_eta[none], axis=1)] = True
    # Joined once per distinct set of choices (at most 2 ** 12), not once per respondent.
    chosen_sets = chosen_concerns.astype(np.int64) @ (1 << np.arange(len(CONCERNS)))
    distinct_sets, set_of = np.unique(chosen_sets, return_inverse=True)
    set_names = [
        " ".join(c for k, c in enumerate(CONCERNS) if int(bits) >> k & 1) for bits in distinct_sets
    ]
    concerns = np.array(set_names, dtype=object)[set_of.reshape(-1)].tolist()

    # Community groups, consultation, participation.
    aware_eta = (
        np.where(existing, -0.7, -2.2)
        + cluster_effect(0.6)
        + 0.15 * ((age >= 30) & (age < 60))
        + (0.0 if tj else 0.25) * female
        + endline * np.where(existing, 0.7, 0.5)
    )
    aware = _bernoulli(rng, aware_eta)
    took_part = aware & _bernoulli(
        rng, -0.9 + 0.35 * endline + (0.0 if tj else 0.3) * female - 0.1 * young
    )
    consult_eta = (
        np.where(existing, -0.85, -1.2)
        + per_cluster([e.consult for e in eff])
        + cluster_effect(0.4)
        + 0.5 * aware
        + endline * (np.where(existing, 0.5, 0.25) + per_cluster([e.endline_consult for e in eff]))
    )
    authorities_consult = _answer(rng, consult_eta, 0.12 + 0.05 * female, "dont_know")
    women_eta = (
        (-1.0 if tj else -0.7)
        + per_cluster([e.women for e in eff])
        + cluster_effect(0.4)
        - 0.2 * female
        + endline * (np.where(existing, 0.4, 0.25) if tj else np.where(existing, 0.7, 0.5))
    )
    women_participate = _answer(rng, women_eta, np.full(size, 0.15), "dont_know")
    youth_eta = (
        -0.9
        + cluster_effect(0.4)
        - 0.2 * young
        + endline * (np.where(existing, 0.5, 0.35) if tj else np.where(existing, 0.4, 0.25))
    )
    youth_participate = _answer(rng, youth_eta, np.full(size, 0.14), "dont_know")

    # Trust: low, lowest among young men and returning migrants.
    trust_re = cluster_effect(0.4)
    police_eta = (
        per_cluster([e.police for e in eff])
        + trust_re
        - 0.5 * young_men
        - 0.4 * migrant
        + 0.15 * (age >= 45)
        + 0.3 * took_part
        + endline * (np.where(existing, 0.3, 0.12) + per_cluster([e.endline_police for e in eff]))
    )
    authority_eta = (
        0.25
        + per_cluster([e.authority for e in eff])
        + trust_re
        - 0.25 * young_men
        - 0.2 * migrant
        + 0.3 * took_part
        + endline * np.where(existing, 0.25, 0.1)
    )
    blank_rate = 0.04 + 0.02 * (young_men | migrant)
    trust_police = np.array(TRUST, dtype=object)[_ordinal(rng, police_eta, _TRUST_CUTS)]
    trust_police[rng.random(size) < blank_rate] = None
    trust_authority = np.array(TRUST, dtype=object)[_ordinal(rng, authority_eta, _TRUST_CUTS)]
    trust_authority[rng.random(size) < blank_rate] = None

    # Experience of harassment and violence.
    harassment = _answer(
        rng,
        np.where(female, _logit(0.19) + 0.5 * young + 0.25 * urban, _logit(0.06) + 0.3 * young),
        np.where(female, 0.05, 0.025),
        "refused",
    )
    violence = _answer(
        rng,
        np.where(female, _logit(0.06), _logit(0.05) + 0.4 * young) + 0.3 * migrant,
        np.full(size, 0.045),
        "refused",
    )

    causes = _open_answers(
        rng,
        country,
        chosen_concerns,
        felt_safe=np.isin(safe_night, ("safe", "very_safe")),
        in_sughd=per_cluster([p.code.startswith("TJ-SU") for p in cluster_plan]) > 0,
    )
    start, end, submitted = _interview_times(rng, country, phase, cl, len(clusters))
    enumerator_slot = rng.integers(0, 2, size)
    district_index = np.array([frame.districts.index(p) for p in cluster_plan])[cl]
    enumerator_names = np.array(
        [f"{country}-E{k:02d}" for k in range(1, 2 * len(frame.districts) + 1)], dtype=object
    )
    enumerator = enumerator_names[2 * district_index + enumerator_slot].tolist()
    instance_id = _uuid4_ids(rng, size)

    district_col = [clusters[i].district for i in cl]
    settlement_col = [clusters[i].code for i in cl]
    zone = TIME_ZONES[country]

    def timestamps(values: NDArray[np.datetime64]) -> pl.Series:
        return (
            pl.Series(values.astype("datetime64[us]"))
            .dt.replace_time_zone(zone)
            .dt.convert_time_zone("UTC")
        )

    out = pl.DataFrame(
        {
            "start": timestamps(start),
            "end": timestamps(end),
            "enumerator": enumerator,
            "consent": ["yes"] * size,
            "district": district_col,
            "settlement": settlement_col,
            "sex": np.where(female, "female", "male").tolist(),
            "age": pl.Series(age.tolist(), dtype=pl.Int64),
            "age_band": np.array(AGE_BANDS)[_age_band_index(age)].tolist(),
            "returning_migrant": np.where(migrant, "yes", "no").tolist(),
            "safe_day": safe_day.tolist(),
            "safe_night": safe_night.tolist(),
            "concerns": concerns,
            "causes": pl.Series(causes, dtype=pl.String),
            "trust_police": pl.Series(trust_police.tolist(), dtype=pl.String),
            "trust_local_authority": pl.Series(trust_authority.tolist(), dtype=pl.String),
            "authorities_consult": authorities_consult.tolist(),
            "women_participate": women_participate.tolist(),
            "youth_participate": youth_participate.tolist(),
            "aware_community_group": np.where(aware, "yes", "no").tolist(),
            "participated_community_meeting": pl.Series(
                [
                    ("yes" if t else "no") if a else None
                    for a, t in zip(aware, took_part, strict=True)
                ],
                dtype=pl.String,
            ),
            "harassment_experienced": harassment.tolist(),
            "violence_experienced": violence.tolist(),
            "weight": pl.Series(np.round(weight_c[cl], 4), dtype=pl.Float64),
            "stratum": district_col,
            "cluster": settlement_col,
            "instance_id": instance_id,
            "submitted_at": timestamps(submitted),
        }
    )
    # Rows arrive on the server in the order they were sent.
    return out.sort("submitted_at", "instance_id").select(FIELDS)


def _uuid4_ids(rng: np.random.Generator, size: int) -> pl.Series:
    """``uuid:`` and a version 4 UUID made of 16 random bytes for each of ``size`` rows: the
    same ids as ``uuid.UUID(bytes=rng.bytes(16), version=4)`` row by row (the generator's
    bytes come in the same order drawn at once), without a Python object per row."""
    raw = np.frombuffer(rng.bytes(16 * size), dtype=np.uint8).reshape(size, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC 4122 variant
    hexes = pl.Series(np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype("U32"))
    parts = [hexes.str.slice(a, b - a) for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    return pl.select(pl.format("uuid:{}-{}-{}-{}-{}", *parts).alias("instance_id")).to_series()


def _age_band_index(age: NDArray[np.int64]) -> NDArray[np.int64]:
    """The form's ``age_band`` calculation, vectorised."""
    return np.searchsorted(np.array([18, 25, 30, 45, 60]), age, side="right").astype(np.int64)


def _open_answers(
    rng: np.random.Generator,
    country: Country,
    chosen: NDArray[np.bool_],
    *,
    felt_safe: NDArray[np.bool_],
    in_sughd: NDArray[np.bool_],
) -> list[str | None]:
    """Short answers to ``causes`` for about a quarter of respondents, in several languages."""
    bank: dict[str, dict[str, list[str]]] = _assets()["causes"]
    languages, shares = _TEXT_LANGUAGES[country]
    # The language is drawn as ``rng.choice(len(languages), p=p / p.sum())`` draws it (one
    # uniform number against the cumulative shares), without its checks on every row.
    cumulative = []
    for sughd in (False, True):
        p = np.array(shares)
        if sughd:  # Uzbek speakers along the Uzbek border of Sughd
            p = p + np.array([-0.06, 0.0, 0.06, 0.0])
        cdf = (p / p.sum()).cumsum()
        cdf /= cdf[-1]
        cumulative.append(cdf)
    answers: list[str | None] = [None] * len(chosen)
    answering = rng.random(len(chosen)) < np.where(felt_safe, 0.2, 0.35)
    for i in np.flatnonzero(answering):
        cdf = cumulative[int(in_sughd[i])]
        language = languages[int(cdf.searchsorted(rng.random(), side="right"))]
        options = [CONCERNS[k] for k in np.flatnonzero(chosen[i])]
        topic = "general" if felt_safe[i] and rng.random() < 0.25 else str(rng.choice(options))
        sentences = bank[topic][language]
        answers[i] = sentences[int(rng.integers(len(sentences)))]
    return answers


def _interview_times(
    rng: np.random.Generator, country: Country, phase: Phase, cl: NDArray[np.int64], n_clusters: int
) -> tuple[NDArray[np.datetime64], NDArray[np.datetime64], NDArray[np.datetime64]]:
    """Local start, end and submission times: each settlement is visited over one to three
    working days (Monday to Saturday) within the phase's fieldwork dates."""
    first, last = FIELDWORK[(country, phase)]
    days = [
        first + dt.timedelta(days=k)
        for k in range((last - first).days + 1)
        if (first + dt.timedelta(days=k)).weekday() != 6
    ]
    day_numbers = np.array([np.datetime64(d, "D") for d in days])
    visit_start = rng.integers(0, len(days) - 2, n_clusters)[cl]
    day = day_numbers[visit_start + rng.integers(0, 3, len(cl))]
    start_minutes = 9 * 60 + np.floor(rng.random(len(cl)) * 570).astype(int)
    duration = 14 + np.floor(rng.gamma(4.0, 4.0, len(cl))).astype(int)
    start = day.astype("datetime64[s]") + (
        start_minutes * 60 + rng.integers(0, 60, len(cl))
    ).astype("timedelta64[s]")
    end = start + (duration * 60 + rng.integers(0, 60, len(cl))).astype("timedelta64[s]")
    # Sent at once where there is a signal, else when the phone finds one in the evening.
    soon = end + (60 + rng.integers(0, 20 * 60, len(cl))).astype("timedelta64[s]")
    evening = day.astype("datetime64[s]") + (20 * 3600 + rng.integers(0, 150 * 60, len(cl))).astype(
        "timedelta64[s]"
    )
    submitted = np.where(rng.random(len(cl)) < 0.55, soon, np.maximum(evening, soon))
    return start, end, submitted


def design_info(country: Country) -> dict[str, Any]:
    """The sampling design of the demo survey, for setting up an analysis.

    ``weight``, ``strata`` and ``cluster`` name the fields that carry it (as
    ``amniyat.stats.Design`` and ``Assessment.weight_field`` etc. expect); ``fpc`` is None: the
    first stage is treated as with replacement. The other keys describe the design.
    """
    country = _check_country(country)
    frame = _sampling_frame(country)
    return {
        "weight": "weight",
        "strata": "stratum",
        "cluster": "cluster",
        "fpc": None,
        "demo": True,
        "form_id": f"community_security_{country.lower()}",
        "description": (
            "Generated demo data. Stratified two-stage sample: districts are strata; settlements "
            "(primary sampling units) are drawn with probability proportional to their adult "
            "population, then respondents within each settlement. Weights are inverse inclusion "
            "probabilities, scaled to each district's adult population."
        ),
        "default_n": DEFAULT_N[country],
        "strata_count": len(frame.districts),
        "clusters_per_stratum": {d.code: d.clusters for d in frame.districts},
        "settlements_per_stratum": {
            d.code: len(frame.in_district(d.code)) for d in frame.districts
        },
        "adult_population": {d.code: frame.adults(d.code) for d in frame.districts},
        "existing_groups": [d.code for d in frame.districts if d.existing_group],
        "fieldwork": {
            phase: [
                FIELDWORK[(country, phase)][0].isoformat(),
                FIELDWORK[(country, phase)][1].isoformat(),
            ]
            for phase in PHASES
        },
    }

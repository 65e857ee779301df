"""The demo programmes' published briefing papers: Tajikistan's in Russian and Tajik,
Uzbekistan's in Uzbek and English, each built from its programme's baseline with the template
every briefing paper starts from, its summary and recommendations written for it, reviewed,
approved, rendered as DOCX and PDF and published, as a programme's analyst and lead would.

The narrative speaks of what the programme's own documents say (its profile under
``shared/context``) and points to the figures in the sections built from data, which it never
repeats: a number written into the text would not follow the data when they change."""

from __future__ import annotations

from dataclasses import dataclass

from amniyat.accounts.models import Programme, User
from amniyat.fieldwork.models import Assessment
from amniyat.reports import services
from amniyat.reports.models import Rendering, Report, Section
from amniyat.reports.sections import BUILDERS

# The indicators a demo paper's key findings show, in this order.
KEY_INDICATORS = [
    "safe_night",
    "safe_night_women",
    "trust_police",
    "authorities_consult",
    "women_participate",
]


@dataclass(frozen=True)
class Paper:
    language: str
    title: str
    summary: str
    recommendations: str
    # Each recommendation, and the codebook keys of the factors and priorities it answers.
    recommended: tuple[tuple[str, tuple[str, ...]], ...] = ()


# The codes each demo recommendation answers (the same in every language of a programme).
JOBS = ("unemployment", "youth_unemployment", "returning_migrants_unemployment")
POLICING = ("police_mistrust", "repressive_policing")
WOMEN = ("exclusion_women", "domestic_violence", "gender_based_violence")
DIALOGUE = ("limited_dialogue", "mistrust_local_authorities", "exclusion_youth")
SERVICES = ("limited_social_services", "poor_health_care", "girls_education")


TAJIKISTAN = [
    Paper(
        language="ru",
        title="Что делает людей в общинах небезопасными: краткий обзор базового исследования",
        summary=(
            "В этом обзоре собраны результаты базового исследования безопасности общин в десяти "
            "районах Таджикистана, где работают группы сообществ и Платформа гражданского "
            "общества. Опрос домохозяйств и фокус-группы с женщинами, мужчинами, молодёжью и "
            "вернувшимися трудовыми мигрантами показывают одно и то же: люди чувствуют себя "
            "менее защищёнными там, где нет работы, где женщины и молодёжь не участвуют в "
            "решениях и где мало доверия к милиции.\n\n"
            "Главное:\n\n"
            "- **Безработица**, особенно среди молодёжи и вернувшихся мигрантов, называется "
            "причиной небезопасности чаще всего.\n"
            "- Женщины чувствуют себя в безопасности вечером реже, чем мужчины; разница "
            "показана в разделе о мнениях женщин и мужчин.\n"
            "- Доверие к милиции и к местной власти остаётся низким, а с общинами "
            "советуются редко.\n\n"
            "Цифры в разделах ниже взяты из опубликованных результатов исследования и прошли "
            "контроль раскрытия: значение группы, в которой слишком мало ответивших, не "
            "показывается.[^1]\n\n"
            "[^1]: Как это работает, описано в разделе о методологии."
        ),
        recommendations=(
            "Рекомендации основаны на карте причин небезопасности и на приоритетах, которые "
            "группы сообществ согласовали с представителями власти."
        ),
        recommended=(
            (
                "Хукуматам районов вместе с группами сообществ создать программы занятости для "
                "молодёжи и вернувшихся трудовых мигрантов и открыто отбирать их участников.",
                JOBS,
            ),
            (
                "Проводить ежеквартальные встречи участковых инспекторов с группами сообществ, "
                "женщинами и молодёжью махалли и рассматривать жалобы на действия милиции "
                "открыто.",
                POLICING,
            ),
            (
                "Включить женщин и молодёжь в рабочие группы по безопасности джамоатов и в "
                "обсуждение совместных планов действий.",
                WOMEN + DIALOGUE,
            ),
            (
                "Открыть при джамоатах и медицинских центрах безопасные места, куда женщины "
                "могут обратиться при насилии в семье.",
                WOMEN + SERVICES,
            ),
        ),
    ),
    Paper(
        language="tg",
        title="Чӣ одамонро дар ҷамоатҳо бехатар ҳис намекунонад: шарҳи мухтасари тадқиқоти ибтидоӣ",
        summary=(
            "Дар ин шарҳ натиҷаҳои тадқиқоти ибтидоии амнияти ҷамоатҳо дар даҳ ноҳияи "
            "Тоҷикистон, ки дар онҳо гурӯҳҳои ҷамоатӣ ва Платформаи ҷомеаи шаҳрвандӣ кор "
            "мекунанд, ҷамъ оварда шудаанд. Пурсиши хонаводаҳо ва гурӯҳҳои мубоҳисавӣ бо "
            "занон, мардон, ҷавонон ва муҳоҷирони меҳнатии баргашта як чизро нишон медиҳанд: "
            "одамон дар ҷое, ки кор нест, занону ҷавонон дар қабули қарорҳо иштирок "
            "намекунанд ва ба милитсия эътимод кам аст, худро камтар ҳифзшуда ҳис мекунанд.\n\n"
            "Асосӣ:\n\n"
            "- **Бекорӣ**, махсусан дар байни ҷавонон ва муҳоҷирони баргашта, аз ҳама бештар "
            "ҳамчун сабаби бехатар набудан номбар мешавад.\n"
            "- Занон шабона нисбат ба мардон камтар худро бехатар ҳис мекунанд; фарқият дар "
            "фасли андешаҳои занон ва мардон нишон дода шудааст.\n"
            "- Эътимод ба милитсия ва ҳукумати маҳаллӣ паст боқӣ мемонад ва бо ҷамоатҳо кам "
            "машварат мекунанд.\n\n"
            "Рақамҳои фаслҳои поён аз натиҷаҳои нашршудаи тадқиқот гирифта шудаанд ва аз "
            "назорати ифшо гузаштаанд: қимати гурӯҳе, ки ҷавобдиҳандагонаш хеле каманд, "
            "нишон дода намешавад.[^1]\n\n"
            "[^1]: Чӣ тавр кор кардани он дар фасли методология шарҳ дода шудааст."
        ),
        recommendations=(
            "Тавсияҳо ба харитаи сабабҳои ноамнӣ ва ба авлавиятҳое асос ёфтаанд, ки гурӯҳҳои "
            "ҷамоатӣ бо намояндагони ҳокимият мувофиқа кардаанд."
        ),
        recommended=(
            (
                "Ҳукуматҳои ноҳияҳо якҷоя бо гурӯҳҳои ҷамоатӣ барои ҷавонон ва муҳоҷирони "
                "меҳнатии баргашта барномаҳои шуғл созанд ва иштирокчиёни онҳоро ошкоро интихоб "
                "кунанд.",
                JOBS,
            ),
            (
                "Ҳар семоҳа вохӯриҳои нозирони минтақавии милитсия бо гурӯҳҳои ҷамоатӣ, занон ва "
                "ҷавонони маҳалла гузаронида шаванд ва шикоятҳо аз амали милитсия ошкоро баррасӣ "
                "гарданд.",
                POLICING,
            ),
            (
                "Занон ва ҷавонон ба гурӯҳҳои кории амнияти ҷамоатҳо ва ба муҳокимаи нақшаҳои "
                "амали муштарак шомил карда шаванд.",
                WOMEN + DIALOGUE,
            ),
            (
                "Дар назди ҷамоатҳо ва марказҳои тиббӣ ҷойҳои бехатар кушода шаванд, ки занон "
                "ҳангоми зӯроварӣ дар оила ба он ҷо муроҷиат карда тавонанд.",
                WOMEN + SERVICES,
            ),
        ),
    ),
]

UZBEKISTAN = [
    Paper(
        language="uz",
        title="Mahallalarda odamlarni nima xavotirga soladi: boshlangʻich tadqiqot xulosasi",
        summary=(
            "Ushbu xulosada Jizzax, Toshkent va Namangan viloyatlarida ayollar boshchiligidagi "
            "fuqarolik jamiyati tashkilotlari va jamoat xavfsizligi ishchi guruhlari bilan "
            "oʻtkazilgan boshlangʻich tadqiqot natijalari jamlangan. Uy xoʻjaliklari soʻrovi "
            "hamda ayollar, erkaklar va yoshlar bilan fokus-guruhlar shuni koʻrsatadiki, "
            "odamlar xavotirlari eshitilmaydigan, ayollarga nisbatan zoʻravonlik yashirin "
            "qoladigan va hokimiyatga ishonch kam boʻlgan joylarda oʻzlarini kamroq xavfsiz "
            "his qiladilar.\n\n"
            "Asosiy xulosalar:\n\n"
            "- **Ayollarga nisbatan zoʻravonlik** va tazyiq koʻpincha xavfsizlikka tahdid "
            "sifatida tilga olinadi.\n"
            "- Ayollar kechqurun erkaklarga qaraganda oʻzlarini kamroq xavfsiz his qiladilar; "
            "farq ayollar va erkaklar fikri boʻlimida koʻrsatilgan.\n"
            "- Mahalla aholisi bilan maslahatlashuvlar kam oʻtkaziladi, ayollar va yoshlarning "
            "qarorlarda ishtiroki cheklangan.\n\n"
            "Quyidagi boʻlimlardagi raqamlar tadqiqotning eʼlon qilingan natijalaridan olingan "
            "va oshkor qilish nazoratidan oʻtgan: javob berganlar juda kam boʻlgan guruhning "
            "qiymati koʻrsatilmaydi.[^1]\n\n"
            "[^1]: Bu qanday ishlashi metodologiya boʻlimida tushuntirilgan."
        ),
        recommendations=(
            "Tavsiyalar xavfsizlik sabablari xaritasiga va jamoat xavfsizligi ishchi guruhlari "
            "hokimiyat vakillari bilan kelishib olgan ustuvor masalalarga asoslanadi."
        ),
        recommended=(
            (
                "Mahalla fuqarolar yigʻinlari huzurida ayollar zoʻravonlik haqida xavfsiz "
                "murojaat qila oladigan joylar ochilsin, ularga tibbiyot va huquqiy yordam "
                "koʻrsatilsin.",
                WOMEN + SERVICES,
            ),
            (
                "Profilaktika inspektorlari jamoat xavfsizligi ishchi guruhlari, ayollar va "
                "yoshlar bilan har chorakda uchrashib, aholining shikoyatlarini ochiq koʻrib "
                "chiqsin.",
                POLICING,
            ),
            (
                "Hokimliklar mahalla aholisi bilan xavfsizlik masalalari boʻyicha muntazam "
                "maslahatlashuvlar oʻtkazsin, ayollar va yoshlar ularda albatta ishtirok etsin.",
                DIALOGUE,
            ),
            (
                "Qaytgan mehnat muhojirlari va yoshlar uchun ish oʻrinlari dasturlari ishchi "
                "guruhlar bilan birgalikda tuzilsin.",
                JOBS,
            ),
        ),
    ),
    Paper(
        language="en",
        title="What makes people in the mahallas feel unsafe: a baseline briefing",
        summary=(
            "This briefing brings together the baseline assessment of community security in "
            "the Jizzakh, Tashkent and Namangan regions, where women-led civil society "
            "organisations accompany community security working groups. The household survey "
            "and the focus groups with women, men and young people point the same way: people "
            "feel less safe where their concerns go unheard, where violence against women stays "
            "hidden and where trust in the authorities is low.\n\n"
            "In brief:\n\n"
            "- **Violence against women** and harassment are named often as threats to "
            "people's safety.\n"
            "- Women feel safe after dark less often than men; the gap is shown in the section "
            "on what women and men said differently.\n"
            "- Authorities seldom consult the mahalla's residents, and women and young people "
            "take little part in decisions.\n\n"
            "The figures in the sections below come from the assessment's published findings "
            "and passed disclosure control: a group with too few respondents shows no "
            "value.[^1]\n\n"
            "[^1]: The methodology section explains how."
        ),
        recommendations=(
            "The recommendations answer the drivers of insecurity on the region's driver map "
            "and the priorities the working groups agreed with the authorities."
        ),
        recommended=(
            (
                "Open safe places at the mahalla citizens' assemblies where women can report "
                "violence, with medical and legal help.",
                WOMEN + SERVICES,
            ),
            (
                "Have prevention inspectors meet the community security working groups, women "
                "and young people every quarter, and hear residents' complaints openly.",
                POLICING,
            ),
            (
                "Have the khokimiyats consult the mahalla's residents on security regularly, "
                "with women and young people always taking part.",
                DIALOGUE,
            ),
            (
                "Design employment programmes for returning labour migrants and young people "
                "together with the working groups.",
                JOBS,
            ),
        ),
    ),
]

PAPERS = {"TJ": TAJIKISTAN, "UZ": UZBEKISTAN}


def build_reports_demo(programme: Programme, *, analyst: User, lead: User) -> list[Report]:
    """The programme's briefing papers (one per language of :data:`PAPERS`), published with
    a DOCX and a PDF each. The baseline's findings must be published, and its maps and
    priorities built."""
    baseline = (
        Assessment.objects.filter(programme=programme, kind=Assessment.Kind.BASELINE)
        .order_by("pk")
        .first()
    )
    if baseline is None:
        return []
    return [
        _paper(programme, baseline, paper, analyst=analyst, lead=lead)
        for paper in PAPERS.get(programme.country.code, [])
    ]


def _paper(
    programme: Programme, baseline: Assessment, paper: Paper, *, analyst: User, lead: User
) -> Report:
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language=paper.language,
        title=paper.title,
        assessment=baseline,
    )
    sections = list(report.sections.order_by("position", "id"))
    written: dict[str, str] = {
        Section.Kind.TEXT: paper.summary,
        Section.Kind.RECOMMENDATIONS: paper.recommendations,
    }
    for section in sections:
        section.report = report
        if section.kind in written:
            services.section_update(user=analyst, section=section, text=written[section.kind])
            if section.kind == Section.Kind.RECOMMENDATIONS:
                _recommend(section, paper, analyst=analyst)
        elif section.kind == Section.Kind.FINDINGS:
            services.section_set_options(
                user=analyst, section=section, options={"indicators": KEY_INDICATORS}
            )
        elif not section.is_written and section.kind in BUILDERS:
            services.section_build(user=analyst, section=section)
    report.refresh_from_db()
    services.report_submit(user=analyst, report=report)
    for file_format in services.RENDERERS:
        rendering = services.rendering_start(
            user=analyst, report=report, file_format=file_format, queue=False
        )
        services.rendering_run(rendering.pk)
    services.report_approve(user=lead, report=report)
    return services.report_publish(user=lead, report=report)


def _recommend(section: Section, paper: Paper, *, analyst: User) -> None:
    """The paper's recommendations, each linked to the factors of the published maps and
    the priorities of the agreed lists whose code it answers."""
    programme = section.report.programme
    factors = services.answerable_factors(user=analyst, programme=programme)
    priorities = services.answerable_priorities(user=analyst, programme=programme)
    services.recommendations_set(
        user=analyst,
        section=section,
        items=[
            {
                "text": text,
                "factors": list(factors.filter(code__key__in=codes).values_list("pk", flat=True)),
                "priorities": list(
                    priorities.filter(code__key__in=codes).values_list("pk", flat=True)
                ),
            }
            for text, codes in paper.recommended
        ],
    )


def remove_reports(programme: Programme) -> None:
    """The programme's reports and their rendered files (before its assessments, which
    reports keep)."""
    for rendering in Rendering.objects.filter(report__programme=programme).exclude(file=""):
        rendering.file.delete(save=False)
    Report.objects.filter(programme=programme).delete()

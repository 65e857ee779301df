"""Driver-map pages: the list, the map as everyone reads it (drawn on the server as SVG), the
editor (the same drawing, for those who may change the map, with a small script of its own)
and its autosave endpoint, which answers each change with the map drawn again, the
network analysis, two maps side by side, suggestions from co-occurring codes, export and
import. Evidence is shown as the policy allows: every excerpt to those who may see a map's
evidence, otherwise only approved (redacted) quotes on published maps."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.communities.forms import group_offer
from amniyat.core.forms import apply_errors
from amniyat.core.http import upload_limit
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.text import format_list, quoted
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.codebook.services import indicator_choices, latest_indicator_values
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.maps import exchange, network, selectors, svg
from amniyat.drivers.maps import services as maps
from amniyat.drivers.maps.forms import DriverMapForm, MapCompareForm, MapImportForm
from amniyat.drivers.models import DriverMap, Factor, Link, Source
from amniyat.fieldwork.forms.selectors import assessments_visible
from amniyat.places.forms import place_offer

EXPORT_FORMATS = ("graphml", "nodes", "edges", "zip", "svg", "png")
GRAPH_BODY_MAX = 256 * 1024


# ----------------------------------------------------------------------------------------
# What a page shows of a map.


def _evidence_of(
    request: AuthenticatedRequest, driver_map: DriverMap, *, among: Collection[int]
) -> tuple[dict[int, dict[str, Any]], bool]:
    """The excerpts of the map's evidence ``among`` (ids of its factors' and links' excerpts)
    the user may see, as {id: {quote, source}} in the excerpts' order, and whether they are
    full excerpts (True) or publishable quotes only. Showing them is audited."""
    full = policies.can(request.user, "map.view_evidence", driver_map)
    shown: dict[int, dict[str, Any]] = {}
    if not among:
        return shown, full
    visible = maps.evidence_visible(user=request.user, driver_map=driver_map, among=among)
    if full:
        # The quote is cut from its source's text: each source is read (and decrypted) once,
        # however many of its excerpts the map holds; nothing else of an excerpt is read.
        excerpts = list(
            visible.select_related(None)
            .select_related("code")
            .only("source_id", "start", "end", *(f"code__name_{c}" for c in CONTENT_LANGUAGES))
        )
        sources = {
            source.pk: source
            for source in Source.objects.filter(pk__in={e.source_id for e in excerpts}).only(
                "text", "title", "content_language", "translations"
            )
        }
        for excerpt in excerpts:
            source = sources[excerpt.source_id]
            shown[excerpt.pk] = {
                "id": excerpt.pk,
                "quote": (source.text or "")[excerpt.start : excerpt.end],
                "source": str(source.translated("title")),
                "code": excerpt.code.name,
            }
    else:
        for excerpt in visible.select_related(None).only("public_text"):
            shown[excerpt.pk] = {
                "id": excerpt.pk,
                "quote": excerpt.public_text,
                "source": "",
                "code": "",
            }
    if shown:
        audit_record(
            actor=request.user,
            verb=AuditEvent.Verb.VIEWED_PERSONAL,
            obj=driver_map,
            programme=driver_map.programme,
            request=request,
            details={"excerpts": sorted(shown), "publishable_only": not full},
        )
    return shown, full


def _elements(
    factors: list[Factor],
    links: list[Link],
    attached: selectors.EvidenceIds,
    evidence: dict[int, dict[str, Any]],
) -> tuple[list[dict[str, Any]], bool]:
    """The map's factors (``f<id>``) and links (``l<id>``) with what the editor's panel and
    the list of evidence show (of ``attached``, the excerpts each carries, those in
    ``evidence``, in its order), each factor where it is drawn, and whether any had never been
    placed (then the server laid them out)."""
    order = {pk: position for position, pk in enumerate(evidence)}

    def shown_of(ids: list[int]) -> list[dict[str, Any]]:
        return [
            evidence[pk] for pk in sorted((pk for pk in ids if pk in order), key=order.__getitem__)
        ]

    on_factors, on_links = attached
    positions, laid_out = svg.map_positions(factors, links)
    labels = {factor.pk: factor.label for factor in factors}
    shown = {factor.pk: str(factor.translated("label")) for factor in factors}
    elements: list[dict[str, Any]] = []
    for factor in factors:
        x, y = positions[factor.pk]
        elements.append(
            {
                "group": "nodes",
                "data": {
                    "id": f"f{factor.pk}",
                    "pk": factor.pk,
                    # As written (what the editor changes), and as the reader reads it.
                    "label": factor.label,
                    "shown": shown[factor.pk],
                    "kind": factor.kind,
                    "note": factor.note,
                    "code": factor.code.key if factor.code else "",
                    "indicators": list(factor.indicator_keys),
                    "evidence": shown_of(on_factors[factor.pk]),
                },
                "position": {"x": x, "y": y},
            }
        )
    for link in links:
        elements.append(
            {
                "group": "edges",
                "data": {
                    "id": f"l{link.pk}",
                    "pk": link.pk,
                    "source": f"f{link.source_id}",
                    "target": f"f{link.target_id}",
                    "sourceLabel": labels.get(link.source_id, ""),
                    "targetLabel": labels.get(link.target_id, ""),
                    "sourceShown": shown.get(link.source_id, ""),
                    "targetShown": shown.get(link.target_id, ""),
                    "kind": link.kind,
                    "strength": link.strength,
                    "note": link.note,
                    "indicators": list(link.indicator_keys),
                    "evidence": shown_of(on_links[link.pk]),
                },
            }
        )
    return elements, laid_out


def _editor_strings() -> dict[str, Any]:
    """Every text map.js shows, in the request's language."""
    return {
        "saved": _("Saved"),
        "saving": _("Saving…"),
        "failed": _("Not saved: {message}"),
        "offline": _("Not saved: the server could not be reached. Try again."),
        "loopClosed": _("Saved. This link closes a feedback loop: {loop}"),
        "linkModeOn": _("Link mode: click the factor the link starts from."),
        "linkPickTarget": _("Now click the factor “{label}” leads to."),
        "linkModeOff": _("Link mode off."),
        "nothingSelected": _("Select a factor or a link first."),
        "confirmDelete": _("Delete {label}?"),
        "noEvidence": _("No evidence attached."),
        "evidence": _("Evidence"),
        "indicators": _("Indicators"),
        "attachQuote": _("Attach a coded excerpt"),
        "attachIndicator": _("Link a survey indicator"),
        "attach": _("Attach"),
        "remove": _("Remove"),
        "choose": _("Choose…"),
        "noQuotes": _("No coded excerpts to attach yet."),
        "noValue": _("no published figure yet"),
        "note": _("Note"),
        "strength": _("strength"),
        "kinds": dict(Factor.Kind.choices),
        "linkKinds": dict(Link.Kind.choices),
    }


def _indicator_options(request: AuthenticatedRequest, programme: Programme) -> list[dict[str, str]]:
    """The indicators evidence may name, each with its latest value the user may read (drafts
    for those who analyse, published findings for the others): the "how many" beside a
    factor's "why"."""
    values = latest_indicator_values(user=request.user, programme=programme)
    return [
        {"key": key, "label": label, "value": values.get(key, "")}
        for key, label in indicator_choices(programme).items()
    ]


QUOTE_OPTION_LENGTH = 160
QUOTE_OPTIONS_MAX = 200


def _quote_options(
    request: AuthenticatedRequest, driver_map: DriverMap, code_key: str
) -> list[dict[str, Any]]:
    """Excerpts an editor may attach as evidence: those of notes the user may read, of the
    factor's code when it has one, newest first. Showing them is audited."""
    excerpts = coding_selectors.excerpt_list(user=request.user, programme=driver_map.programme)
    if code_key:
        excerpts = excerpts.filter(code__key=code_key)
    chosen = list(excerpts.order_by("-created_at", "-pk")[:QUOTE_OPTIONS_MAX])
    options = []
    for excerpt in chosen:
        quote = (excerpt.source.text or "")[excerpt.start : excerpt.end]
        if len(quote) > QUOTE_OPTION_LENGTH:
            quote = quote[: QUOTE_OPTION_LENGTH - 1] + "…"
        options.append(
            {
                "id": excerpt.pk,
                "quote": quote,
                "source": str(excerpt.source.translated("title")),
                "code": excerpt.code.name,
            }
        )
    if options:
        audit_record(
            actor=request.user,
            verb=AuditEvent.Verb.VIEWED_TEXT,
            obj=driver_map,
            programme=driver_map.programme,
            request=request,
            details={"excerpts": [o["id"] for o in options], "for": "map evidence"},
        )
    return options


def _map_context(
    request: AuthenticatedRequest,
    driver_map: DriverMap,
    factors: list[Factor] | None = None,
    links: list[Link] | None = None,
) -> dict[str, Any]:
    if factors is None or links is None:
        factors, links = selectors.map_factors(driver_map), selectors.map_links(driver_map)
    attached = selectors.map_evidence_ids(driver_map)
    among = {pk for ids in (*attached[0].values(), *attached[1].values()) for pk in ids}
    evidence, full = _evidence_of(request, driver_map, among=among)
    elements, laid_out = _elements(factors, links, attached, evidence)
    return {"elements": elements, "full_evidence": full, "laid_out": laid_out}


def _get_map(request: AuthenticatedRequest, slug: str, pk: int) -> tuple[Programme, DriverMap]:
    programme = programme_get(user=request.user, slug=slug)
    return programme, selectors.driver_map_get(user=request.user, programme=programme, pk=pk)


def _get_map_for_edit(
    request: AuthenticatedRequest, slug: str, pk: int
) -> tuple[Programme, DriverMap]:
    programme = programme_get(user=request.user, slug=slug)
    return programme, selectors.driver_map_for_edit(user=request.user, programme=programme, pk=pk)


def _map_form(
    request: AuthenticatedRequest, programme: Programme, *, with_copy: bool, **kwargs: Any
) -> DriverMapForm:
    user = request.user
    return DriverMapForm(
        request.POST if request.method == "POST" else None,
        places=place_offer(user=user, programme=programme, within="area"),
        groups=group_offer(user=user, programme=programme),
        assessments=assessments_visible(user=user, programme=programme),
        copy_choices=(
            selectors.driver_map_list(user=user, programme=programme) if with_copy else None
        ),
        **kwargs,
    )


# ----------------------------------------------------------------------------------------
# Pages.


@login_required
def map_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    driver_maps = selectors.driver_map_list(user=request.user, programme=programme)
    listed = list(driver_maps)
    return render(
        request,
        "drivers/maps/list.html",
        {
            "programme": programme,
            "tab": "maps",
            "maps": listed,
            "can_create": policies.can(request.user, "map.create", programme),
            "compare_form": MapCompareForm(maps=driver_maps, listed=listed),
        },
    )


@login_required
def map_create(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    if not policies.can(request.user, "map.create", programme):
        raise Http404("No such page.")
    form = _map_form(request, programme, with_copy=True)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        copy_from = values.pop("copy_from", None)
        try:
            if copy_from is not None:
                driver_map = maps.map_copy(
                    acting_user=request.user,
                    driver_map=copy_from,
                    title=values["title"],
                    perspective=values["perspective"],
                    assessment=values["assessment"],
                    place=values["place"],
                    group=values["group"],
                    request=request,
                )
            else:
                driver_map = maps.map_create(
                    acting_user=request.user, programme=programme, request=request, **values
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The map was created. Add its factors and links."))
            return redirect("drivers:map_detail", slug=slug, pk=driver_map.pk)
    return render(
        request,
        "drivers/maps/form.html",
        {"programme": programme, "tab": "maps", "form": form},
    )


def _map_page(
    request: AuthenticatedRequest,
    programme: Programme,
    driver_map: DriverMap,
    factors: list[Factor],
    links: list[Link],
) -> dict[str, Any]:
    """What the map's page and its editor both show: the factors and links with their
    evidence and indicators (label and latest value), and what the user may do."""
    context = _map_context(request, driver_map, factors, links)
    indicators = _indicator_options(request, programme)
    texts = {
        o["key"]: f"{o['label']} — {o['value']}" if o["value"] else o["label"] for o in indicators
    }
    for element in context["elements"]:
        keys = element["data"]["indicators"]
        element["data"]["indicatorTexts"] = [texts.get(key, key) for key in keys]
    return {
        "programme": programme,
        "tab": "maps",
        "map": driver_map,
        "can_edit": policies.can(request.user, "map.edit", driver_map),
        "can_publish": policies.can(request.user, "map.publish", driver_map),
        "factor_kinds": Factor.Kind.choices,
        "link_kinds": Link.Kind.choices,
        "indicators": indicators,
        **context,
    }


@login_required
def map_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The map as everyone reads it: drawn on the server, with every factor and link listed
    beside the drawing. No script draws it, so it is light on a phone."""
    programme, driver_map = _get_map(request, slug, pk)
    factors, links = selectors.map_factors(driver_map), selectors.map_links(driver_map)
    context = _map_page(request, programme, driver_map, factors, links)
    return render(
        request,
        "drivers/maps/detail.html",
        {
            **context,
            "drawing": svg.map_drawing(driver_map, content=(factors, links)),
            "factor_count": len(factors),
        },
    )


@login_required
def map_editor(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The editor, for those who may change the map: the map drawn on the server as readers
    see it (labels as written), which map.js makes selectable and draggable, each change
    saved through ``map_graph`` and answered with the map drawn again. No drawing library:
    the page stays within the 150 kB a phone on 3G is given (#14)."""
    programme, driver_map = _get_map_for_edit(request, slug, pk)
    factors, links = selectors.map_factors(driver_map), selectors.map_links(driver_map)
    context = _map_page(request, programme, driver_map, factors, links)
    return render(
        request,
        "drivers/maps/editor.html",
        {
            **context,
            "drawing": svg.editor_drawing(driver_map, content=(factors, links)),
            "map_config": {
                "editable": True,
                "graphUrl": reverse("drivers:map_graph", args=[slug, driver_map.pk]),
                "indicators": context["indicators"],
                "laidOut": context["laid_out"],
            },
            "map_strings": {**_editor_strings(), **_typography()},
        },
    )


def _typography() -> dict[str, Any]:
    """How the editor quotes a name and joins a list in the reader's language (core/text.py):
    «…» in Russian and Tajik, “…” in Uzbek and English; "a, b ва c" in Tajik."""
    opening, closing = quoted("\x01").split("\x01")
    pair = format_list(["\x01", "\x02"])
    three = format_list(["\x01", "\x02", "\x03"])
    return {
        "quotes": [opening, closing],
        "list": {
            "pair": pair.split("\x01")[1].split("\x02")[0],
            "middle": three.split("\x01")[1].split("\x02")[0],
            "last": three.split("\x02")[1].split("\x03")[0],
        },
    }


@login_required
def map_edit(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, driver_map = _get_map_for_edit(request, slug, pk)
    initial = {name: getattr(driver_map, name) for name in maps.MAP_FIELDS}
    form = _map_form(request, programme, with_copy=False, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            maps.map_update(
                acting_user=request.user,
                driver_map=driver_map,
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            driver_map.refresh_from_db()
            apply_errors(form, error)
        else:
            messages.success(request, _("The map was saved."))
            return redirect("drivers:map_detail", slug=slug, pk=driver_map.pk)
    return render(
        request,
        "drivers/maps/form.html",
        {"programme": programme, "tab": "maps", "form": form, "map": driver_map},
    )


@login_required
@require_http_methods(["GET", "POST"])
def map_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, driver_map = _get_map_for_edit(request, slug, pk)
    if request.method == "POST":
        maps.map_delete(acting_user=request.user, driver_map=driver_map, request=request)
        messages.success(request, _("The map was deleted."))
        return redirect("drivers:map_list", slug=slug)
    return render(
        request,
        "drivers/maps/delete.html",
        {
            "programme": programme,
            "tab": "maps",
            "map": driver_map,
            "factor_count": driver_map.factors.count(),
            "link_count": driver_map.links.count(),
        },
    )


@login_required
@require_POST
def map_publish(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    _programme, driver_map = _get_map(request, slug, pk)
    if not policies.can(request.user, "map.publish", driver_map):
        raise Http404("No such page.")
    if request.POST.get("action") == "unpublish":
        maps.map_unpublish(acting_user=request.user, driver_map=driver_map, request=request)
        messages.success(request, _("The map is no longer published."))
    else:
        maps.map_publish(acting_user=request.user, driver_map=driver_map, request=request)
        messages.success(
            request,
            _(
                "The map is published: everyone in the programme can see it, with only the "
                "quotes approved for publication."
            ),
        )
    return redirect("drivers:map_detail", slug=slug, pk=driver_map.pk)


# ----------------------------------------------------------------------------------------
# The editor's autosave endpoint.


def _errors_json(error: ValidationError, status: int = 400) -> JsonResponse:
    if hasattr(error, "error_dict"):
        errors = {
            name: [str(m) for e in items for m in e.messages]
            for name, items in error.error_dict.items()
        }
    else:
        errors = {"__all__": [str(m) for m in error.messages]}
    message = " ".join(m for items in errors.values() for m in items)
    return JsonResponse({"ok": False, "errors": errors, "message": message}, status=status)


def _factor_json(factor: Factor) -> dict[str, Any]:
    return {
        "id": f"f{factor.pk}",
        "pk": factor.pk,
        "label": factor.label,
        "kind": factor.kind,
        "note": factor.note,
        "code": factor.code.key if factor.code else "",
        "indicators": list(factor.indicator_keys),
        "x": factor.x,
        "y": factor.y,
    }


def _link_json(link: Link) -> dict[str, Any]:
    return {
        "id": f"l{link.pk}",
        "pk": link.pk,
        "source": f"f{link.source_id}",
        "target": f"f{link.target_id}",
        "kind": link.kind,
        "strength": link.strength,
        "note": link.note,
        "indicators": list(link.indicator_keys),
    }


def _one_of(queryset: Any, value: Any, what: str) -> Any:
    try:
        found = queryset.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ValidationError({"id": _("There is no such {what} on this map.").format(what=what)})
    return found


def _apply_operation(
    request: AuthenticatedRequest, driver_map: DriverMap, op: dict[str, Any]
) -> dict[str, Any]:
    """Carry out one editor operation through the services; ValidationError on bad input."""
    user = request.user
    name = op.get("op")
    fields = {k: v for k, v in op.items() if k not in ("op", "id")}
    for listed in ("indicator_keys", "excerpts"):
        if listed in fields and not isinstance(fields[listed], list | None):
            raise ValidationError({listed: _("Send a list.")})
    if name == "factor_add":
        factor = maps.factor_add(
            acting_user=user,
            driver_map=driver_map,
            label=fields.get("label", ""),
            kind=fields.get("kind", Factor.Kind.DRIVER),
            note=fields.get("note", ""),
            code=fields.get("code"),
            x=fields.get("x", 0),
            y=fields.get("y", 0),
            indicator_keys=fields.get("indicator_keys") or [],
            excerpts=fields.get("excerpts") or [],
            request=request,
        )
        return {"factor": _factor_json(factor)}
    if name in ("factor_update", "factor_move"):
        factor = _one_of(driver_map.factors.all(), op.get("id"), _("factor"))
        allowed = ("x", "y") if name == "factor_move" else maps.FACTOR_FIELDS
        values = {k: v for k, v in fields.items() if k in allowed}
        factor = maps.factor_update(acting_user=user, factor=factor, request=request, **values)
        return {"factor": _factor_json(factor)}
    if name == "factors_move":
        positions = fields.get("positions")
        if not isinstance(positions, list):
            raise ValidationError({"positions": _("Send the positions as a list.")})
        moved = maps.factors_move(
            acting_user=user,
            driver_map=driver_map,
            positions=[
                (p.get("id"), p.get("x"), p.get("y")) if isinstance(p, dict) else (None, 0, 0)
                for p in positions
            ],
            request=request,
        )
        return {"moved": [f.pk for f in moved]}
    if name == "factor_delete":
        factor = _one_of(driver_map.factors.all(), op.get("id"), _("factor"))
        maps.factor_delete(acting_user=user, factor=factor, request=request)
        return {"deleted": f"f{op.get('id')}"}
    if name == "link_add":
        change = maps.link_add(
            acting_user=user,
            driver_map=driver_map,
            source=fields.get("source"),  # type: ignore[arg-type]
            target=fields.get("target"),  # type: ignore[arg-type]
            kind=fields.get("kind", Link.Kind.CAUSES),
            strength=fields.get("strength", 2),
            note=fields.get("note", ""),
            indicator_keys=fields.get("indicator_keys") or [],
            excerpts=fields.get("excerpts") or [],
            request=request,
        )
        answer: dict[str, Any] = {"link": _link_json(change.link)}
        if change.loop:
            answer["loop"] = [f.label for f in change.loop]
            answer["message"] = _("This link closes a feedback loop: {loop}").format(
                loop=change.loop_text()
            )
        return answer
    if name == "link_update":
        link = _one_of(driver_map.links.all(), op.get("id"), _("link"))
        values = {k: v for k, v in fields.items() if k in maps.LINK_FIELDS}
        link = maps.link_update(acting_user=user, link=link, request=request, **values)
        return {"link": _link_json(link)}
    if name == "link_delete":
        link = _one_of(driver_map.links.all(), op.get("id"), _("link"))
        maps.link_delete(acting_user=user, link=link, request=request)
        return {"deleted": f"l{op.get('id')}"}
    if name in ("evidence_attach", "evidence_detach"):
        queryset = driver_map.links.all() if op.get("item") == "link" else driver_map.factors.all()
        item = _one_of(
            queryset, op.get("id"), _("link") if op.get("item") == "link" else _("factor")
        )
        service = maps.evidence_attach if name == "evidence_attach" else maps.evidence_detach
        service(
            acting_user=user,
            item=item,
            excerpts=fields.get("excerpts") or [],
            indicator_keys=fields.get("indicator_keys") or [],
            request=request,
        )
        item.refresh_from_db()
        attached = set(item.excerpts.values_list("pk", flat=True))
        evidence, _full = _evidence_of(request, driver_map, among=attached)
        return {
            "item": {
                "id": f"{'l' if isinstance(item, Link) else 'f'}{item.pk}",
                "evidence": [evidence[pk] for pk in sorted(attached) if pk in evidence],
                "indicators": list(item.indicator_keys),
            }
        }
    raise ValidationError({"op": _("Unknown change: {op}.").format(op=name)})


@login_required
@require_http_methods(["GET", "POST"])
def map_graph(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """GET: the map's factors and links with their evidence; ``?drawing=1``, for those who
    may edit it, the editor's drawing (``{"drawing": "<svg…>"}``). POST (JSON): one editor
    operation ``{"op": "factor_add" | "factor_update" | "factor_move" | "factors_move" |
    "factor_delete" | "link_add" | "link_update" | "link_delete" | "evidence_attach" |
    "evidence_detach", …}``; the answer says what was saved or, translated, what is wrong,
    and with ``?drawing=1`` carries the map drawn again after the change."""
    if request.method == "GET" and "drawing" in request.GET:
        _programme, driver_map = _get_map_for_edit(request, slug, pk)
        return JsonResponse({"drawing": str(svg.editor_drawing(driver_map))})
    if request.method == "GET" and "quotes" in request.GET:
        # The excerpts an editor may attach (of one code: ?quotes=<code key>, or all: ?quotes=).
        _programme, driver_map = _get_map_for_edit(request, slug, pk)
        code_key = request.GET.get("quotes", "")[:80]
        return JsonResponse({"quotes": _quote_options(request, driver_map, code_key)})
    if request.method == "GET":
        _programme, driver_map = _get_map(request, slug, pk)
        return JsonResponse(
            {
                "map": {"pk": driver_map.pk, "title": driver_map.title},
                "editable": policies.can(request.user, "map.edit", driver_map),
                "elements": _map_context(request, driver_map)["elements"],
            }
        )
    _programme, driver_map = _get_map_for_edit(request, slug, pk)
    if len(request.body) > GRAPH_BODY_MAX:
        return _errors_json(ValidationError(_("This change is too large.")), status=413)
    try:
        op = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _errors_json(ValidationError(_("The change could not be read.")))
    if not isinstance(op, dict):
        return _errors_json(ValidationError(_("The change could not be read.")))
    try:
        answer = _apply_operation(request, driver_map, op)
    except ValidationError as error:
        return _errors_json(error)
    except PermissionDenied as error:
        return _errors_json(ValidationError(str(error)), status=403)
    if "drawing" in request.GET:
        answer["drawing"] = str(svg.editor_drawing(driver_map))
    return JsonResponse({"ok": True, **answer})


# ----------------------------------------------------------------------------------------
# Analysis, comparison, suggestions.


@login_required
def map_analysis(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, driver_map = _get_map(request, slug, pk)
    content = selectors.map_content(driver_map)
    analysis = network.analyse_map(driver_map, content)
    context: dict[str, Any] = {
        "programme": programme,
        "tab": "maps",
        "map": driver_map,
        "analysis": analysis,
    }
    if request.htmx:
        return render(request, "drivers/maps/analysis_fragment.html", context)
    context.update(
        drawing=svg.map_drawing(
            driver_map,
            list_url=reverse("drivers:map_detail", args=[slug, driver_map.pk]),
            content=content,
        ),
        factor_kinds=Factor.Kind.choices,
        link_kinds=Link.Kind.choices,
    )
    return render(request, "drivers/maps/analysis.html", context)


@login_required
def map_compare(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    visible = selectors.driver_map_list(user=request.user, programme=programme)
    a_pk, b_pk = request.GET.get("a"), request.GET.get("b")
    context: dict[str, Any] = {
        "programme": programme,
        "tab": "maps",
        "form": MapCompareForm(request.GET or None, maps=visible),
        "factor_kinds": Factor.Kind.choices,
        "link_kinds": Link.Kind.choices,
    }
    if a_pk and b_pk:
        map_a = selectors.driver_map_get(user=request.user, programme=programme, pk=a_pk)
        map_b = selectors.driver_map_get(user=request.user, programme=programme, pk=b_pk)
        content_a, content_b = selectors.map_content(map_a), selectors.map_content(map_b)
        comparison = network.map_compare(map_a, map_b, content_a, content_b)
        differ_a, differ_b = comparison.differing_ids()
        context.update(
            map_a=map_a,
            map_b=map_b,
            comparison=comparison,
            drawing_a=svg.map_drawing(
                map_a,
                id_prefix="map-a",
                highlight=differ_a,
                list_url=reverse("drivers:map_detail", args=[slug, map_a.pk]),
                content=content_a,
            ),
            drawing_b=svg.map_drawing(
                map_b,
                id_prefix="map-b",
                highlight=differ_b,
                list_url=reverse("drivers:map_detail", args=[slug, map_b.pk]),
                content=content_b,
            ),
        )
    return render(request, "drivers/maps/compare.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def map_suggest(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    programme, driver_map = _get_map_for_edit(request, slug, pk)
    if request.method == "POST":
        code = codebook_selectors.code_get(
            user=request.user, programme=programme, pk=request.POST.get("code", "")
        )
        target_pk = request.POST.get("target", "")
        target = (
            codebook_selectors.code_get(user=request.user, programme=programme, pk=target_pk)
            if target_pk
            else None
        )
        excerpts = [e for e in request.POST.get("excerpts", "").split(",") if e.strip()]
        try:
            added = maps.suggestion_add(
                acting_user=request.user,
                driver_map=driver_map,
                code=code,
                target=target,
                excerpts=[int(e) for e in excerpts if e.strip().isdigit()],
                request=request,
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            if isinstance(added, maps.LinkChange):
                text = _("The link “{source}” → “{target}” was added.").format(
                    source=added.link.source.label, target=added.link.target.label
                )
                if added.loop:
                    text += " " + _("It closes a feedback loop: {loop}").format(
                        loop=added.loop_text()
                    )
                messages.success(request, text)
            else:
                messages.success(
                    request, _("The factor “{label}” was added.").format(label=added.label)
                )
        return redirect("drivers:map_suggest", slug=slug, pk=driver_map.pk)
    try:
        min_together = max(1, min(int(request.GET.get("min", "2")), 50))
    except ValueError:
        min_together = 2
    suggestions = maps.map_suggest_from_codes(
        user=request.user, driver_map=driver_map, min_together=min_together
    )
    return render(
        request,
        "drivers/maps/suggest.html",
        {
            "programme": programme,
            "tab": "maps",
            "map": driver_map,
            "suggestions": suggestions,
            "min_together": min_together,
        },
    )


# ----------------------------------------------------------------------------------------
# Export and import.


@login_required
def map_export(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    _programme, driver_map = _get_map(request, slug, pk)
    kind = request.GET.get("format", "graphml")
    if kind not in EXPORT_FORMATS:
        raise Http404("No such format.")
    name = slugify(driver_map.title) or f"map-{driver_map.pk}"
    response: HttpResponse
    visible: set[int] = set()
    if kind in ("svg", "png"):
        # The drawing readers see, as a file of its own: factors and links, no evidence.
        drawing = svg.map_svg(driver_map, list_url=None, background="#ffffff")
        if kind == "svg":
            response = HttpResponse(
                '<?xml version="1.0" encoding="UTF-8"?>\n' + drawing,
                content_type="image/svg+xml; charset=utf-8",
            )
        else:
            response = HttpResponse(svg.png_of(drawing), content_type="image/png")
        filename = f"{name}.{kind}"
    else:
        # The evidence by id from the map's join tables, then which of it the user may see:
        # no excerpt row is read (nor its memo decrypted) for a file that names them by id.
        evidence = selectors.map_evidence_ids(driver_map)
        on_map = {pk for ids in (*evidence[0].values(), *evidence[1].values()) for pk in ids}
        visible = set(
            maps.evidence_visible(user=request.user, driver_map=driver_map, among=on_map)
            .order_by()
            .values_list("pk", flat=True)
        )
        if kind == "graphml":
            response = HttpResponse(
                exchange.export_graphml(driver_map, visible_excerpts=visible, evidence=evidence),
                content_type="application/graphml+xml; charset=utf-8",
            )
            filename = f"{name}.graphml"
        elif kind == "nodes":
            response = HttpResponse(
                exchange.export_csv_nodes(driver_map, visible_excerpts=visible, evidence=evidence),
                content_type="text/csv; charset=utf-8",
            )
            filename = f"{name}-elements.csv"
        elif kind == "edges":
            response = HttpResponse(
                exchange.export_csv_edges(driver_map, visible_excerpts=visible, evidence=evidence),
                content_type="text/csv; charset=utf-8",
            )
            filename = f"{name}-connections.csv"
        else:
            response = HttpResponse(
                exchange.export_csv_zip(driver_map, visible_excerpts=visible, evidence=evidence),
                content_type="application/zip",
            )
            filename = f"{name}.zip"
    audit_record(
        actor=request.user,
        verb=AuditEvent.Verb.EXPORTED,
        obj=driver_map,
        programme=driver_map.programme,
        request=request,
        details={"format": kind, "evidence": sorted(visible)},
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@upload_limit(lambda: exchange.MAX_IMPORT_BYTES)
@login_required
@require_http_methods(["GET", "POST"])
def map_import(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    listed = [
        m
        for m in selectors.driver_map_list(user=request.user, programme=programme)
        if policies.can(request.user, "map.edit", m)
    ]
    editable = DriverMap.objects.filter(pk__in=[m.pk for m in listed])
    may_create = policies.can(request.user, "map.create", programme)
    if not may_create and not listed:
        raise Http404("No such page.")
    initial = {}
    into_pk = _int_or_none(request.GET.get("into", ""))
    if into_pk is not None and into_pk in {m.pk for m in listed}:
        initial["into"] = into_pk
    form = MapImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        editable=editable,
        listed=listed,
        initial=initial,
    )
    problems: list[exchange.ImportProblem] = []
    if request.method == "POST" and form.is_valid():
        files = form.cleaned_data["upload"]
        if sum(f.size or 0 for f in files) > exchange.MAX_IMPORT_BYTES:
            problems = [
                exchange.ImportProblem(
                    ", ".join(f.name or "" for f in files),
                    None,
                    "",
                    _("The files are too large: at most {n} MB.").format(
                        n=exchange.MAX_IMPORT_BYTES // 2**20
                    ),
                )
            ]
        else:
            try:
                data = exchange.read_map_files(
                    [(f.name or "", f.read()) for f in files], programme=programme
                )
                into = form.cleaned_data["into"]
                if into is not None:
                    result = exchange.map_import(
                        acting_user=request.user, driver_map=into, data=data, request=request
                    )
                elif may_create:
                    result = exchange.map_import_new(
                        acting_user=request.user,
                        programme=programme,
                        title=form.cleaned_data["title"],
                        perspective=form.cleaned_data["perspective"],
                        data=data,
                        request=request,
                    )
                else:
                    raise exchange.MapImportError(
                        [exchange.ImportProblem("", None, "", _("Choose a map to import into."))]
                    )
            except exchange.MapImportError as error:
                problems = error.problems
            else:
                messages.success(
                    request,
                    _(
                        "Imported: {fa} factors added, {fu} updated; {la} links added, "
                        "{lu} updated."
                    ).format(
                        fa=result.factors_added,
                        fu=result.factors_updated,
                        la=result.links_added,
                        lu=result.links_updated,
                    ),
                )
                return redirect("drivers:map_detail", slug=slug, pk=result.driver_map.pk)
    return render(
        request,
        "drivers/maps/import.html",
        {"programme": programme, "tab": "maps", "form": form, "problems": problems},
    )


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

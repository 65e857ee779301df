"""Every write to driver maps: the maps themselves, their factors and links, the evidence each
carries, copies (the men's map started from the women's, the endline from the baseline) and
factors and links suggested from codes that appear together in the same passages.

A link's two ends must be factors of the same map, so of the same programme; a link that closes
a feedback loop is allowed, and the caller is told which loop it closed. Every change is
checked before anything is written and written in one transaction with its audit row.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amniyat.accounts import policies
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.communities.models import CommunityGroup
from amniyat.core.services import changed_fields
from amniyat.core.text import format_list
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.codebook.services import indicator_choices
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.models import Code, DriverMap, Excerpt, Factor, Link
from amniyat.fieldwork.models import Assessment
from amniyat.places.models import Place
from amniyat.places.selectors import programme_area_ids

if TYPE_CHECKING:
    from django.http import HttpRequest

    from amniyat.accounts.models import Programme, User
    from amniyat.accounts.policies import AnyUser

Verb = AuditEvent.Verb
MAP_FIELDS = ("title", "place", "group", "assessment", "perspective", "description")
FACTOR_FIELDS = ("label", "kind", "code", "note", "x", "y", "indicator_keys")
LINK_FIELDS = ("kind", "strength", "note", "indicator_keys")
# A code of the codebook becomes a factor of this kind when a map is suggested from codes.
FACTOR_KIND_OF_CODE: dict[str, str] = {
    Code.Kind.CONCERN: Factor.Kind.CONCERN,
    Code.Kind.DRIVER: Factor.Kind.DRIVER,
    Code.Kind.THEME: Factor.Kind.DRIVER,
}
SUGGESTIONS_MAX = 30
EVIDENCE_PER_SUGGESTION = 10


@dataclass(frozen=True)
class LinkChange:
    """A saved link and, when it closed a feedback loop, the loop's factors in order (the
    link's source first; the loop returns to it)."""

    link: Link
    loop: list[Factor] = field(default_factory=list)

    def loop_text(self) -> str:
        labels = [f.label for f in self.loop]
        return " → ".join([*labels, labels[0]]) if labels else ""


@dataclass(frozen=True)
class SuggestedFactor:
    code: Code
    kind: str
    excerpts: int  # how many excerpts apply the code


@dataclass(frozen=True)
class SuggestedLink:
    source: Code
    target: Code
    together: int  # passages (or overlapping excerpt pairs) where both codes were applied
    excerpt_ids: list[int]
    # Codes appearing together do not say which way the influence runs; a driver is put
    # before a concern, and the person adding the link decides.
    direction_known: bool


@dataclass(frozen=True)
class MapSuggestions:
    factors: list[SuggestedFactor]
    links: list[SuggestedLink]


# ----------------------------------------------------------------------------------------
# Checks shared by the writes.


def _user_or_none(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _clean_text(value: Any, *, name: str, max_length: int | None = None) -> str:
    text = "" if value is None else str(value).strip()
    if max_length is not None and len(text) > max_length:
        raise ValidationError({name: _("Keep this under {n} characters.").format(n=max_length)})
    return text


def _clean_label(driver_map: DriverMap, value: Any, *, exclude: int | None = None) -> str:
    label = _clean_text(value, name="label", max_length=200)
    if not label:
        raise ValidationError({"label": _("Give the factor a name.")})
    same = driver_map.factors.filter(label__iexact=label)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise ValidationError(
            {"label": _("There is already a factor “{label}” on this map.").format(label=label)}
        )
    return label


def _clean_factor_kind(value: Any) -> str:
    if value not in Factor.Kind.values:
        raise ValidationError(
            {"kind": _("Choose a security concern, a driver, a root cause or an effect.")}
        )
    return str(value)


def _clean_link_kind(value: Any) -> str:
    if value not in Link.Kind.values:
        raise ValidationError({"kind": _("Choose causes, worsens or mitigates.")})
    return str(value)


def _clean_strength(value: Any) -> int:
    try:
        strength = int(value)
    except (TypeError, ValueError):
        strength = 0
    if strength not in (1, 2, 3) or (isinstance(value, float) and value != strength):
        raise ValidationError({"strength": _("The strength of a link is 1, 2 or 3.")})
    return strength


def _clean_coordinate(value: Any, *, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({name: _("A position must be a number.")}) from None
    if number != number or abs(number) > 1e6:  # NaN, or far off any screen
        raise ValidationError({name: _("A position must be a number.")})
    return round(number, 1)


def _clean_code(driver_map: DriverMap, value: Any) -> Code | None:
    if value in (None, ""):
        return None
    code_id = value.pk if isinstance(value, Code) else _as_int(value)
    code = (
        Code.objects.filter(programme_id=driver_map.programme_id, pk=code_id).first()
        if code_id is not None
        else None
    )
    if code is None:
        raise ValidationError({"code": _("This code is not in the programme's codebook.")})
    return code


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def indicator_keys_of(programme: Programme) -> set[str]:
    """The indicator keys evidence may name: the programme's indicators and, for indicators
    expanded over a select_multiple question, each choice (``concern.drugs``) — the keys the
    codebook links codes to."""
    return set(indicator_choices(programme))


def _clean_indicator_keys(programme: Programme, keys: Iterable[Any]) -> list[str]:
    wanted = []
    for key in keys:
        text = str(key).strip()
        if text and text not in wanted:
            wanted.append(text)
    if not wanted:
        return []
    known = indicator_keys_of(programme)
    unknown = [key for key in wanted if key not in known]
    if unknown:
        raise ValidationError(
            {
                "indicator_keys": _(
                    "Not an indicator of this programme's indicator set: {keys}."
                ).format(keys=format_list(unknown))
            }
        )
    return wanted


def _clean_excerpts(
    user: AnyUser, driver_map: DriverMap, excerpts: Iterable[Excerpt | int | str]
) -> list[Excerpt]:
    """Excerpts the user may read, of the map's programme; anything else is refused."""
    ids: list[int] = []
    for item in excerpts:
        pk = item.pk if isinstance(item, Excerpt) else _as_int(item)
        if pk is None:
            raise ValidationError(
                {"excerpts": _("“{value}” is not an excerpt.").format(value=item)}
            )
        if pk not in ids:
            ids.append(pk)
    if not ids:
        return []
    found = {
        e.pk: e
        for e in coding_selectors.excerpt_list(user=user, programme=driver_map.programme).filter(
            pk__in=ids
        )
    }
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise ValidationError(
            {
                "excerpts": ngettext(
                    "Excerpt {ids} is not evidence you can read in this programme.",
                    "Excerpts {ids} are not evidence you can read in this programme.",
                    len(missing),
                ).format(ids=format_list(missing))
            }
        )
    return [found[pk] for pk in ids]


def _factor_of_map(driver_map: DriverMap, value: Factor | int | str | None, *, name: str) -> Factor:
    """The factor ``value`` names, which must be on ``driver_map``."""
    pk = value.pk if isinstance(value, Factor) else _as_int(value)
    found = driver_map.factors.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise ValidationError(
            {
                name: _(
                    "Factor {id} is not on this map: a link joins two factors of the same map."
                ).format(id=value.pk if isinstance(value, Factor) else value)
            }
        )
    return found


def _map_graph(driver_map: DriverMap) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(driver_map.factors.values_list("pk", flat=True))
    graph.add_edges_from(driver_map.links.values_list("source_id", "target_id"))
    return graph


def loop_closed_by(link: Link) -> list[Factor]:
    """The feedback loop ``link`` closes: its source, its target and the shortest way back
    from the target to the source over the map's other links; empty if it closes none."""
    graph = _map_graph(link.map)
    if graph.has_edge(link.source_id, link.target_id):
        graph.remove_edge(link.source_id, link.target_id)
    try:
        back = nx.shortest_path(graph, link.target_id, link.source_id)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return []
    order = [link.source_id, *back[:-1]]
    factors = {f.pk: f for f in Factor.objects.filter(pk__in=order)}
    return [factors[pk] for pk in order]


def _touch(driver_map: DriverMap) -> None:
    """Mark the map as changed now (the list shows when each map was last edited)."""
    driver_map.save(update_fields=["updated_at"])


# ----------------------------------------------------------------------------------------
# Maps.


def _check_map_scope(
    programme: Programme,
    *,
    place: Place | None,
    group: CommunityGroup | None,
    assessment: Assessment | None,
) -> None:
    if place is not None and place.pk not in programme_area_ids(programme):
        raise ValidationError({"place": _("Choose a place this programme works in.")})
    if group is not None and group.programme_id != programme.pk:
        raise ValidationError({"group": _("Choose a community group of this programme.")})
    if assessment is not None and assessment.programme_id != programme.pk:
        raise ValidationError({"assessment": _("Choose an assessment of this programme.")})


def _check_title(programme: Programme, title: Any, *, exclude: int | None = None) -> str:
    text = _clean_text(title, name="title", max_length=200)
    if not text:
        raise ValidationError({"title": _("Give the map a title.")})
    same = DriverMap.objects.filter(programme=programme, title__iexact=text)
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise ValidationError(
            {"title": _("This programme already has a map called “{title}”.").format(title=text)}
        )
    return text


def _organisation_for_new_map(acting_user: User, programme: Programme) -> int | None:
    """Facilitators' maps belong to their organisation (so only their team and the analysts
    see them); the lead's and analysts' maps belong to the programme itself."""
    membership = policies.membership_in(acting_user, programme)
    if membership is not None and membership.role == policies.Role.FACILITATOR:
        return membership.organisation_id
    return None


def map_create(
    *,
    acting_user: User,
    programme: Programme,
    title: str,
    place: Place | None = None,
    group: CommunityGroup | None = None,
    assessment: Assessment | None = None,
    perspective: str = DriverMap.Perspective.EVERYONE,
    description: str = "",
    request: HttpRequest | None = None,
) -> DriverMap:
    require(acting_user, "map.create", programme)
    if perspective not in DriverMap.Perspective.values:
        raise ValidationError({"perspective": _("Choose whose view the map shows.")})
    driver_map = DriverMap(
        programme=programme,
        organisation_id=_organisation_for_new_map(acting_user, programme),
        title=_check_title(programme, title),
        place=place,
        group=group,
        assessment=assessment,
        perspective=perspective,
        description=_clean_text(description, name="description"),
        created_by=acting_user,
    )
    _check_map_scope(programme, place=place, group=group, assessment=assessment)
    with transaction.atomic():
        driver_map.save()
        audit_record(
            actor=acting_user,
            verb=Verb.CREATED,
            obj=driver_map,
            programme=programme,
            request=request,
        )
    return driver_map


def map_update(
    *,
    acting_user: User,
    driver_map: DriverMap,
    request: HttpRequest | None = None,
    **values: Any,
) -> DriverMap:
    require(acting_user, "map.edit", driver_map)
    unknown = set(values) - set(MAP_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    programme = driver_map.programme
    if "title" in values:
        values["title"] = _check_title(programme, values["title"], exclude=driver_map.pk)
    if "perspective" in values and values["perspective"] not in DriverMap.Perspective.values:
        raise ValidationError({"perspective": _("Choose whose view the map shows.")})
    if "description" in values:
        values["description"] = _clean_text(values["description"], name="description")
    _check_map_scope(
        programme,
        place=values.get("place", driver_map.place),
        group=values.get("group", driver_map.group),
        assessment=values.get("assessment", driver_map.assessment),
    )
    with transaction.atomic():
        changes = changed_fields(driver_map, values)
        if changes:
            driver_map.save()
            audit_record(
                actor=acting_user,
                verb=Verb.UPDATED,
                obj=driver_map,
                programme=programme,
                request=request,
                details={"fields": sorted(changes)},
            )
    return driver_map


def map_delete(
    *, acting_user: User, driver_map: DriverMap, request: HttpRequest | None = None
) -> None:
    require(acting_user, "map.edit", driver_map)
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            verb=Verb.DELETED,
            obj=driver_map,
            programme=driver_map.programme,
            request=request,
            details={
                "factors": driver_map.factors.count(),
                "links": driver_map.links.count(),
            },
        )
        driver_map.delete()


def _set_published(
    acting_user: User, driver_map: DriverMap, publish: bool, request: HttpRequest | None
) -> DriverMap:
    require(acting_user, "map.publish", driver_map)
    if (driver_map.published_at is not None) == publish:
        return driver_map
    with transaction.atomic():
        driver_map.published_at = timezone.now() if publish else None
        driver_map.save(update_fields=["published_at", "updated_at"])
        audit_record(
            actor=acting_user,
            verb=Verb.PUBLISHED if publish else Verb.UNPUBLISHED,
            obj=driver_map,
            programme=driver_map.programme,
            request=request,
            details={"published": publish},
        )
    return driver_map


def map_publish(
    *, acting_user: User, driver_map: DriverMap, request: HttpRequest | None = None
) -> DriverMap:
    """Show the map to everyone in the programme (viewers see only publishable quotes)."""
    return _set_published(acting_user, driver_map, True, request)


def map_unpublish(
    *, acting_user: User, driver_map: DriverMap, request: HttpRequest | None = None
) -> DriverMap:
    return _set_published(acting_user, driver_map, False, request)


def map_copy(
    *,
    acting_user: User,
    driver_map: DriverMap,
    title: str,
    perspective: str | None = None,
    assessment: Assessment | None = None,
    place: Place | None = None,
    group: CommunityGroup | None = None,
    request: HttpRequest | None = None,
) -> DriverMap:
    """A new, unpublished map with the same factors, links and evidence, to start another
    perspective (the men's map from the women's) or another assessment (the endline map
    from the baseline) from."""
    programme = driver_map.programme
    require(acting_user, "map.create", programme)
    if not policies.can(acting_user, "map.view", driver_map):
        raise ValidationError(_("You cannot copy a map you cannot see."))
    # Only evidence the user may read goes with the copy.
    readable = (
        set(
            coding_selectors.excerpt_list(user=acting_user, programme=programme).values_list(
                "pk", flat=True
            )
        )
        if policies.can(acting_user, "map.view_evidence", driver_map)
        else set()
    )
    with transaction.atomic():
        copy = map_create(
            acting_user=acting_user,
            programme=programme,
            title=title,
            place=place if place is not None else driver_map.place,
            group=group if group is not None else driver_map.group,
            assessment=assessment if assessment is not None else driver_map.assessment,
            perspective=perspective or driver_map.perspective,
            description=driver_map.description,
            request=request,
        )
        new_of: dict[int, Factor] = {}
        for factor in driver_map.factors.prefetch_related("excerpts"):
            new = Factor.objects.create(
                map=copy,
                kind=factor.kind,
                label=factor.label,
                code=factor.code,
                note=factor.note,
                x=factor.x,
                y=factor.y,
                indicator_keys=list(factor.indicator_keys),
            )
            new.excerpts.set([e for e in factor.excerpts.all() if e.pk in readable])
            new_of[factor.pk] = new
        for link in driver_map.links.prefetch_related("excerpts"):
            new_link = Link.objects.create(
                map=copy,
                source=new_of[link.source_id],
                target=new_of[link.target_id],
                kind=link.kind,
                strength=link.strength,
                note=link.note,
                indicator_keys=list(link.indicator_keys),
            )
            new_link.excerpts.set([e for e in link.excerpts.all() if e.pk in readable])
        audit_record(
            actor=acting_user,
            verb=Verb.CREATED,
            obj=copy,
            programme=programme,
            request=request,
            details={"copied_from": driver_map.pk, "factors": len(new_of)},
        )
    return copy


# ----------------------------------------------------------------------------------------
# Factors.


def factor_add(
    *,
    acting_user: User,
    driver_map: DriverMap,
    label: str,
    kind: str,
    code: Code | int | None = None,
    note: str = "",
    x: float = 0,
    y: float = 0,
    indicator_keys: Sequence[str] = (),
    excerpts: Iterable[Excerpt | int] = (),
    request: HttpRequest | None = None,
) -> Factor:
    require(acting_user, "map.edit", driver_map)
    factor = Factor(
        map=driver_map,
        label=_clean_label(driver_map, label),
        kind=_clean_factor_kind(kind),
        code=_clean_code(driver_map, code),
        note=_clean_text(note, name="note"),
        x=_clean_coordinate(x, name="x"),
        y=_clean_coordinate(y, name="y"),
        indicator_keys=_clean_indicator_keys(driver_map.programme, indicator_keys),
    )
    evidence = _clean_excerpts(acting_user, driver_map, excerpts)
    try:
        with transaction.atomic():
            factor.save()
            factor.excerpts.set(evidence)
            _touch(driver_map)
            audit_record(
                actor=acting_user,
                verb=Verb.CREATED,
                obj=factor,
                programme=driver_map.programme,
                request=request,
                details={"map": driver_map.pk},
            )
    except IntegrityError:  # the same label added at the same moment by someone else
        raise ValidationError(
            {"label": _("There is already a factor “{label}” on this map.").format(label=label)}
        ) from None
    return factor


def factor_update(
    *,
    acting_user: User,
    factor: Factor,
    request: HttpRequest | None = None,
    **values: Any,
) -> Factor:
    """Change a factor's label, kind, code, note, position (``x``, ``y``) or indicators."""
    driver_map = factor.map
    require(acting_user, "map.edit", driver_map)
    unknown = set(values) - set(FACTOR_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "label" in values:
        values["label"] = _clean_label(driver_map, values["label"], exclude=factor.pk)
    if "kind" in values:
        values["kind"] = _clean_factor_kind(values["kind"])
    if "code" in values:
        values["code"] = _clean_code(driver_map, values["code"])
    if "note" in values:
        values["note"] = _clean_text(values["note"], name="note")
    for axis in ("x", "y"):
        if axis in values:
            values[axis] = _clean_coordinate(values[axis], name=axis)
    if "indicator_keys" in values:
        values["indicator_keys"] = _clean_indicator_keys(
            driver_map.programme, values["indicator_keys"] or []
        )
    try:
        with transaction.atomic():
            changes = changed_fields(factor, values)
            if changes:
                factor.save(update_fields=sorted(changes))
                _touch(driver_map)
                audit_record(
                    actor=acting_user,
                    verb=Verb.UPDATED,
                    obj=factor,
                    programme=driver_map.programme,
                    request=request,
                    details={"map": driver_map.pk, "fields": sorted(changes)},
                )
    except IntegrityError:
        factor.refresh_from_db()
        raise ValidationError(
            {
                "label": _("There is already a factor “{label}” on this map.").format(
                    label=values.get("label", "")
                )
            }
        ) from None
    return factor


def factors_move(
    *,
    acting_user: User,
    driver_map: DriverMap,
    positions: Sequence[tuple[Any, Any, Any]],
    request: HttpRequest | None = None,
) -> list[Factor]:
    """Save where several factors were dragged to (or laid out) as one change:
    ``positions`` holds (factor id, x, y)."""
    require(acting_user, "map.edit", driver_map)
    wanted: dict[int, tuple[float, float]] = {}
    for pk, x, y in positions:
        factor = _factor_of_map(driver_map, pk, name="factor")
        wanted[factor.pk] = (_clean_coordinate(x, name="x"), _clean_coordinate(y, name="y"))
    factors = list(driver_map.factors.filter(pk__in=wanted))
    with transaction.atomic():
        for factor in factors:
            factor.x, factor.y = wanted[factor.pk]
        Factor.objects.bulk_update(factors, ["x", "y"])
        if factors:
            _touch(driver_map)
            audit_record(
                actor=acting_user,
                verb=Verb.UPDATED,
                obj=driver_map,
                programme=driver_map.programme,
                request=request,
                details={"moved": sorted(wanted)},
            )
    return factors


def factor_delete(*, acting_user: User, factor: Factor, request: HttpRequest | None = None) -> None:
    """Remove a factor and every link to or from it."""
    driver_map = factor.map
    require(acting_user, "map.edit", driver_map)
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            verb=Verb.DELETED,
            obj=factor,
            programme=driver_map.programme,
            request=request,
            details={
                "map": driver_map.pk,
                "links": list(
                    Link.objects.filter(Q(source=factor) | Q(target=factor)).values_list(
                        "pk", flat=True
                    )
                ),
            },
        )
        factor.delete()
        _touch(driver_map)


# ----------------------------------------------------------------------------------------
# Links.


def link_add(
    *,
    acting_user: User,
    driver_map: DriverMap,
    source: Factor | int | str,
    target: Factor | int | str,
    kind: str = Link.Kind.CAUSES,
    strength: int = 2,
    note: str = "",
    indicator_keys: Sequence[str] = (),
    excerpts: Iterable[Excerpt | int] = (),
    request: HttpRequest | None = None,
) -> LinkChange:
    """Link two factors of ``driver_map``. A factor of another map (or programme) and a link
    from a factor to itself are refused; a link that closes a loop is saved, and the loop is
    returned with it."""
    require(acting_user, "map.edit", driver_map)
    source_factor = _factor_of_map(driver_map, source, name="source")
    target_factor = _factor_of_map(driver_map, target, name="target")
    if source_factor.pk == target_factor.pk:
        raise ValidationError({"target": _("A factor cannot be linked to itself.")})
    if driver_map.links.filter(source=source_factor, target=target_factor).exists():
        raise ValidationError(
            {
                "target": _("“{source}” is already linked to “{target}”.").format(
                    source=source_factor.label, target=target_factor.label
                )
            }
        )
    link = Link(
        map=driver_map,
        source=source_factor,
        target=target_factor,
        kind=_clean_link_kind(kind),
        strength=_clean_strength(strength),
        note=_clean_text(note, name="note"),
        indicator_keys=_clean_indicator_keys(driver_map.programme, indicator_keys),
    )
    evidence = _clean_excerpts(acting_user, driver_map, excerpts)
    try:
        with transaction.atomic():
            link.save()
            link.excerpts.set(evidence)
            loop = loop_closed_by(link)
            _touch(driver_map)
            audit_record(
                actor=acting_user,
                verb=Verb.CREATED,
                obj=link,
                programme=driver_map.programme,
                request=request,
                details={"map": driver_map.pk, "loop": [f.pk for f in loop]},
            )
    except IntegrityError:  # the same pair linked at the same moment by someone else
        raise ValidationError(
            {
                "target": _("“{source}” is already linked to “{target}”.").format(
                    source=source_factor.label, target=target_factor.label
                )
            }
        ) from None
    return LinkChange(link=link, loop=loop)


def link_update(
    *, acting_user: User, link: Link, request: HttpRequest | None = None, **values: Any
) -> Link:
    driver_map = link.map
    require(acting_user, "map.edit", driver_map)
    unknown = set(values) - set(LINK_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "kind" in values:
        values["kind"] = _clean_link_kind(values["kind"])
    if "strength" in values:
        values["strength"] = _clean_strength(values["strength"])
    if "note" in values:
        values["note"] = _clean_text(values["note"], name="note")
    if "indicator_keys" in values:
        values["indicator_keys"] = _clean_indicator_keys(
            driver_map.programme, values["indicator_keys"] or []
        )
    with transaction.atomic():
        changes = changed_fields(link, values)
        if changes:
            link.save(update_fields=sorted(changes))
            _touch(driver_map)
            audit_record(
                actor=acting_user,
                verb=Verb.UPDATED,
                obj=link,
                programme=driver_map.programme,
                request=request,
                details={"map": driver_map.pk, "fields": sorted(changes)},
            )
    return link


def link_delete(*, acting_user: User, link: Link, request: HttpRequest | None = None) -> None:
    driver_map = link.map
    require(acting_user, "map.edit", driver_map)
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            verb=Verb.DELETED,
            obj=link,
            programme=driver_map.programme,
            request=request,
            details={"map": driver_map.pk},
        )
        link.delete()
        _touch(driver_map)


# ----------------------------------------------------------------------------------------
# Evidence.


def evidence_attach(
    *,
    acting_user: User,
    item: Factor | Link,
    excerpts: Iterable[Excerpt | int] = (),
    indicator_keys: Sequence[str] = (),
    request: HttpRequest | None = None,
) -> Factor | Link:
    """Add excerpts (which the user must be able to read, of the map's programme) and
    indicator keys (of the programme's indicator set) to a factor's or link's evidence."""
    driver_map = item.map
    require(acting_user, "map.edit", driver_map)
    evidence = _clean_excerpts(acting_user, driver_map, excerpts)
    keys = _clean_indicator_keys(driver_map.programme, indicator_keys)
    with transaction.atomic():
        item.excerpts.add(*evidence)
        added_keys = [key for key in keys if key not in item.indicator_keys]
        if added_keys:
            item.indicator_keys = [*item.indicator_keys, *added_keys]
            item.save(update_fields=["indicator_keys"])
        _touch(driver_map)
        audit_record(
            actor=acting_user,
            verb=Verb.UPDATED,
            obj=item,
            programme=driver_map.programme,
            request=request,
            details={
                "map": driver_map.pk,
                "evidence_added": [e.pk for e in evidence],
                "indicators_added": added_keys,
            },
        )
    return item


def evidence_detach(
    *,
    acting_user: User,
    item: Factor | Link,
    excerpts: Iterable[Excerpt | int] = (),
    indicator_keys: Sequence[str] = (),
    request: HttpRequest | None = None,
) -> Factor | Link:
    driver_map = item.map
    require(acting_user, "map.edit", driver_map)
    ids = {e.pk if isinstance(e, Excerpt) else _as_int(e) for e in excerpts} - {None}
    drop = {str(key) for key in indicator_keys}
    with transaction.atomic():
        if ids:
            item.excerpts.remove(*item.excerpts.filter(pk__in=ids))
        if drop & set(item.indicator_keys):
            item.indicator_keys = [k for k in item.indicator_keys if k not in drop]
            item.save(update_fields=["indicator_keys"])
        _touch(driver_map)
        audit_record(
            actor=acting_user,
            verb=Verb.UPDATED,
            obj=item,
            programme=driver_map.programme,
            request=request,
            details={
                "map": driver_map.pk,
                "evidence_removed": sorted(i for i in ids if i is not None),
                "indicators_removed": sorted(drop),
            },
        )
    return item


def evidence_visible(
    *, user: AnyUser, driver_map: DriverMap, among: Collection[int] | None = None
) -> QuerySet[Excerpt]:
    """The excerpts of this map's evidence that ``user`` may be shown: every one they can read
    if they may see the map's evidence; otherwise only publishable (redacted) quotes, and only
    on a published map. ``among``: excerpts of the map's evidence already known by id (as
    :func:`amniyat.drivers.maps.selectors.map_evidence_ids` reads them from the map's factors
    and links), when only those are wanted: then the query need not join the factors and
    links again."""
    if among is not None:
        on_map, distinct = Q(pk__in=among), False
    else:
        on_map, distinct = Q(factors__map=driver_map) | Q(links__map=driver_map), True
    if policies.can(user, "map.view_evidence", driver_map):
        shown = coding_selectors.excerpt_list(user=user, programme=driver_map.programme)
    elif driver_map.published_at is not None and policies.can(user, "map.view", driver_map):
        shown = coding_selectors.publishable_excerpts(programme=driver_map.programme)
    else:
        return Excerpt.objects.none()
    shown = shown.filter(on_map)
    return shown.distinct() if distinct else shown


# ----------------------------------------------------------------------------------------
# Suggestions from codes that appear together.


def _code_units(
    excerpts: list[tuple[int, int, int, int, int]],
    passages: dict[int, list[tuple[int, int]]],
) -> list[dict[int, list[int]]]:
    """The units two codes can appear together in: each passage of a source (the codes of the
    excerpts overlapping it), or for a source not split into passages, each pair of
    overlapping excerpts. A unit maps code id -> excerpt ids."""
    by_source: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for pk, source_id, code_id, start, end in excerpts:
        by_source[source_id].append((pk, code_id, start, end))
    units: list[dict[int, list[int]]] = []
    for source_id, coded in by_source.items():
        spans = passages.get(source_id)
        if spans:
            for p_start, p_end in spans:
                unit: dict[int, list[int]] = defaultdict(list)
                for pk, code_id, start, end in coded:
                    if start < p_end and end > p_start:
                        unit[code_id].append(pk)
                if len(unit) > 1:
                    units.append(unit)
        else:
            for (pk_a, code_a, start_a, end_a), (
                pk_b,
                code_b,
                start_b,
                end_b,
            ) in itertools.combinations(coded, 2):
                if code_a != code_b and start_a < end_b and start_b < end_a:
                    units.append({code_a: [pk_a], code_b: [pk_b]})
    return units


@dataclass(frozen=True)
class _CodesTogether:
    """How often the codes appear together in the evidence one scope of users reads, as it is
    kept between requests: ids and counts only. ``pairs``: (code a, code b) with a < b, the
    units they share and a few of the excerpts where they do, most frequent first; ``used``:
    each code's excerpts, most used first."""

    pairs: tuple[tuple[tuple[int, int], int, tuple[int, ...]], ...]
    used: tuple[tuple[int, int], ...]


def _codes_together(
    *, user: AnyUser, programme: Programme, codes: Collection[int], assessment_id: int | None
) -> _CodesTogether:
    readable = coding_selectors.excerpt_list(user=user, programme=programme).filter(
        code_id__in=list(codes)
    )
    passages = coding_selectors.passage_list(user=user, programme=programme)
    if assessment_id is not None:
        readable = readable.filter(source__assessment_id=assessment_id)
        passages = passages.filter(source__assessment_id=assessment_id)
    rows = list(readable.values_list("pk", "source_id", "code_id", "start", "end"))
    source_ids = {row[1] for row in rows}
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    # In each source's order (the model's ordering would join the sources to sort by them).
    for source_id, start, end in (
        passages.filter(source_id__in=source_ids)
        .order_by("source_id", "position")
        .values_list("source_id", "start", "end")
    ):
        spans[source_id].append((start, end))

    together: Counter[tuple[int, int]] = Counter()
    evidence: dict[tuple[int, int], list[int]] = defaultdict(list)
    for unit in _code_units(rows, spans):
        for a, b in itertools.combinations(sorted(unit), 2):
            together[(a, b)] += 1
            room = EVIDENCE_PER_SUGGESTION - len(evidence[(a, b)])
            if room > 0:
                found = [pk for pk in [*unit[a], *unit[b]] if pk not in evidence[(a, b)]]
                evidence[(a, b)].extend(found[:room])
    used = Counter(code_id for _pk, _source, code_id, _s, _e in rows)
    return _CodesTogether(
        pairs=tuple((pair, count, tuple(evidence[pair])) for pair, count in together.most_common()),
        used=tuple(used.most_common()),
    )


def map_suggest_from_codes(
    *, user: AnyUser, driver_map: DriverMap, min_together: int = 2
) -> MapSuggestions:
    """Factors (codes used in the evidence the user can read) and links (pairs of codes
    applied to the same passage, or to overlapping excerpts, at least ``min_together`` times)
    that are not on the map yet. Nothing is saved: a person adds the ones that fit.

    A map of one assessment is suggested from that assessment's sources only. The counts are
    made once per state of the programme's coding and scope of reader
    (``coding_selectors.coding_kept``); the map's own factors and links are read afresh."""
    programme = driver_map.programme
    revision = coding_selectors.coding_revision(programme)
    codes = {c.pk: c for c in codebook_selectors.code_list(user=user, programme=programme)}
    if not codes:
        return MapSuggestions(factors=[], links=[])

    def count() -> _CodesTogether:
        return _codes_together(
            user=user, programme=programme, codes=codes, assessment_id=driver_map.assessment_id
        )

    scope = coding_selectors.coding_scope(user, programme)
    counted = (
        count()
        if scope is None
        else coding_selectors.coding_kept(
            "codes-together",
            programme=programme,
            revision=revision,
            parts=(scope, driver_map.assessment_id or ""),
            compute=count,
        )
    )

    # (Unsorted: the map's factors and links are only looked up.)
    code_of_factor = dict(
        driver_map.factors.exclude(code=None).order_by().values_list("pk", "code_id")
    )
    on_map = set(code_of_factor.values())
    linked = {
        frozenset((code_of_factor.get(s), code_of_factor.get(t)))
        for s, t in driver_map.links.order_by().values_list("source_id", "target_id")
    }
    links: list[SuggestedLink] = []
    for (a, b), together, evidence in counted.pairs:
        if together < min_together or frozenset((a, b)) in linked:
            continue
        if a not in codes or b not in codes:
            continue
        first, second = codes[a], codes[b]
        known = first.kind != second.kind and Code.Kind.CONCERN in (first.kind, second.kind)
        if second.kind != Code.Kind.CONCERN and first.kind == Code.Kind.CONCERN:
            first, second = second, first
        links.append(
            SuggestedLink(
                source=first,
                target=second,
                together=together,
                excerpt_ids=list(evidence),
                direction_known=known,
            )
        )
        if len(links) >= SUGGESTIONS_MAX:
            break

    in_links = {c.pk for link in links for c in (link.source, link.target)}
    factors = [
        SuggestedFactor(
            code=codes[code_id], kind=FACTOR_KIND_OF_CODE[codes[code_id].kind], excerpts=used
        )
        for code_id, used in counted.used
        if code_id in codes
        and code_id not in on_map
        and (used >= min_together or code_id in in_links)
    ][:SUGGESTIONS_MAX]
    return MapSuggestions(factors=factors, links=links)


def _factor_for_code(
    acting_user: User, driver_map: DriverMap, code: Code, request: HttpRequest | None
) -> Factor:
    """The map's factor for ``code``, added (with a few of the code's excerpts as evidence)
    when the map has none."""
    existing = driver_map.factors.filter(code=code).first()
    if existing is not None:
        return existing
    label = code.name or code.key
    if driver_map.factors.filter(label__iexact=label).exists():
        label = f"{label} ({code.key})"
    count = driver_map.factors.count()
    excerpt_ids = list(
        coding_selectors.excerpt_list(user=acting_user, programme=driver_map.programme)
        .filter(code=code)
        .values_list("pk", flat=True)[:5]
    )
    known = indicator_keys_of(driver_map.programme)
    return factor_add(
        acting_user=acting_user,
        driver_map=driver_map,
        label=label,
        kind=FACTOR_KIND_OF_CODE[code.kind],
        code=code,
        x=60 + 170 * (count % 5),
        y=60 + 130 * (count // 5),
        indicator_keys=[k for k in code.indicator_keys if k in known],
        excerpts=excerpt_ids,
        request=request,
    )


def suggestion_add(
    *,
    acting_user: User,
    driver_map: DriverMap,
    code: Code,
    target: Code | None = None,
    excerpts: Iterable[int] = (),
    request: HttpRequest | None = None,
) -> Factor | LinkChange:
    """Add what a person chose from the suggestions: the factor for ``code``, or (with
    ``target``) a link from ``code``'s factor to ``target``'s, adding either factor if the map
    lacks it; ``excerpts`` (where the two codes appear together) become the link's evidence."""
    require(acting_user, "map.edit", driver_map)
    for which in (code, target):
        if which is not None and which.programme_id != driver_map.programme_id:
            raise ValidationError({"code": _("This code is not in the programme's codebook.")})
    with transaction.atomic():
        source_factor = _factor_for_code(acting_user, driver_map, code, request)
        if target is None:
            return source_factor
        target_factor = _factor_for_code(acting_user, driver_map, target, request)
        return link_add(
            acting_user=acting_user,
            driver_map=driver_map,
            source=source_factor,
            target=target_factor,
            kind=Link.Kind.CAUSES,
            strength=2,
            excerpts=list(excerpts),
            request=request,
        )

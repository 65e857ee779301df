"""REST endpoints of action plans, their actions and the consultations register, read only,
on the same selectors and policy as the pages: a plan with its endorsements, its objectives
and the tree of its actions with their rolled-up progress; actions across plans (by plan,
status, overdue); consultations with who came, the issues raised and the commitments made.

Writing (plans, endorsements, actions, consultations) stays on the pages for now, as it does
for reports."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.routers import BaseRouter

from amniyat.accounts import policies
from amniyat.api.mixins import narrowed_by_id, programme_from
from amniyat.api.pagination import ordered_by
from amniyat.core.serializers import TranslationsField
from amniyat.drivers.models import Priority
from amniyat.plans import consultation_selectors, consultations, selectors, services
from amniyat.plans.models import Action, ActionPlan, Commitment, Consultation, Side, Signatory

OPEN = Q(status__in=[Action.Status.NOT_STARTED, Action.Status.ON_TRACK, Action.Status.DELAYED])


class SignatorySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An endorsement: who endorsed (an office or service, by name) and the endorsing
    person's role, never their name."""

    class Meta:
        model = Signatory
        fields = ["id", "kind", "name", "role", "endorsed_on"]
        read_only_fields = fields


class ActionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    plan = serializers.IntegerField(source="objective.plan_id", read_only=True)
    cost_amount = serializers.SerializerMethodField()
    cost_currency = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    translations = TranslationsField()

    class Meta:
        model = Action
        fields = [
            "id",
            "plan",
            "objective",
            "parent",
            "title",
            "lead_actor",
            "lead_side",
            "supporting_actors",
            "start_on",
            "due_on",
            "cost_amount",
            "cost_currency",
            "funding",
            "expected_result",
            "beneficiaries",
            "status",
            "status_reason",
            "progress",
            "weight",
            "overdue",
            "content_language",
            "translations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"progress": {"help_text": "The progress reported for it (0-100)."}}

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_cost_amount(self, action: Action) -> str | None:
        return None if action.cost is None else f"{action.cost.amount:.2f}"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cost_currency(self, action: Action) -> str | None:
        """ISO 4217: TJS, UZS or USD."""
        return None if action.cost is None else str(action.cost.currency)

    def get_overdue(self, action: Action) -> bool:
        """Past its due date, and neither done nor dropped."""
        return action.due_on < timezone.localdate() and action.status not in (
            Action.Status.DONE,
            Action.Status.DROPPED,
        )


class TreeActionSerializer(ActionSerializer):
    """An action as the plan's tree holds it: its depth, and its progress rolled up from its
    parts."""

    depth = serializers.IntegerField(read_only=True)
    rolled_up_progress = serializers.FloatField(
        read_only=True,
        help_text="A leaf's reported progress; a parent's, the weighted mean of its parts' "
        "(dropped parts not counted).",
    )
    factors: Any = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="The factors it addresses that you may read."
    )
    priorities: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta(ActionSerializer.Meta):
        fields = [
            *ActionSerializer.Meta.fields,
            "depth",
            "rolled_up_progress",
            "factors",
            "priorities",
        ]
        read_only_fields = fields


class ObjectiveSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    title = serializers.CharField()
    translations = TranslationsField()
    priority = serializers.IntegerField(source="priority_id", allow_null=True)
    factors = serializers.SerializerMethodField()
    progress = serializers.FloatField(
        source="rolled",
        allow_null=True,
        help_text="The weighted mean of its top-level actions; null with none.",
    )
    actions = TreeActionSerializer(
        source="rows",
        many=True,
        help_text="Its actions in tree order (each parent before its parts, ``parent`` and "
        "``depth`` giving the tree).",
    )

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_factors(self, objective: Any) -> list[int]:
        """Its factors that you may read."""
        return [factor.pk for factor in objective.factors.all()]


class PlanSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    programme: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    translations = TranslationsField()

    class Meta:
        model = ActionPlan
        fields = [
            "id",
            "programme",
            "group",
            "place",
            "priority_list",
            "title",
            "period_start",
            "period_end",
            "status",
            "closed_reason",
            "is_demo",
            "content_language",
            "translations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PlanDetailSerializer(PlanSerializer):
    signatories = serializers.SerializerMethodField()
    objectives = serializers.SerializerMethodField()

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "signatories", "objectives"]
        read_only_fields = fields

    @extend_schema_field(SignatorySerializer(many=True))
    def get_signatories(self, plan: ActionPlan) -> Any:
        return SignatorySerializer(selectors.signatories_of(plan), many=True).data

    @extend_schema_field(ObjectiveSerializer(many=True))
    def get_objectives(self, plan: ActionPlan) -> Any:
        user = self.context["request"].user
        objectives = selectors.objectives_of(plan, user=user)
        actions = selectors.actions_of(plan, user=user)
        rolled = services.progress_of(actions)
        by_objective = services.objective_progress(actions, rolled)
        children: dict[int | None, list[Action]] = {}
        for action in actions:
            children.setdefault(action.parent_id, []).append(action)
        rows: dict[int, list[Action]] = {}

        def visit(action: Action, depth: int) -> None:
            action.depth = depth  # type: ignore[attr-defined]
            action.rolled_up_progress = rolled[action.pk]  # type: ignore[attr-defined]
            rows.setdefault(action.objective_id, []).append(action)
            for part in children.get(action.pk, []):
                visit(part, depth + 1)

        for action in children.get(None, []):
            visit(action, 0)
        for objective in objectives:
            objective.rows = rows.get(objective.pk, [])  # type: ignore[attr-defined]
            objective.rolled = by_objective.get(objective.pk)  # type: ignore[attr-defined]
        return ObjectiveSerializer(objectives, many=True).data


PROGRAMME = OpenApiParameter("programme", str, description="Only this programme's (slug or id).")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            PROGRAMME,
            OpenApiParameter("group", int, description="Only this community group's."),
            OpenApiParameter("status", str, enum=ActionPlan.Status.values),
        ]
    )
)
class PlanViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Action plans the caller may read: a group's plans by whoever sees the group, a place's
    by the programme's leads and analysts. One plan comes with its endorsements, objectives
    and the tree of its actions with their rolled-up progress."""

    pagination_class = ordered_by("-id")

    def get_serializer_class(self) -> type[serializers.Serializer]:  # type: ignore[type-arg]
        return PlanDetailSerializer if self.action == "retrieve" else PlanSerializer

    def get_queryset(self) -> QuerySet[ActionPlan]:
        queryset = selectors.plans_visible(user=self.request.user).select_related("programme")
        programme = self.request.query_params.get("programme")
        if programme:
            queryset = queryset.filter(programme=programme_from(self.request, programme))
        queryset = narrowed_by_id(queryset, self.request, "group", "group_id")
        status = self.request.query_params.get("status")
        if status in ActionPlan.Status.values:  # any other value narrows nothing
            queryset = queryset.filter(status=status)
        return queryset


@extend_schema_view(
    list=extend_schema(
        parameters=[
            PROGRAMME,
            OpenApiParameter("plan", int, description="Only this plan's actions."),
            OpenApiParameter("status", str, enum=Action.Status.values),
            OpenApiParameter(
                "overdue",
                bool,
                description="true: only those past their due date, neither done nor dropped; "
                "false: only the others.",
            ),
        ]
    )
)
class ActionViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Actions of the plans the caller may read, by id. Filter with ``?plan=ID``,
    ``?status=delayed``, ``?overdue=true``."""

    serializer_class = ActionSerializer
    pagination_class = ordered_by("id")

    def get_queryset(self) -> QuerySet[Action]:
        queryset = Action.objects.filter(
            policies.plan_scope(self.request.user, "objective__plan__")
        ).select_related("objective")
        programme = self.request.query_params.get("programme")
        if programme:
            queryset = queryset.filter(
                objective__plan__programme=programme_from(self.request, programme)
            )
        queryset = narrowed_by_id(queryset, self.request, "plan", "objective__plan_id")
        status = self.request.query_params.get("status")
        if status in Action.Status.values:
            queryset = queryset.filter(status=status)
        overdue = self.request.query_params.get("overdue", "").lower()
        late = OPEN & Q(due_on__lt=timezone.localdate())
        if overdue in ("true", "1"):
            queryset = queryset.filter(late)
        elif overdue in ("false", "0"):
            queryset = queryset.exclude(late)
        return queryset


class CommitmentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Commitment
        fields = ["id", "what", "made_by", "side", "due_on", "action"]
        read_only_fields = fields
        extra_kwargs = {"action": {"help_text": "The action of a plan it became, if it did."}}


class AttendeeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    organisation = serializers.CharField()
    role = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices)


class ConsultationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    programme: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    attendees = AttendeeSerializer(many=True, read_only=True)
    translations = TranslationsField()

    class Meta:
        model = Consultation
        fields = [
            "id",
            "programme",
            "group",
            "place",
            "held_on",
            "level",
            "title",
            "summary",
            "community_women",
            "community_men",
            "authority_women",
            "authority_men",
            "attendees",
            "reflected",
            "is_demo",
            "content_language",
            "translations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ConsultationDetailSerializer(ConsultationSerializer):
    factors = serializers.SerializerMethodField()
    priorities = serializers.SerializerMethodField()
    commitments = serializers.SerializerMethodField()
    issues_note = serializers.SerializerMethodField()
    reflected_note = serializers.SerializerMethodField()

    class Meta(ConsultationSerializer.Meta):
        fields = [
            *ConsultationSerializer.Meta.fields,
            "factors",
            "priorities",
            "issues_note",
            "reflected_note",
            "commitments",
        ]
        read_only_fields = fields

    def _issues(self, consultation: Consultation) -> tuple[list[Any], list[Priority]]:
        if not hasattr(consultation, "_issues"):
            consultation._issues = consultation_selectors.issues_of(  # type: ignore[attr-defined]
                consultation, user=self.context["request"].user
            )
        return consultation._issues  # type: ignore[attr-defined,no-any-return]

    def _notes(self, consultation: Consultation) -> dict[str, str] | None:
        if not hasattr(consultation, "_notes"):
            request = self.context["request"]
            consultation._notes = consultations.consultation_notes_read(  # type: ignore[attr-defined]
                user=request.user, consultation=consultation, request=request._request
            )
        return consultation._notes  # type: ignore[attr-defined,no-any-return]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_factors(self, consultation: Consultation) -> list[int]:
        """The driver-map factors raised that you may read."""
        return [factor.pk for factor in self._issues(consultation)[0]]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_priorities(self, consultation: Consultation) -> list[int]:
        """The group's agreed priorities raised."""
        return [priority.pk for priority in self._issues(consultation)[1]]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_issues_note(self, consultation: Consultation) -> str | None:
        """The issues raised, in words (kept encrypted): for the programme's leads and
        analysts and whoever may write the consultation, null for everyone else; reading it
        is recorded in the audit log."""
        notes = self._notes(consultation)
        return None if notes is None else notes["issues"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reflected_note(self, consultation: Consultation) -> str | None:
        """How the community's concerns were reflected, or not; as ``issues_note``."""
        notes = self._notes(consultation)
        return None if notes is None else notes["reflected"]

    @extend_schema_field(CommitmentSerializer(many=True))
    def get_commitments(self, consultation: Consultation) -> Any:
        return CommitmentSerializer(
            consultation.commitments.order_by("position", "pk"), many=True
        ).data


@extend_schema_view(
    list=extend_schema(
        parameters=[
            PROGRAMME,
            OpenApiParameter("group", int, description="Only this community group's."),
            OpenApiParameter("level", str, enum=Consultation.Level.values),
            OpenApiParameter("from", str, description="Held on or after this date (YYYY-MM-DD)."),
            OpenApiParameter("to", str, description="Held on or before this date (YYYY-MM-DD)."),
        ]
    )
)
class ConsultationViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Consultations the caller may read, newest recorded first: a group's by whoever sees
    the group, a place's or the programme's own by its leads and analysts. One comes with
    the issues raised and the commitments made."""

    pagination_class = ordered_by("-id")

    def get_serializer_class(self) -> type[serializers.Serializer]:  # type: ignore[type-arg]
        return ConsultationDetailSerializer if self.action == "retrieve" else ConsultationSerializer

    def get_queryset(self) -> QuerySet[Consultation]:
        queryset = consultation_selectors.consultations_visible(user=self.request.user)
        queryset = queryset.select_related("programme")
        if self.action == "list":
            queryset = queryset.defer("issues_note", "reflected_note")
        params = self.request.query_params
        programme = params.get("programme")
        if programme:
            queryset = queryset.filter(programme=programme_from(self.request, programme))
        queryset = narrowed_by_id(queryset, self.request, "group", "group_id")
        if params.get("level") in Consultation.Level.values:
            queryset = queryset.filter(level=params["level"])
        for param, lookup in (("from", "held_on__gte"), ("to", "held_on__lte")):
            day = _day(params.get(param, ""))
            if day is not None:
                queryset = queryset.filter(**{lookup: day})
        return queryset


def _day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def register(router: BaseRouter) -> None:
    """Add this part's viewsets to the API router."""
    router.register("plans", PlanViewSet, basename="plan")
    router.register("actions", ActionViewSet, basename="action")
    router.register("consultations", ConsultationViewSet, basename="consultation")

"""REST endpoints for community groups and their members, on the same services, selectors
and policy as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from amniyat.accounts import policies
from amniyat.accounts.models import Organisation
from amniyat.api.mixins import narrowed_by_id, programme_from
from amniyat.api.pagination import ordered_by
from amniyat.communities import selectors, services
from amniyat.communities.models import CommunityGroup, GroupMember, Sector
from amniyat.core.serializers import TranslationsField
from amniyat.places.models import Place


class CommunityGroupSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    programme: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    place = serializers.PrimaryKeyRelatedField(queryset=Place.objects.all())
    facilitating_organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all()
    )
    active_members = serializers.IntegerField(read_only=True)
    translations = TranslationsField()

    class Meta:
        model = CommunityGroup
        fields = [
            "id",
            "programme",
            "name",
            "kind",
            "place",
            "facilitating_organisation",
            "is_new",
            "established_on",
            "closed_on",
            "description",
            "active_members",
            "content_language",
            "translations",
        ]
        read_only_fields = ["content_language"]
        validators: list[Any] = []  # uniqueness is the service's to check


class CommunityGroupCreateSerializer(CommunityGroupSerializer):
    programme = serializers.CharField(write_only=True, help_text="Programme slug or id.")


class CommunityGroupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Community groups the caller may see. Filter with ``?programme=SLUG``."""

    pagination_class = ordered_by("id")

    def get_serializer_class(self) -> type[serializers.Serializer]:  # type: ignore[type-arg]
        return (
            CommunityGroupCreateSerializer if self.action == "create" else CommunityGroupSerializer
        )

    def get_queryset(self) -> QuerySet[CommunityGroup]:
        # A list counts the members of its page's groups only (list below).
        if self.action == "list":
            queryset = selectors.groups_to_count(user=self.request.user)
        else:
            queryset = selectors.groups_visible(user=self.request.user)
        programme = self.request.query_params.get("programme")
        if programme:
            queryset = queryset.filter(programme=programme_from(self.request, programme))
        return queryset

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        groups = selectors.count_active_members(list(page if page is not None else queryset))
        data = self.get_serializer(groups, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        programme = programme_from(request, data.pop("programme"))
        group = services.group_create(acting_user=request.user, programme=programme, **data)  # type: ignore[arg-type]
        group = selectors.group_get_counted(user=request.user, programme=programme, pk=group.pk)
        return Response(CommunityGroupSerializer(group).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        group = self.get_object()
        if not policies.can(request.user, "group.edit", group):
            raise Http404
        serializer = self.get_serializer(
            group, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        services.group_update(acting_user=request.user, group=group, **serializer.validated_data)  # type: ignore[arg-type]
        group = selectors.group_get_counted(
            user=request.user, programme=group.programme, pk=group.pk
        )
        return Response(CommunityGroupSerializer(group).data)


class GroupMemberSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    group = serializers.PrimaryKeyRelatedField(queryset=CommunityGroup.objects.all())
    code = serializers.CharField(read_only=True)
    display_name = serializers.SerializerMethodField()
    sectors = serializers.ListField(
        child=serializers.ChoiceField(choices=Sector.choices), required=False
    )

    class Meta:
        model = GroupMember
        fields = [
            "id",
            "code",
            "group",
            "display_name",
            "sex",
            "age_band",
            "sectors",
            "joined_on",
            "left_on",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_display_name(self, member: GroupMember) -> str | None:
        """Shown only to those the programme allows to see names; null otherwise."""
        named = self.context.get("named")  # a list's members the caller may see named
        if named is not None:
            return str(member.display_name) if member.pk in named else None
        if policies.can(self.context["request"].user, "member.view_personal", member):
            return str(member.display_name)
        return None


class GroupMemberWriteSerializer(GroupMemberSerializer):
    display_name = serializers.CharField(max_length=120, required=False, allow_blank=True)  # type: ignore[assignment]


class GroupMemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Members of the groups the caller may see. Filter with ``?group=ID``. Names are shown,
    and their viewing audited, only where the caller may see personal data."""

    pagination_class = ordered_by("id")

    def get_serializer_class(self) -> type[serializers.Serializer]:  # type: ignore[type-arg]
        if self.action in ("create", "update", "partial_update"):
            return GroupMemberWriteSerializer
        return GroupMemberSerializer

    def get_queryset(self) -> QuerySet[GroupMember]:
        queryset = selectors.members_visible(user=self.request.user)
        return narrowed_by_id(queryset, self.request, "group", "group_id")

    def _audit(self, members: list[GroupMember]) -> None:
        shown = [
            m
            for m in members
            if m.display_name and policies.can(self.request.user, "member.view_personal", m)
        ]
        services.personal_data_viewed(
            user=self.request.user,  # type: ignore[arg-type]
            members=shown,
            request=self.request._request,
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Names are stored encrypted and decrypted as a row loads: a page reads them in one
        # query for the members whose names the caller may see, and never the others'.
        queryset = self.filter_queryset(self.get_queryset()).defer("display_name")
        queryset = queryset.select_related("group__programme")  # for the audit of names shown
        page = self.paginate_queryset(queryset)
        members = list(page) if page is not None else list(queryset)
        named = [m.pk for m in members if policies.can(request.user, "member.view_personal", m)]
        # By primary key alone: the page's members are the caller's to see (the queryset's
        # scope), and scoping this query again lets SQLite read every member of the
        # programme's groups to find a hundred of them.
        names = dict(
            GroupMember.objects.filter(pk__in=named).values_list("pk", "display_name")
            if named
            else []
        )
        for member in members:
            if member.pk in names:
                member.display_name = names[member.pk]
        self._audit([m for m in members if m.pk in names])
        context = {**self.get_serializer_context(), "named": set(names)}
        data = self.get_serializer_class()(members, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        member = self.get_object()
        self._audit([member])
        return Response(GroupMemberSerializer(member, context=self.get_serializer_context()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        group = data.pop("group")
        visible = selectors.groups_visible(user=request.user).filter(pk=group.pk).first()
        if visible is None or not policies.can(request.user, "member.create", visible):
            raise Http404
        member = services.member_add(acting_user=request.user, group=visible, **data)  # type: ignore[arg-type]
        return Response(
            GroupMemberSerializer(member, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        member = self.get_object()
        if not policies.can(request.user, "member.edit", member):
            raise Http404
        serializer = self.get_serializer(
            member, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("group", member.group) != member.group:
            raise serializers.ValidationError({"group": "A member cannot move between groups."})
        services.member_update(acting_user=request.user, member=member, **data)  # type: ignore[arg-type]
        return Response(GroupMemberSerializer(member, context=self.get_serializer_context()).data)

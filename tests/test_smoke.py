import pytest
from django.test import Client

from amniyat.accounts.models import Membership
from tests.factories import CommunityGroupFactory, member_of


@pytest.mark.django_db
def test_lead_sees_group_page() -> None:
    group = CommunityGroupFactory()
    lead = member_of(group.programme, Membership.Role.LEAD)
    client = Client()
    client.force_login(lead)
    response = client.get(f"/p/{group.programme.slug}/groups/{group.pk}/")
    assert response.status_code == 200
    assert group.name in response.content.decode()

"""Campaigns and verifications in the admin: read-only for every role (evidence), scoped like the asset admin."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.world import ROLES, admin_urls, client_for, hostile
from verification.models import Campaign, Verification


def snapshot() -> dict:
    return {m._meta.label: list(m._default_manager.order_by("pk").values())
            for m in apps.get_app_config("verification").get_models()}


MODELS = (Campaign, Verification)


@pytest.mark.parametrize("role", ROLES)
def test_every_verification_admin_page_as_every_role(verified_world, role):
    user = verified_world.users[role]
    client = client_for(user)
    hidden = verified_world.hidden_names(role) if user.is_authenticated else {a.name for a in verified_world.assets.values()}
    hidden_codes = {a.code for a in verified_world.assets.values() if a.name in hidden}
    before = snapshot()
    for model in MODELS:
        model_admin = admin.site._registry[model]
        pages = list(admin_urls(model_admin).values())
        for obj in model._default_manager.order_by("pk"):
            pages += admin_urls(model_admin, obj).values()
        pages += [reverse("admin:verification_verification_changelist") + "?flag=too_far",
                  reverse("admin:verification_verification_changelist") + "?review__exact=pending"]
        for url in pages:
            response = client.get(url)
            assert response.status_code < 500, (url, response.status_code)
            body = response.content.decode(errors="replace")
            leaked = [text for text in (*hidden, *hidden_codes) if text in body]
            assert not leaked, (url, leaked)
        for obj in model._default_manager.order_by("pk"):
            for url in admin_urls(model_admin, obj).values():
                assert client.post(url, hostile(obj)).status_code < 500, url
        assert client.post(admin_urls(model_admin)["add"], {"name": "越权新增", "year": 2026}).status_code < 500
    assert snapshot() == before


def test_changelists_are_scoped_and_read_only(verified_world):
    west = client_for(verified_world.users["township"])
    page = west.get(reverse("admin:verification_verification_changelist"))
    assert page.status_code == 200
    assert verified_world.assets["west_road"].code in page.text and verified_world.assets["east_road"].code not in page.text
    flagged = west.get(reverse("admin:verification_verification_changelist") + "?flag=too_far")
    assert "核查位置距资产过远" in flagged.text
    record = Verification.objects.get(asset=verified_world.assets["west_road"])
    change = west.get(reverse("admin:verification_verification_change", args=[record.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.text
    assert f"/field/photos/{record.photos.get().pk}/thumb.jpg" in change.text
    other = Verification.objects.get(asset=verified_world.assets["east_road"])
    assert west.get(reverse("admin:verification_verification_change", args=[other.pk])).status_code in (302, 404)
    assert client_for(verified_world.users["county_admin"]).get(reverse("admin:verification_campaign_add")).status_code == 403
    assert Client().get(reverse("admin:verification_campaign_changelist")).status_code == 302

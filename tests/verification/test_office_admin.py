"""Campaigns and verifications in the admin: read-only for every role (evidence), scoped like the asset admin."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.verification.factories import photo
from tests.world import ROLES, admin_urls, build_world, client_for, hostile
from verification import services
from verification.models import Campaign, Verification


@pytest.fixture
def world(db):
    world = build_world()
    admin_user = world.users["county_admin"]
    campaign = services.campaign_create(actor=admin_user, name="2026年度清查", kind="annual", year=2026)
    from django.utils import timezone

    for key, seed in (("west_road", 1), ("east_road", 2), ("east_clinic", 3)):
        asset = world.assets[key]
        here = asset.location
        services.verification_record(
            actor=admin_user, asset_code=asset.code, finding="intact", lon=here.x, lat=here.y + 0.01, accuracy_m=5,
            observed_at=timezone.now(), photos=[("a.jpg", photo(seed))], campaign=campaign)  # too far: flagged
    return world


def snapshot() -> dict:
    return {m._meta.label: list(m._default_manager.order_by("pk").values())
            for m in apps.get_app_config("verification").get_models()}


MODELS = (Campaign, Verification)


@pytest.mark.parametrize("role", ROLES)
def test_every_verification_admin_page_as_every_role(world, role):
    user = world.users[role]
    client = client_for(user)
    hidden = world.hidden_names(role) if user.is_authenticated else {a.name for a in world.assets.values()}
    hidden_codes = {a.code for a in world.assets.values() if a.name in hidden}
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


def test_changelists_are_scoped_and_read_only(world):
    west = client_for(world.users["township"])
    page = west.get(reverse("admin:verification_verification_changelist"))
    assert page.status_code == 200
    assert world.assets["west_road"].code in page.text and world.assets["east_road"].code not in page.text
    flagged = west.get(reverse("admin:verification_verification_changelist") + "?flag=too_far")
    assert "核查位置距资产过远" in flagged.text
    record = Verification.objects.get(asset=world.assets["west_road"])
    change = west.get(reverse("admin:verification_verification_change", args=[record.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.text
    assert f"/field/photos/{record.photos.get().pk}/thumb.jpg" in change.text
    other = Verification.objects.get(asset=world.assets["east_road"])
    assert west.get(reverse("admin:verification_verification_change", args=[other.pk])).status_code in (302, 404)
    assert client_for(world.users["county_admin"]).get(reverse("admin:verification_campaign_add")).status_code == 403
    assert Client().get(reverse("admin:verification_campaign_changelist")).status_code == 302

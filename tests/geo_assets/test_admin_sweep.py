"""Every admin URL of every registered model, GET and POST, as every role: nothing answers 5xx, nothing is saved
that the role may not change, and no page shows records outside the role's scope or personal data to the public."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from geo_assets.models import Asset
from geo_assets.taxonomy import AssetType
from projects import rules
from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset
from tests.world import PERSONAL_MARKERS, ROLES, admin_urls, client_for, hostile, table_digests

COUNTY_WIDE = {"county_admin", "superuser"}
REGISTER_MODELS = {"adminarea", "department", "membership"}
OBJECTS_PER_MODEL = 3


def snapshot() -> dict:
    """Every row of the register, its history and the accounts: what a request must not change."""
    models = [*apps.get_app_config("geo_assets").get_models(), get_user_model(),
              *apps.get_app_config("importers").get_models(), *apps.get_app_config("authtoken").get_models(),
              *apps.get_app_config("projects").get_models()]
    return table_digests(models)


def may_change(world, role: str, obj) -> bool:
    user = world.users[role]
    if role == "superuser":
        return True
    if isinstance(obj, Asset):
        return Asset.objects.editable_by(user).filter(pk=obj.pk).exists()
    if isinstance(obj, Project):
        return rules.may_edit_project(user, obj) is None
    if isinstance(obj, FundLine):
        return rules.may_edit_funds(user, obj.project) is None
    if isinstance(obj, ProjectAsset):
        editable = Asset.objects.editable_by(user).filter(pk=obj.asset_id).exists()
        return rules.may_link(user, obj.project, obj.asset, asset_editable=editable) is None
    if isinstance(obj, LedgerPolicy):
        return role in COUNTY_WIDE
    return role in COUNTY_WIDE and obj._meta.model_name in REGISTER_MODELS


def sample(model_admin):
    qs = model_admin.model._default_manager.order_by("pk")
    return list(qs) if model_admin.model is Asset else list(qs[:OBJECTS_PER_MODEL])


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_as_every_role(world, role):
    user = world.users[role]
    client = client_for(user)
    hidden = world.hidden_names(role) if user.is_authenticated else {a.name for a in world.assets.values()}
    private = () if role not in ("staff_without_role", "anonymous") else PERSONAL_MARKERS
    checked = 0

    def get(url):
        nonlocal checked
        response = client.get(url)
        checked += 1
        assert response.status_code < 500, (url, response.status_code)
        body = response.content.decode(errors="replace")
        leaked = [name for name in (*hidden, *private) if name in body]
        assert not leaked, (url, leaked)
        return response

    get(reverse("admin:index"))
    for model, model_admin in admin.site._registry.items():
        for url in admin_urls(model_admin).values():
            get(url)
            get(url + "?_popup=1&_to_field=id")
        for obj in sample(model_admin):
            for url in admin_urls(model_admin, obj).values():
                get(url)
        opts = model._meta
        for fk in [f for f in opts.fields if f.is_relation]:
            get(f"/admin/autocomplete/?app_label={opts.app_label}&model_name={opts.model_name}"
                f"&field_name={fk.name}&term=")
    assert checked > 50


@pytest.mark.parametrize("role", ROLES)
def test_no_admin_post_saves_what_the_role_may_not_change(world, role):
    user = world.users[role]
    client = client_for(user)
    for model_admin in admin.site._registry.values():
        for obj in sample(model_admin):
            urls = admin_urls(model_admin, obj)
            data = hostile(obj)
            # a history version page never saves, for anybody
            if "version" in urls:
                before = snapshot()
                response = client.post(urls["version"], data)
                redirect = response.headers.get("Location", "")
                assert response.status_code in (403, 404, 405) or redirect.startswith("/admin/login/"), \
                    (urls["version"], response)
                assert snapshot() == before, urls["version"]
                assert client.post(urls["version"], {}).status_code < 500  # an empty post
            for name in ("change", "delete"):
                if name not in urls:
                    continue
                before = snapshot()
                response = client.post(urls[name], data)
                assert response.status_code < 500, (urls[name], response.status_code)
                if name == "delete" or not may_change(world, role, obj):
                    assert snapshot() == before, (role, urls[name])
        add = admin_urls(model_admin).get("add")
        if add and not (role == "superuser" or (role in COUNTY_WIDE and model_admin.model._meta.model_name
                                                in REGISTER_MODELS)):
            before = snapshot()
            response = client.post(add, {"name": "越权新增", "code": "410324109999", "username": "intruder",
                                         "asset_types": list(AssetType.values), "role": "county_admin"})
            assert response.status_code < 500, (add, response.status_code)
            if model_admin.model is not Asset:
                assert snapshot() == before, (role, add)


def test_department_cannot_widen_its_own_types_through_history(world):
    """The finding: POST to the department's history version page changed its asset types."""
    department = world.departments["transport"]
    version = department.history.order_by("history_id").first()
    client = client_for(world.users["department"])
    url = reverse("admin:geo_assets_department_simple_history", args=[department.pk, version.history_id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": department.name, "asset_types": ["road", "water_supply"]})
    assert response.status_code == 405
    department.refresh_from_db()
    assert department.asset_types == [AssetType.ROAD]


def test_disposal_pages_list_no_asset_outside_scope(world):
    """The finding: the disposal history form offered every asset (with beneficiaries' names) in a drop-down."""
    disposal = world.assets["east_disposed"].disposal
    client = client_for(world.users["county_admin"])
    version = disposal.history.order_by("history_id").first()
    page = client.get(reverse("admin:geo_assets_disposal_simple_history", args=[disposal.pk, version.history_id]))
    assert page.status_code == 200
    assert "<select" not in page.text.split('id="content-main"')[-1]  # read-only: no drop-down of assets
    assert world.assets["west_household"].name not in page.text

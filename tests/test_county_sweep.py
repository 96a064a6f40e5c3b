"""Issue 19: nothing of county B reaches county A's users by any route. Every URL pattern of the project, filled
with county B's identifiers (its unpublished asset, its village and township, its project, campaign, membership and
their admin pages) and with A's own, is requested by each of county A's roles, GET and POST: no response carries
what only B's staff may see, and no POST changes a row of B."""

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.test import Client

from geo_assets.models import AdminArea, Asset, Membership
from projects.models import FundLine, Project
from tests.routes import fill, routes
from tests.world import table_digests
from verification.models import Campaign, CampaignItem

A_ROLES = ("admin_a", "inspector_a", "finance_a", "roads_a", "township_a", "village_a")
# what only county B's staff (and those above it) may see: an unpublished asset, a custodian's full name and phone,
# a project with its fund line, a campaign, B's accounts
SECRETS = ("乙村卫生室", "乙保管员", "13900000002", "乙县项目", "乙财预", "乙县年度清查", "admin_b")
B_MODELS = (Asset, AdminArea, Project, FundLine, Campaign, CampaignItem, Membership)
SKIP = ("admin/logout/", "account/role/", "i18n/setlang/", "static/", "media/", "jsi18n/")


def b_values(w):
    """Each route argument as county B's: its unpublished asset, village, township, project, campaign…"""
    clinic = w.assets["clinic_b"]
    membership = w.users["admin_b"].memberships.get()
    objects = {"admin/geo_assets/asset/": clinic, "admin/geo_assets/adminarea/": w.p.village_b,
               "admin/geo_assets/membership/": membership, "admin/projects/project/": w.b_project,
               "admin/projects/fundline/": w.b_project.funds.first(), "admin/verification/campaign/": w.campaign,
               "admin/auth/user/": w.users["admin_b"]}

    def value(name, converter, route):
        obj = next((o for prefix, o in objects.items() if route.startswith(prefix)), None)
        if name in ("code", "feature_id"):
            if "assets/" in route or "/v/" in route or route.startswith("v/") or "items" in route:
                return clinic.code
            if "township" in route:
                return w.p.township_b.code
            if "project" in route:
                return w.b_project.code
            return w.p.village_b.code
        if name == "collection_id":
            return "assets"
        if name in ("object_id", "id", "pk"):
            if obj is not None:
                return str(obj.pk)
            if "campaign" in route:
                return str(w.campaign.pk)
            if "project" in route:
                return str(w.b_project.pk)
            return str(clinic.pk)
        if name == "history_id" and obj is not None and hasattr(obj, "history"):
            return str(obj.history.order_by("history_id").last().history_id)
        return {"layer": "assets", "z": "12", "x": "3310", "y": "1633", "year": "2026", "fmt": "csv",
                "app_label": "geo_assets"}.get(name, "1")

    return value


def concrete(w) -> list[str]:
    value = b_values(w)
    return sorted({fill(route, value) for route in routes()
                   if not any(fill(route, value).lstrip("/").startswith(s) for s in SKIP)})


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


@pytest.mark.parametrize("role", A_ROLES)
def test_no_get_of_any_route_shows_county_b_to_county_a(county_world, role):
    w = county_world
    client = Client(raise_request_exception=False)
    client.force_login(w.users[role])
    leaks = []
    for url in concrete(w):
        cache.clear()
        response = client.get(url)
        text = body(response)
        found = [s for s in SECRETS if s in text]
        if found:
            leaks.append(f"{response.status_code} {url} {found}")
    assert leaks == []


@pytest.mark.parametrize("role", ("admin_a", "roads_a", "township_a", "finance_a"))
def test_no_post_to_any_route_changes_county_b(county_world, role):
    w = county_world
    client = Client(raise_request_exception=False)
    client.force_login(w.users[role])
    before = table_digests(B_MODELS)
    data = {"name": "甲改", "reason": "甲", "note": "甲", "status": "idle", "finding": "intact", "assignee":
            str(w.users["inspector_a"].pk), "membership": str(w.users["admin_b"].memberships.get().pk),
            "document_number": "甲", "allocated": "1", "disbursed": "1", "asset_code": w.assets["clinic_b"].code}
    answered = []
    for url in concrete(w):
        cache.clear()
        response = client.post(url, data)
        answered.append(response.status_code)
        assert response.status_code < 500, url
    assert table_digests(B_MODELS) == before
    assert answered  # the sweep ran
    assert w.users["admin_b"].memberships.get().current  # nobody switched into B's role


def test_the_sweep_covers_every_app(county_world):
    urls = concrete(county_world)
    for prefix in ("/api/v1/assets/", "/ogc/", "/reports/villages/", "/projects/", "/verification/campaigns/",
                   "/admin/geo_assets/asset/", "/admin/projects/project/", "/tiles/", "/assets/", "/import/"):
        assert any(u.startswith(prefix) for u in urls), prefix
    assert f"/assets/{county_world.assets['clinic_b'].code}/" in urls
    assert len(admin.site._registry) > 10


def test_the_prefecture_reads_every_route_and_changes_no_countys_register_by_any(county_world):
    """The bureau above the counties reads (and reports on) both counties and edits nothing of either register: every
    route, filled with B's identifiers and with A's, GET and POST, answers below 500 and leaves both counties' assets,
    areas, projects, fund lines, lifecycle records and memberships as they were."""
    from geo_assets.models import (
        CustodianChange,
        Disposal,
        DistributionPlan,
        FundingLine,
        HandoverLetter,
        IncomeRecord,
        MaintenanceEntry,
        OperationContract,
        OwnerShare,
        OwnershipRegistration,
        PublicWelfarePost,
    )

    w = county_world
    register = (Asset, AdminArea, Project, FundLine, Membership, FundingLine, OwnerShare, OwnershipRegistration,
                HandoverLetter, MaintenanceEntry, CustodianChange, PublicWelfarePost, OperationContract, IncomeRecord,
                DistributionPlan, Disposal)
    client = Client(raise_request_exception=False)
    client.force_login(w.users["prefecture"])
    before = table_digests(register)
    data = {"name": "市改", "reason": "市", "note": "市", "status": "disposed", "finding": "intact", "amount": "1",
            "year": "2025", "custodian_unit": "市", "asset_code": w.assets["clinic_b"].code,
            "document_number": "市", "allocated": "1", "disbursed": "1"}
    a_urls = {u.replace(w.assets["clinic_b"].code, w.assets["clinic_a"].code) for u in concrete(w)}
    failures, urls = [], sorted(set(concrete(w)) | a_urls)
    assert len(urls) > len(concrete(w)) > 100  # the sweep runs over every route, B's and A's
    for url in urls:
        cache.clear()
        for response in (client.get(url), client.post(url, data)):
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {response.request['REQUEST_METHOD']} {url}")
    assert failures == []
    assert table_digests(register) == before

"""The project pages (issue 17, "Project page and map"): every route × every role × every method, what the list
and the page show, the forms on it and the services' refusals behind them (posted directly, nothing written), the
bounds on amounts and years, and the map's GeoJSON (scoped, escaped)."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from projects.models import FundLine, Project, ProjectAsset
from tests.factories import fetched_elsewhere, project
from tests.world import table_digests

MODELS = (Project, FundLine, ProjectAsset)
METHODS = ("get", "post", "put", "patch", "delete")
ROAD = "XM-2025-001"

# role → what each route answers to the method it serves: the list, the road project's page and its GeoJSON (GET);
# recording a fund line and linking an asset to it (POST). Anyone else method: 405.
SEES_ROAD = {"page": 200, "geojson": 200}
HIDDEN = {"page": 404, "geojson": 404, "funds": 404, "link": 404}
MATRIX = {
    "county_admin": {"list": 200, **SEES_ROAD, "funds": 302, "link": 302},
    "superuser": {"list": 200, **SEES_ROAD, "funds": 302, "link": 302},
    "finance": {"list": 200, **SEES_ROAD, "funds": 302, "link": 403},
    "department": {"list": 200, **SEES_ROAD, "funds": 302, "link": 302},
    "other_department": {"list": 200, **HIDDEN},
    "township": {"list": 200, **SEES_ROAD, "funds": 403, "link": 302},
    "village": {"list": 200, **SEES_ROAD, "funds": 403, "link": 302},
    "other_village": {"list": 200, **HIDDEN},
    "inspector": {"list": 200, **SEES_ROAD, "funds": 403, "link": 403},
    "staff_without_role": dict.fromkeys(("list", "page", "geojson", "funds", "link"), 403),
    "anonymous": dict.fromkeys(("list", "page", "geojson", "funds", "link"), 302),
}
ROUTES = {  # name: (url, the method it serves)
    "list": ("/projects/", "get"),
    "page": (f"/projects/{ROAD}/", "get"),
    "geojson": (f"/projects/{ROAD}/assets.geojson", "get"),
    "funds": (f"/projects/{ROAD}/funds/", "post"),
    "link": (f"/projects/{ROAD}/links/", "post"),
}
FUND = {"source": "provincial", "document_number": "豫财扶〔2025〕9号", "year": "2025", "allocated": "12.5",
        "disbursed": "10"}


def client_for(user) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


def page(response) -> str:
    return response.content.decode()


def post_data(world, name) -> dict:
    return FUND if name == "funds" else {"asset": world["assets"]["unlinked"].code, "amount": "5"}


@pytest.mark.parametrize("role", MATRIX)
def test_every_route_every_role_every_method(project_world, role):
    user = project_world["users"][role]
    client = client_for(user)
    for name, (url, served) in ROUTES.items():
        for method in METHODS:
            before = table_digests(MODELS)
            data = post_data(project_world, name) if method == "post" else {}
            response = getattr(client, method)(url, data) if method == "post" else getattr(client, method)(url)
            expected = MATRIX[role][name] if method == served else 405
            assert response.status_code == expected, (role, name, method, response.status_code)
            if expected == 302 and role == "anonymous":
                assert "/login/" in response["Location"]
            if not (method == "post" and expected == 302):
                assert table_digests(MODELS) == before, (role, name, method)  # refused: nothing written
    road, wrote = Project.objects.get(code=ROAD), user.is_authenticated
    assert FundLine.objects.filter(project=road, document_number=FUND["document_number"]).exists() \
        == (wrote and MATRIX[role]["funds"] == 302)
    assert ProjectAsset.objects.filter(project=road, asset=project_world["assets"]["unlinked"]).exists() \
        == (wrote and MATRIX[role]["link"] == 302)


def test_a_village_clerk_posting_a_fund_line_gets_403_and_nothing_is_written(project_world):
    clerk = client_for(project_world["users"]["village"])
    before = FundLine.objects.count()
    response = clerk.post(f"/projects/{ROAD}/funds/", FUND)
    assert response.status_code == 403
    assert "财政局" in page(response)  # the rule's message says who keeps fund lines
    assert FundLine.objects.count() == before
    line = FundLine.objects.filter(project__code=ROAD).first()  # nor a correction of an existing line
    response = clerk.post(f"/projects/{ROAD}/funds/", {**FUND, "line": line.pk, "allocated": "999"})
    assert response.status_code == 403
    line.refresh_from_db()
    assert line.allocated == Decimal("100")


def test_the_finance_bureau_may_not_link_assets_nor_the_inspector(project_world):
    for role in ("finance", "inspector"):
        response = client_for(project_world["users"][role]).post(
            f"/projects/{ROAD}/links/", {"asset": project_world["assets"]["unlinked"].code})
        assert response.status_code == 403
    assert not ProjectAsset.objects.filter(asset=project_world["assets"]["unlinked"]).exists()


def test_csrf_is_enforced_on_the_forms(project_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(project_world["users"]["finance"])
    assert client.post(f"/projects/{ROAD}/funds/", FUND).status_code == 403
    assert not FundLine.objects.filter(document_number=FUND["document_number"]).exists()


# ---------------------------------------------------------------- the list


def codes_listed(client, query="") -> list[str]:
    response = client.get("/projects/" + query)
    assert response.status_code == 200
    return [p.code for p in response.context["page"]]


def test_the_list_shows_what_each_role_sees(project_world):
    users = project_world["users"]
    assert set(codes_listed(client_for(users["finance"]))) == {"XM-2025-001", "XM-2025-002", "XM-2023-009"}
    assert set(codes_listed(client_for(users["township"]))) == {"XM-2025-001", "XM-2023-009"}
    assert codes_listed(client_for(users["village"])) == ["XM-2025-001"]
    assert codes_listed(client_for(users["other_village"])) == ["XM-2025-002"]
    assert set(codes_listed(client_for(users["department"]))) == {"XM-2025-001", "XM-2025-002"}
    assert codes_listed(client_for(users["other_department"])) == []


def test_the_list_filters_by_year_kind_department_township_status_and_search(project_world):
    client = client_for(project_world["users"]["county_admin"])
    transport = project_world["departments"]["transport"]
    assert set(codes_listed(client, "?year=2025")) == {"XM-2025-001", "XM-2025-002"}
    assert codes_listed(client, "?kind=interest_subsidy") == ["XM-2023-009"]
    assert set(codes_listed(client, f"?department={transport.pk}")) == {"XM-2025-001", "XM-2025-002"}
    assert set(codes_listed(client, "?township=410324101000")) == {"XM-2025-001", "XM-2023-009"}
    assert codes_listed(client, "?township=410324102000") == ["XM-2025-002"]
    assert set(codes_listed(client, "?status=under_way")) == {"XM-2025-001", "XM-2025-002", "XM-2023-009"}
    assert codes_listed(client, "?status=accepted") == []
    assert codes_listed(client, "?q=东南村") == ["XM-2025-002"]
    assert codes_listed(client, "?q=2023-009") == ["XM-2023-009"]
    assert codes_listed(client, "?year=2025&q=道路&township=410324101000") == ["XM-2025-001"]
    # a value that is not a choice is ignored, not an error page
    assert len(codes_listed(client, "?year=abc&kind=nonsense&township=999")) == 3


def test_the_list_shows_the_totals_and_is_paginated(project_world):
    admin = project_world["users"]["county_admin"]
    client = client_for(admin)
    html = page(client.get("/projects/?q=XM-2025-001"))
    assert "120" in html and "100" in html  # allocated 100 + 20, disbursed 80 + 20
    for i in range(55):
        project(actor=admin, code=f"XM-2024-{i:03d}", name=f"批量项目{i}", year=2024, township=project_world["areas"].east)
    first = client.get("/projects/")
    assert len(first.context["page"]) == 50 and first.context["page"].has_next()
    second = client.get("/projects/?page=2")
    assert len(second.context["page"]) == 58 - 50
    filtered = client.get("/projects/?year=2024&page=2")
    assert len(filtered.context["page"]) == 5 and "year=2024" in page(filtered)  # the pager keeps the filters


# ---------------------------------------------------------------- the project page


def test_the_page_shows_funds_assets_what_is_formed_and_documents(project_world):
    client = client_for(project_world["users"]["county_admin"])
    response = client.get(f"/projects/{ROAD}/")
    html = page(response)
    summary = response.context["summary"]
    assert (summary.allocated, summary.disbursed) == (Decimal("120"), Decimal("100"))
    assert summary.formed == Decimal("70") and summary.asset_count == 3  # 50 + 10 stated, 10 apportioned
    assert summary.difference == Decimal("30") and summary.no_asset == 0
    assert {f.code for f in response.context["flags"]} == {"partly_formed"}
    assert "豫财扶〔2025〕3号" in html and "栾发改〔2025〕12号" in html  # fund document, approval document
    assert "无文号" in html  # the county line has no document number
    assert "西南村硬化道路" in html and "西北村硬化道路" in html
    assert 'href="/#project=XM-2025-001"' in html
    assert "/projects/XM-2025-001/assets.geojson" in html
    assert "leaflet" in html.lower() and not fetched_elsewhere(html)  # the app's own Leaflet
    assert '<img src=x' not in html  # the asset named with markup is escaped in the table
    assert "&lt;img src=x" in html


def test_flags_traced_and_no_asset(project_world):
    client = client_for(project_world["users"]["county_admin"])
    response = client.get("/projects/XM-2023-009/")
    assert {f.code for f in response.context["flags"]} == {"traced", "no_asset"}
    summary = response.context["summary"]
    assert summary.no_asset == Decimal("5") and summary.difference == 0
    assert "追溯" in page(response)
    # a 2025 road project is neither traced nor explained
    assert not {"traced", "no_asset"} & {f.code for f in client.get(f"/projects/{ROAD}/").context["flags"]}


def test_excluded_and_without_assets_flags(project_world):
    admin = project_world["users"]["county_admin"]
    project(actor=admin, code="XM-2025-777", name="易地搬迁安置", kind="relocation", township=project_world["areas"].west)
    done = project(actor=admin, code="XM-2025-778", name="已完工无资产", villages=[project_world["areas"].east_south],
                   status="completed", started_on=datetime.date(2025, 3, 1),
                   completed_on=datetime.date(2025, 6, 1))
    client = client_for(admin)
    assert {f.code for f in client.get("/projects/XM-2025-777/").context["flags"]} == {"excluded"}
    assert {f.code for f in client.get(f"/projects/{done.code}/").context["flags"]} == {"without_assets"}


def test_forms_show_only_when_the_rule_allows(project_world):
    users = project_world["users"]

    def forms(role):
        context = client_for(users[role]).get(f"/projects/{ROAD}/").context
        return context["fund_form"] is not None, context["link_form"] is not None

    assert forms("county_admin") == (True, True)
    assert forms("finance") == (True, False)
    assert forms("department") == (True, True)
    assert forms("township") == (False, True)
    assert forms("village") == (False, True)
    assert forms("inspector") == (False, False)
    html = page(client_for(users["finance"]).get(f"/projects/{ROAD}/"))
    assert 'action="/projects/XM-2025-001/funds/"' in html and 'action="/projects/XM-2025-001/links/"' not in html


def test_the_page_shows_only_the_assets_the_user_sees(project_world):
    village = client_for(project_world["users"]["village"]).get(f"/projects/{ROAD}/")
    assets = project_world["assets"]
    assert {row.asset.code for row in village.context["assets"]} == {assets["west_road"].code, assets["markup"].code}
    assert village.context["hidden_assets"] == 1
    assert "西北村硬化道路" not in page(village)


# ---------------------------------------------------------------- recording a fund line


def test_finance_records_and_corrects_a_fund_line(project_world):
    client = client_for(project_world["users"]["finance"])
    response = client.post(f"/projects/{ROAD}/funds/", FUND)
    assert response.status_code == 302 and response["Location"].endswith("#funds")
    line = FundLine.objects.get(document_number=FUND["document_number"])
    assert (line.source, line.allocated, line.disbursed, line.recorded_by) == (
        "provincial", Decimal("12.5"), Decimal("10"), project_world["users"]["finance"])
    assert line.history.latest().history_user == project_world["users"]["finance"]
    form = client.get(f"/projects/{ROAD}/?correct={line.pk}").context["fund_form"]
    assert form.initial["line"] == line.pk and form.correcting == line
    response = client.post(f"/projects/{ROAD}/funds/", {**FUND, "line": line.pk, "disbursed": "12.5"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.disbursed == Decimal("12.5") and FundLine.objects.filter(document_number=FUND["document_number"]).count() == 1


def test_a_line_of_another_project_cannot_be_corrected_through_this_one(project_world):
    other = FundLine.objects.get(project__code="XM-2025-002")
    response = client_for(project_world["users"]["finance"]).post(
        f"/projects/{ROAD}/funds/", {**FUND, "line": other.pk, "allocated": "1"})
    assert response.status_code == 200 and "不属于本项目" in page(response)
    other.refresh_from_db()
    assert other.allocated == Decimal("10")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("allocated", "-5", "无效"),
    ("allocated", "1000000000", "无效"),
    ("allocated", "1.123456", "无效"),
    ("disbursed", "-1", "无效"),
    ("disbursed", "50", "支出金额不能超过下达金额"),
    ("year", "2999", "超出"),
    ("year", "1900", "超出"),
])
def test_fund_line_bounds_nothing_written(project_world, field, value, message):
    client = client_for(project_world["users"]["finance"])
    before = table_digests(MODELS)
    response = client.post(f"/projects/{ROAD}/funds/", {**FUND, "allocated": "20", field: value})
    assert response.status_code == 200
    assert message in page(response), page(response)[:3000]
    assert table_digests(MODELS) == before


def test_the_same_document_twice_is_refused(project_world):
    client = client_for(project_world["users"]["finance"])
    response = client.post(f"/projects/{ROAD}/funds/", {**FUND, "source": "central", "document_number": "豫财扶〔2025〕3号"})
    assert response.status_code == 200 and "已有" in page(response)
    assert FundLine.objects.filter(document_number="豫财扶〔2025〕3号").count() == 1


# ---------------------------------------------------------------- linking assets


def test_linking_by_code_with_an_amount(project_world):
    client = client_for(project_world["users"]["village"])
    unlinked = project_world["assets"]["unlinked"]
    response = client.post(f"/projects/{ROAD}/links/", {"asset": unlinked.code, "amount": "5"})
    assert response.status_code == 302 and response["Location"].endswith("#assets")
    link = ProjectAsset.objects.get(asset=unlinked)
    assert (link.project.code, link.amount, link.origin) == (ROAD, Decimal("5"), "manual")
    assert link.linked_by == project_world["users"]["village"]


def test_linking_refusals(project_world):
    users, assets = project_world["users"], project_world["assets"]
    village = client_for(users["village"])
    before = table_digests(MODELS)
    # an asset the clerk does not see is as unknown as a missing code
    response = village.post(f"/projects/{ROAD}/links/", {"asset": assets["east_road"].code})
    assert response.status_code == 200 and "没有您可查看的" in page(response)
    assert village.post(f"/projects/{ROAD}/links/", {"asset": "NO-SUCH"}).status_code == 200
    # the amounts stated may not exceed what the project disbursed (100; 60 stated already)
    response = village.post(f"/projects/{ROAD}/links/", {"asset": assets["unlinked"].code, "amount": "41"})
    assert response.status_code == 200 and "超过" in page(response)
    for amount in ("-1", "1000000000"):
        response = village.post(f"/projects/{ROAD}/links/", {"asset": assets["unlinked"].code, "amount": amount})
        assert response.status_code == 200 and "无效" in page(response)
    assert table_digests(MODELS) == before
    # the road department leads the project but may not link a clinic it does not see
    response = client_for(users["department"]).post(f"/projects/{ROAD}/links/", {"asset": assets["clinic"].code})
    assert response.status_code == 200
    assert table_digests(MODELS) == before


def test_suggested_assets_with_an_accept_button(project_world):
    assets = project_world["assets"]
    client = client_for(project_world["users"]["township"])
    response = client.get(f"/projects/{ROAD}/")
    suggested = [a.code for a, _score in response.context["suggestions"]]
    assert suggested[0] == assets["unlinked"].code  # same village and year, its ledger names the project
    assert assets["clinic"].code not in suggested or suggested.index(assets["clinic"].code) > 0
    assert f'data-suggestion="{assets["unlinked"].code}"' in page(response)
    accepted = client.post(f"/projects/{ROAD}/links/", {"asset": assets["unlinked"].code, "origin": "suggestion"})
    assert accepted.status_code == 302
    assert ProjectAsset.objects.get(asset=assets["unlinked"]).origin == "suggestion"
    assert assets["unlinked"].code not in [a.code for a, _s in client.get(f"/projects/{ROAD}/").context["suggestions"]]


def test_accepting_from_the_asset_page_returns_there_and_never_elsewhere(project_world):
    unlinked = project_world["assets"]["unlinked"]
    client = client_for(project_world["users"]["village"])
    response = client.post(f"/projects/{ROAD}/links/", {"asset": unlinked.code, "origin": "suggestion",
                                                        "next": f"/assets/{unlinked.code}/#projects"})
    assert response["Location"] == f"/assets/{unlinked.code}/#projects"
    other = project_world["assets"]["west_road"]
    response = client.post(f"/projects/{ROAD}/links/", {"asset": other.code, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/projects/{ROAD}/#assets"


# ---------------------------------------------------------------- the map's GeoJSON


def features(client) -> dict:
    response = client.get(f"/projects/{ROAD}/assets.geojson")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/geo+json")
    assert b"<" not in response.content and b">" not in response.content  # markup escaped even in the raw bytes
    return {f["properties"]["code"]: f for f in json.loads(response.content)["features"]}


def test_the_map_geojson_is_scoped_and_escaped(project_world):
    users, assets = project_world["users"], project_world["assets"]
    everything = {assets[k].code for k in ("west_road", "markup", "north_road")}
    assert set(features(client_for(users["inspector"]))) == everything
    assert set(features(client_for(users["township"]))) == everything
    assert set(features(client_for(users["department"]))) == everything
    assert set(features(client_for(users["village"]))) == everything - {assets["north_road"].code}
    mine = features(client_for(users["village"]))
    markup = mine[assets["markup"].code]
    assert markup["properties"]["name"] == assets["markup"].name  # the same text once parsed
    assert markup["geometry"]["type"] == "LineString" or markup["geometry"]["type"].endswith("LineString")
    assert mine[assets["west_road"].code]["properties"]["contribution"] == "50.0000"
    assert mine[assets["west_road"].code]["properties"]["url"] == f"/assets/{assets['west_road'].code}/"
    assert client_for(users["other_village"]).get(f"/projects/{ROAD}/assets.geojson").status_code == 404


# ---------------------------------------------------------------- the asset page's projects


def test_the_asset_page_shows_its_projects_and_suggestions(project_world):
    users, assets = project_world["users"], project_world["assets"]
    village = client_for(users["village"])
    html = page(village.get(f"/assets/{assets['west_road'].code}/"))
    assert 'href="/projects/XM-2025-001/"' in html and "形成该资产的项目" in html
    # 50 stated of a project that disbursed 80 central and 20 county funds: its funds follow 4 : 1
    funding = html.split('class="derived-funding"')[1].split("</p>")[0]
    assert "按所属项目推算的资金构成" in funding and "（中央） 40 万元" in funding and "（县级） 10 万元" in funding
    html = page(village.get(f"/assets/{assets['unlinked'].code}/"))
    assert 'data-suggestion="XM-2025-001"' in html and 'action="/projects/XM-2025-001/links/"' in html
    # the inspector sees the project but may not link: no button
    html = page(client_for(users["inspector"]).get(f"/assets/{assets['unlinked'].code}/"))
    assert 'action="/projects/XM-2025-001/links/"' not in html
    # the public never sees the project ledgers
    assets["west_road"].is_published = True
    from geo_assets import services

    services.asset_update(actor=users["county_admin"], asset=assets["west_road"], changes={"is_published": True})
    html = page(Client().get(f"/assets/{assets['west_road'].code}/"))
    assert "XM-2025-001" not in html and "形成该资产的项目" not in html and "derived-funding" not in html

"""Issue 21 item 7: the evidence of every risk-alert rule shows only what its viewer may see — an asset outside the
viewer's scope is named under its public name if it is published, counted and not named if it is not; persons
and numbers go through the personal-data rule — in /alerts/, /alerts.geojson and the village report (HTML, PDF,
XLSX), for every role."""

import io
import shutil
import subprocess
import zipfile

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from geo_assets.access import scope_for
from geo_assets.models import AdminArea, Asset
from reports import figures
from reports.alerts import ALL_RULES, Evidence, alerts_compute
from tests.factories import make_user
from tests.reports.conftest import ID_NUMBER, OTHER_PERSON, PERSON, PHONE, PUBLISHED_PERSON

VIEWERS = ("county_admin", "inspector", "township_west", "clerk_a", "clerk_b", "department")


def alerts_for(evidence_world, role, **filters):
    user = evidence_world["users"][role]
    return alerts_compute(assets=Asset.objects.visible_to(user), villages=figures.villages_in_scope(user),
                          viewer=scope_for(user), **filters)


def forbidden(evidence_world, role) -> set[str]:
    """What this role's alert evidence must never show: codes of the assets it may not see at all, names of the
    assets outside its scope, and the persons (with their ID and phone numbers) of villages outside its scope —
    unless one of its own assets carries the same words."""
    user = evidence_world["users"][role]
    own_names = list(Asset.objects.visible_to(user).values_list("name", flat=True))
    villages = set(figures.villages_in_scope(user).values_list("pk", flat=True))
    in_scope = set(Asset.objects.visible_to(user).values_list("pk", flat=True))
    out = set()
    for asset in evidence_world["assets"].values():
        if asset.pk not in in_scope:
            out.add(asset.name)
            if not asset.is_published:
                out.add(asset.code)
    if evidence_world["areas"].west_south.pk not in villages:
        out |= {PERSON, ID_NUMBER, PHONE, PUBLISHED_PERSON}
    if evidence_world["areas"].east_south.pk not in villages:
        out.add(OTHER_PERSON)
    return {m for m in out if not any(m in name for name in own_names)}


def test_every_rule_fires_in_this_world(evidence_world):
    """The sweep below covers every rule: each has at least one alert for the county administrator."""
    assert {a.rule for a in alerts_for(evidence_world, "county_admin")} == set(ALL_RULES)


@pytest.mark.parametrize("role", VIEWERS)
def test_every_rules_evidence_names_only_what_the_viewer_may_see(evidence_world, role):
    found = alerts_for(evidence_world, role)
    assert found
    shown = forbidden(evidence_world, role)
    leaks = [(a.rule, a.evidence, m) for a in found for m in shown if m in a.evidence]
    assert not leaks


def evidence_of(evidence_world, role, rule, key) -> str:
    pk = evidence_world["assets"][key].pk
    return next(a.evidence for a in alerts_for(evidence_world, role, rules=[rule]) if a.asset_id == pk)


def test_what_each_viewer_reads_of_the_other_asset(evidence_world):
    assets = evidence_world["assets"]
    a_house, a_published = assets["a_house"], assets["a_published"]
    # the administrator sees both sides in full
    assert f"{a_house.code}（{PERSON}到户养殖）" in evidence_of(evidence_world, "county_admin", "duplicate_nearby", "b_house")
    # B's clerk: A's unpublished asset is counted, not named; A's published one under its public name only
    assert evidence_of(evidence_world, "clerk_b", "duplicate_nearby", "b_house").startswith("与另 1 项同类资产（不在您的查看范围内）相距")
    beside = evidence_of(evidence_world, "clerk_b", "duplicate_nearby", "b_beside")
    assert f"{a_published.code}（{a_published.public_name}）" in beside and PUBLISHED_PERSON not in beside
    assert a_published.public_name.startswith("西南村")
    # A's clerk, the other way round
    assert "不在您的查看范围内" in evidence_of(evidence_world, "clerk_a", "duplicate_nearby", "a_house")
    # the roads department sees B's road, not the clinic of the same name
    assert evidence_of(evidence_world, "department", "duplicate_name", "b_road") == f"与本村另 1 项同名资产重复（名称：{OTHER_PERSON}门前道路）"
    assert assets["b_clinic"].code in evidence_of(evidence_world, "county_admin", "duplicate_name", "b_road")
    # persons in objections: staff in scope see them
    assert f"{PERSON} {ID_NUMBER}" in next(a.evidence for a in alerts_for(evidence_world, "clerk_a", rules=["objection_unanswered"]))


def readable(response) -> str:
    body = response.content
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            body = b"\n".join(archive.read(name) for name in archive.namelist())
    elif body[:4] == b"%PDF":
        pdftotext = shutil.which("pdftotext") or "/usr/bin/pdftotext"
        body = subprocess.run([pdftotext, "-", "-"], input=body, capture_output=True, check=True).stdout
    return body.decode()


def outputs(evidence_world, role) -> list[str]:
    user = evidence_world["users"][role]
    village = evidence_world["areas"].west_south if role in ("clerk_a", "township_west") else evidence_world["areas"].east_south
    urls = ["/alerts/", "/alerts/?rule=duplicate_nearby", "/alerts.geojson", f"/reports/villages/{village.code}/",
            f"/reports/villages/{village.code}.xlsx", f"/reports/villages/{village.code}.pdf"]
    if role == "department":  # a department's reports cover every village; B holds its road
        urls = urls[:3] + [f"/reports/villages/{evidence_world['areas'].east_south.code}.xlsx"]
    return urls if user else []


@pytest.mark.parametrize("role", VIEWERS)
def test_alert_pages_and_reports_show_only_what_the_viewer_may_see(evidence_world, role):
    client = Client()
    client.force_login(evidence_world["users"][role])
    shown = forbidden(evidence_world, role)
    for url in outputs(evidence_world, role):
        response = client.get(url)
        assert response.status_code == 200, url
        text = readable(response).replace("\n", "")
        assert not [m for m in shown if m in text], url
    if role in ("county_admin", "clerk_a"):  # the control: what this test looks for is there when allowed
        assert PERSON in readable(client.get("/alerts/?rule=duplicate_nearby"))


@pytest.mark.parametrize("url", ["/alerts/", "/alerts.geojson", "/reports/villages/410324102001/",
                                 "/reports/villages/410324102001.xlsx"])
def test_the_public_reaches_no_alert_evidence(evidence_world, url):
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    roleless = Client()
    roleless.force_login(make_user("nobody", None))
    assert roleless.get(url).status_code == 403
    assert AdminArea.objects.filter(code="410324102001").exists()


@pytest.mark.parametrize("role", VIEWERS)
def test_a_village_reports_own_asset_rows_write_the_same_evidence(evidence_world, role):
    """A village report hands its own asset rows to the evidence (Evidence's `known`): what each viewer reads is
    the same as when every named asset is read again — for the viewers who read all of their counties, without
    reading those assets again; for the others, by reading them."""
    user = evidence_world["users"][role]
    viewer = scope_for(user)
    for village in figures.villages_in_scope(user):
        scope = figures.area_scope(user, village)
        rows = {a.pk: a for a in figures.asset_list(scope)}
        given = alerts_compute(assets=scope.assets, villages=scope.villages, viewer=viewer, known=rows)
        assert given == alerts_compute(assets=scope.assets, villages=scope.villages, viewer=viewer)
        assert sorted(a.evidence for a in given) == sorted(a.evidence for a in figures.report_figures(scope)
                                                          ["alerts"]["list"])
        others = list(Asset.objects.exclude(pk__in=rows).values_list("pk", flat=True))  # other villages'
        assert Evidence(viewer, [*rows, *others], known=rows).named == Evidence(viewer, [*rows, *others]).named
        with CaptureQueriesContext(connection) as reads:
            Evidence(viewer, list(rows), known=rows)
        assert len(reads) == (0 if viewer.reads_whole_counties or not rows else 1)

"""The demo project and fund ledgers (projects/demo.py): projects matching the demo assets, and every kind of
reconciliation finding present — counted here by direct SQL on the tables, independently of any reconciliation
code — deterministic, loaded once, and the finance bureau's demo login."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F
from django.test import Client

from geo_assets import demo
from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from projects import services
from projects.demo import demo_projects_load
from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset
from projects.taxonomy import NO_ASSET_KINDS, ProjectKind, ProjectStatus
from tests.world import small_county

PER_PROJECT = """
    SELECT p.code, p.year, p.kind, p.status,
           (SELECT coalesce(sum(f.disbursed), 0) FROM projects_fundline f WHERE f.project_id = p.id) AS disbursed,
           (SELECT coalesce(sum(coalesce(l.amount, a.total_investment)), 0)
              FROM projects_projectasset l JOIN geo_assets_asset a ON a.id = l.asset_id
             WHERE l.project_id = p.id) AS formed,
           (SELECT count(*) FROM projects_projectasset l WHERE l.project_id = p.id) AS assets
    FROM projects_project p ORDER BY p.code"""


def rows():
    with connection.cursor() as cursor:
        cursor.execute(PER_PROJECT)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def tolerance(disbursed: Decimal, policy: LedgerPolicy) -> Decimal:
    return max(disbursed * policy.tolerance_percent / 100, policy.tolerance_amount)


def findings() -> dict[str, set[str]]:
    """Each finding kind of issue 17, by direct queries: in-scope projects only (since the policy's first year, not
    relocation, not spending that forms no asset by its nature)."""
    policy = LedgerPolicy.objects.get()
    in_scope = [r for r in rows() if r["year"] >= policy.first_year and r["kind"] != ProjectKind.RELOCATION
                and r["kind"] not in NO_ASSET_KINDS]
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT a.code FROM geo_assets_asset a
            WHERE a.year_built >= %s AND NOT EXISTS (SELECT 1 FROM projects_projectasset l WHERE l.asset_id = a.id)""",
                       [policy.first_year])
        unlinked = {code for (code,) in cursor.fetchall()}
        cursor.execute("""
            SELECT p.code || '/' || f.source FROM projects_fundline f JOIN projects_project p ON p.id = f.project_id
            WHERE f.document_number = ''""")
        undocumented = {key for (key,) in cursor.fetchall()}
    return {
        "accepted_without_assets": {r["code"] for r in in_scope
                                    if r["status"] == ProjectStatus.ACCEPTED and r["assets"] == 0},
        "assets_without_project": unlinked,
        "formed_beyond": {r["code"] for r in in_scope
                          if r["formed"] - r["disbursed"] > tolerance(r["disbursed"], policy)},
        "partly_formed": {r["code"] for r in in_scope if r["formed"] > 0
                          and r["disbursed"] - r["formed"] > tolerance(r["disbursed"], policy)},
        "lines_without_document": undocumented,
    }


def test_every_finding_kind_is_present_and_the_rest_reconciles(demo_projects):
    _admin, found = demo_projects
    kinds = findings()
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}  # every kind populated
    # exactly what the loader says it made wrong, nothing by accident
    for kind, codes in kinds.items():
        assert codes == set(getattr(found, kind)), kind
    policy = LedgerPolicy.objects.get()
    assert (policy.first_year, policy.tolerance_percent, policy.tolerance_amount) == (2024, 5, Decimal("0.5"))
    # every other in-scope project that formed assets disbursed what its assets cost, within the tolerance
    wrong = kinds["formed_beyond"] | kinds["partly_formed"]
    for r in rows():
        if r["year"] >= 2024 and r["assets"] and r["code"] not in wrong:
            assert abs(r["disbursed"] - r["formed"]) <= tolerance(r["disbursed"], policy), r


def test_projects_match_their_assets(demo_projects):
    in_scope = Asset.objects.filter(year_built__gte=2024)
    linked = in_scope.filter(project_links__isnull=False).distinct().count()
    assert linked >= 0.8 * in_scope.count() and linked < in_scope.count()  # most, not all
    for link in ProjectAsset.objects.select_related("project", "asset"):
        project, asset = link.project, link.asset
        assert project.year == asset.year_built
        assert project.villages.filter(pk=asset.village_id).exists()
        assert project.township_id == asset.township_id
    # sensible kinds: roads in infrastructure projects, household assets in household (到户) projects
    assert set(Project.objects.filter(links__asset__asset_type="road").values_list("kind", flat=True)) == {
        ProjectKind.INFRASTRUCTURE}
    assert set(Project.objects.filter(links__asset__asset_type="livestock").values_list("kind", flat=True)) <= {
        ProjectKind.HOUSEHOLD}
    # one asset comes from two projects, each contribution stated and together its investment
    shared = Asset.objects.filter(project_links__amount__isnull=False).distinct()
    for asset in shared:
        assert sum(link.amount for link in asset.project_links.all()) == asset.total_investment
    # every project has fund lines by source, within their allocation; 2026 projects are under way
    assert not Project.objects.filter(funds__isnull=True).exists()
    assert not FundLine.objects.filter(disbursed__gt=F("allocated")).exists()
    assert set(Project.objects.filter(year=2026, links__isnull=False).values_list("status", flat=True)) == {
        ProjectStatus.UNDER_WAY}
    assert FundLine.objects.exclude(document_number="").filter(document_number__contains="〔").count() \
        == FundLine.objects.exclude(document_number="").count()
    # written through the services: each project with its history and reason
    assert all(p.history.filter(history_change_reason="演示数据").exists() for p in Project.objects.all())


def test_traced_excluded_and_no_asset_projects(demo_projects):
    _admin, found = demo_projects
    traced = Project.objects.filter(year__lt=2024)
    assert traced.exists() and set(traced.values_list("code", flat=True)) == set(found.traced)
    assert all(p.links.exists() for p in traced)
    relocation = Project.objects.get(kind=ProjectKind.RELOCATION)
    assert [relocation.code] == found.excluded and not relocation.links.exists()
    no_asset = Project.objects.filter(kind__in=NO_ASSET_KINDS)
    assert set(no_asset.values_list("kind", flat=True)) == set(NO_ASSET_KINDS)
    assert set(no_asset.values_list("year", flat=True)) == {2024, 2025, 2026}
    assert not ProjectAsset.objects.filter(project__in=no_asset).exists()


def test_loaded_once(demo_projects):
    admin, _found = demo_projects
    before = (Project.objects.count(), FundLine.objects.count(), ProjectAsset.objects.count(),
              Project.history.count(), FundLine.history.count(), ProjectAsset.history.count())
    assert demo_projects_load(actor=admin) is None
    out = StringIO()
    call_command("load_demo_projects", stdout=out)
    assert "未做任何更改" in out.getvalue()
    after = (Project.objects.count(), FundLine.objects.count(), ProjectAsset.objects.count(),
             Project.history.count(), FundLine.history.count(), ProjectAsset.history.count())
    assert after == before


def test_the_finance_bureau_demo_login(demo_projects):
    """`caizheng` (财政局): logs in with the demo password, sees every project, keeps fund lines, edits nothing else."""
    finance = get_user_model().objects.get(username="caizheng")
    assert finance.memberships.get().role == Role.FINANCE and finance.is_active
    password = demo.DEMO_PASSWORD_FILE.read_text().strip()
    client = Client()
    assert client.login(username="caizheng", password=password)
    assert Project.objects.visible_to(finance).count() == Project.objects.count()
    listed = client.get("/api/v1/map/projects/?q=2025").json()["results"]
    assert listed and all(p["code"].startswith("4103242025") for p in listed)
    line = FundLine.objects.filter(document_number="").first()
    line.document_number = "栾财预〔2025〕99号"
    services.fund_line_save(actor=finance, line=line, reason="补录文号")
    assert FundLine.objects.get(pk=line.pk).document_number == "栾财预〔2025〕99号"
    project = Project.objects.first()
    project.name = "改名"
    with pytest.raises(PermissionDenied):
        services.project_save(actor=finance, project=project)
    logins = StringIO()
    call_command("demo_admin", stdout=logins)
    assert "caizheng" in logins.getvalue()


def test_nothing_to_do_without_the_demo_administrator_or_assets(admin_user):
    out = StringIO()
    call_command("load_demo_projects", stdout=out)
    assert "load_demo" in out.getvalue() and not Project.objects.exists()
    assert demo_projects_load(actor=admin_user) is None  # no assets: nothing written
    assert not LedgerPolicy.objects.exists()


class Rollback(Exception):
    pass


def fingerprint():
    return [
        sorted(Project.objects.values_list("code", "name", "kind", "status", "township__code", "department__name",
                                           "started_on", "accepted_on", "approval_document")),
        sorted(FundLine.objects.values_list("project__code", "source", "document_number", "allocated", "disbursed")),
        sorted(ProjectAsset.objects.values_list("project__code", "asset__code", "amount")),
    ]


@pytest.mark.django_db
def test_the_demo_projects_are_deterministic():
    with pytest.raises(Rollback), transaction.atomic():
        admin = small_county()
        demo_projects_load(actor=admin)
        first = fingerprint()
        raise Rollback
    assert not Project.objects.exists()
    admin = small_county()
    demo_projects_load(actor=admin)
    assert fingerprint() == first and first[0]

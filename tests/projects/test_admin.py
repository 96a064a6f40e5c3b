"""The project ledgers in the admin (projects/admin.py), hardened like the register's: each role sees its own
projects, changes only what its rules allow, every save goes through projects.services (their refusals and bounds
on the form, nothing written), nothing is deleted and history is scoped and read-only. Every admin page as every
role is swept by tests/geo_assets/test_admin_sweep.py; these are the projects' own cases."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import FundLine, LedgerPolicy, Project, ProjectAsset
from tests.world import table_digests

MODELS = (Project, FundLine, ProjectAsset, LedgerPolicy)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(model: str, name: str, *args) -> str:
    return reverse(f"admin:projects_{model}_{name}", args=args)


def project_data(project=None, **overrides) -> dict:
    """What the project change form posts (the fund lines inline is read-only: its management form only)."""
    lines = list(project.funds.all()) if project else []
    data = {
        "code": project.code if project else "XM-2026-900", "name": project.name if project else "新项目",
        "year": project.year if project else 2026, "kind": project.kind if project else "infrastructure",
        "status": project.status if project else "under_way",
        "implementing_unit": "", "department": project.department_id if project and project.department_id else "",
        "township": project.township_id if project and project.township_id else "",
        "villages": [v.pk for v in project.villages.all()] if project else [],
        "approval_document": "", "started_on": "", "completed_on": "", "accepted_on": "", "acceptance_document": "",
        "note": "",
        "funds-TOTAL_FORMS": str(len(lines)), "funds-INITIAL_FORMS": str(len(lines)), "funds-MIN_NUM_FORMS": "0",
        "funds-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        data[f"funds-{i}-id"], data[f"funds-{i}-project"] = line.pk, project.pk
    data.update(overrides)
    return data


def listed(client, model) -> set[str]:
    response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    return {str(o) for o in response.context["cl"].result_list}


def test_each_role_lists_its_own_projects(project_world):
    users = project_world["users"]
    codes = {role: {p.split(" ")[0] for p in listed(client_for(users[role]), "project")}
             for role in ("county_admin", "finance", "inspector", "department", "other_department", "township",
                          "village", "other_village")}
    everything = {"XM-2025-001", "XM-2025-002", "XM-2023-009"}
    assert codes["county_admin"] == codes["finance"] == codes["inspector"] == everything
    assert codes["department"] == {"XM-2025-001", "XM-2025-002"}
    assert codes["other_department"] == set()
    assert codes["township"] == {"XM-2025-001", "XM-2023-009"}
    assert codes["village"] == {"XM-2025-001"} and codes["other_village"] == {"XM-2025-002"}


def test_the_lead_department_changes_its_project_through_the_service(project_world):
    road = project_world["projects"]["road"]
    client = client_for(project_world["users"]["department"])
    response = client.post(url("project", "change", road.pk), project_data(road, implementing_unit="西镇交通所"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    road.refresh_from_db()
    assert road.implementing_unit == "西镇交通所"
    version = road.history.latest()
    assert version.history_user == project_world["users"]["department"] and version.history_change_reason


@pytest.mark.parametrize("role", ["finance", "inspector", "township", "village"])
def test_who_may_not_change_a_project_is_refused(project_world, role):
    road = project_world["projects"]["road"]
    client = client_for(project_world["users"][role])
    before = table_digests(MODELS)
    assert client.get(url("project", "change", road.pk)).status_code == 200  # read-only view
    assert client.post(url("project", "change", road.pk), project_data(road, name="越权修改")).status_code == 403
    assert client.post(url("project", "add"), project_data()).status_code == 403
    assert table_digests(MODELS) == before


def test_a_department_enters_only_projects_it_leads(project_world):
    users, departments = project_world["users"], project_world["departments"]
    client = client_for(users["department"])
    before = table_digests(MODELS)
    response = client.post(url("project", "add"), project_data(department=departments["health"].pk))
    assert response.status_code == 200  # the department field offers its own department only
    assert "department" in response.context["adminform"].form.errors
    response = client.post(url("project", "add"), project_data(department=""))
    assert response.status_code == 200 and "只能录入本部门主管的项目" in response.content.decode()
    assert table_digests(MODELS) == before
    response = client.post(url("project", "add"), project_data(department=departments["transport"].pk))
    assert response.status_code == 302
    assert Project.objects.get(code="XM-2026-900").history.latest().history_user == users["department"]


def test_project_dates_and_villages_are_checked_on_the_form(project_world):
    areas, road = project_world["areas"], project_world["projects"]["road"]
    client = client_for(project_world["users"]["county_admin"])
    before = table_digests(MODELS)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    cases = [
        ({"started_on": tomorrow}, "started_on"),  # the future
        ({"started_on": "1999-12-31"}, "started_on"),  # before the earliest date
        ({"started_on": "2025-05-01", "completed_on": "2025-04-01"}, "completed_on"),  # out of order
        ({"status": "accepted"}, "accepted_on"),  # accepted without its date
        ({"year": "2999"}, "year"),
        ({"villages": [areas.east_south.pk]}, "villages"),  # outside the project's township
    ]
    for overrides, field in cases:
        response = client.post(url("project", "change", road.pk), project_data(road, **overrides))
        assert response.status_code == 200, overrides
        errors = response.context["adminform"].form.errors
        assert field in errors or (field == "completed_on" and "__all__" in errors), (overrides, errors)
    assert table_digests(MODELS) == before


def fund_data(project, **overrides) -> dict:
    return {"project": project.pk, "source": "municipal", "document_number": "洛财扶〔2025〕7号", "year": "2025",
            "allocated": "8", "disbursed": "6", "note": "", **overrides}


def test_the_finance_bureau_keeps_fund_lines_in_the_admin(project_world):
    road = project_world["projects"]["road"]
    finance = project_world["users"]["finance"]
    client = client_for(finance)
    assert client.post(url("fundline", "add"), fund_data(road)).status_code == 302
    line = FundLine.objects.get(document_number="洛财扶〔2025〕7号")
    assert line.recorded_by == finance and line.history.latest().history_user == finance
    data = fund_data(road, disbursed="8")
    data.pop("project")  # a line stays with its project
    assert client.post(url("fundline", "change", line.pk), data).status_code == 302
    line.refresh_from_db()
    assert line.disbursed == Decimal("8")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"allocated": "-1"}, "allocated"),
    ({"allocated": "100000000"}, "allocated"),
    ({"disbursed": "9"}, "disbursed"),  # more than allocated
    ({"year": "2999"}, "year"),
])
def test_fund_line_bounds_on_the_admin_form(project_world, overrides, field):
    road = project_world["projects"]["road"]
    before = table_digests(MODELS)
    response = client_for(project_world["users"]["finance"]).post(url("fundline", "add"), fund_data(road, **overrides))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors or response.context["adminform"].form.errors
    assert table_digests(MODELS) == before


@pytest.mark.parametrize("role", ["township", "village", "inspector"])
def test_fund_lines_are_not_kept_by_other_roles(project_world, role):
    road = project_world["projects"]["road"]
    line = road.funds.first()
    client = client_for(project_world["users"][role])
    before = table_digests(MODELS)
    assert client.post(url("fundline", "add"), fund_data(road)).status_code == 403
    data = fund_data(road, allocated="999")
    data.pop("project")
    assert client.post(url("fundline", "change", line.pk), data).status_code == 403
    assert table_digests(MODELS) == before


def test_a_department_keeps_only_its_own_projects_funds(project_world):
    users, admin = project_world["users"], project_world["users"]["county_admin"]
    from tests.factories import project

    other = project(actor=admin, code="XM-2025-555", name="卫生院项目", kind="health",
                    villages=[project_world["areas"].west_south], department=project_world["departments"]["health"])
    before = table_digests(MODELS)
    response = client_for(users["department"]).post(url("fundline", "add"), fund_data(other))
    assert response.status_code == 200 and "project" in response.context["adminform"].form.errors
    assert table_digests(MODELS) == before


def test_links_in_the_admin_are_scoped_and_checked(project_world):
    users, assets = project_world["users"], project_world["assets"]
    village = client_for(users["village"])
    shown = village.get(url("projectasset", "changelist")).content.decode()
    assert assets["west_road"].code in shown and assets["north_road"].code not in shown  # outside the village
    link = ProjectAsset.objects.get(asset=assets["west_road"])
    before = table_digests(MODELS)
    response = village.post(url("projectasset", "change", link.pk), {"amount": "95"})  # 95 + 10 stated > 100
    assert response.status_code == 200 and "超过" in response.content.decode()
    assert table_digests(MODELS) == before
    assert village.post(url("projectasset", "change", link.pk), {"amount": "40"}).status_code == 302
    link.refresh_from_db()
    assert link.amount == Decimal("40") and link.history.latest().history_user == users["village"]
    other = ProjectAsset.objects.get(asset=assets["north_road"])
    assert village.get(url("projectasset", "change", other.pk)).status_code in (302, 404)


def test_history_is_scoped_and_read_only(project_world):
    users, east = project_world["users"], project_world["projects"]["east"]
    township = client_for(users["township"])
    assert township.get(url("project", "history", east.pk)).status_code == 404
    version = east.history.order_by("history_id").first()
    assert township.get(url("project", "simple_history", east.pk, version.history_id)).status_code == 404
    admin = client_for(users["county_admin"])
    assert admin.get(url("project", "history", east.pk)).status_code == 200
    before = table_digests(MODELS)
    assert admin.post(url("project", "simple_history", east.pk, version.history_id),
                      project_data(east, name="篡改")).status_code == 405
    line = east.funds.first()
    line_version = line.history.order_by("history_id").first()
    assert township.get(url("fundline", "history", line.pk)).status_code == 404
    assert admin.post(url("fundline", "simple_history", line.pk, line_version.history_id),
                      {"allocated": "0"}).status_code == 405
    assert table_digests(MODELS) == before


def test_nothing_is_deleted(project_world):
    admin = client_for(project_world["users"]["superuser"])
    road = project_world["projects"]["road"]
    before = table_digests(MODELS)
    assert admin.get(url("project", "delete", road.pk)).status_code == 403
    assert admin.post(url("project", "delete", road.pk), {"post": "yes"}).status_code == 403
    admin.post(url("project", "changelist"), {"action": "delete_selected", "_selected_action": [road.pk],
                                              "post": "yes"})
    line = road.funds.first()
    assert admin.post(url("fundline", "delete", line.pk), {"post": "yes"}).status_code == 403
    assert table_digests(MODELS) == before


def test_the_reconciliation_settings_are_the_county_administrator_s(project_world):
    users = project_world["users"]
    data = {"tolerance_percent": "3", "tolerance_amount": "0.2", "first_year": "2024"}
    for role in ("finance", "department", "township", "inspector"):
        client = client_for(users[role])
        assert client.post(url("ledgerpolicy", "add"), data).status_code == 403
    assert not LedgerPolicy.objects.exists()
    admin = client_for(users["county_admin"])
    assert admin.post(url("ledgerpolicy", "add"), {**data, "tolerance_percent": "150"}).status_code == 200
    assert not LedgerPolicy.objects.exists()
    assert admin.post(url("ledgerpolicy", "add"), data).status_code == 302
    policy = LedgerPolicy.objects.get()
    assert policy.tolerance_percent == Decimal("3") and policy.history.latest().history_user == users["county_admin"]
    assert admin.get(url("ledgerpolicy", "add")).status_code == 403  # one row
    response = client_for(users["finance"]).post(url("ledgerpolicy", "change", policy.pk),
                                                 {**data, "tolerance_percent": "50"})
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.tolerance_percent == Decimal("3")
    # the page's flags follow the settings: with 40 % tolerance the road project is no longer partly formed
    assert admin.post(url("ledgerpolicy", "change", policy.pk), {**data, "tolerance_percent": "40"}).status_code == 302
    flags = admin.get("/projects/XM-2025-001/").context["flags"]
    assert "partly_formed" not in {f.code for f in flags}

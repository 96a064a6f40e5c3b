"""The upload page for the project list and the fund ledger: a finance user uploads a real fund ledger, checks it in
a table, confirms and reads the report; each ledger has its template; who may upload what."""

import io
from urllib.parse import unquote

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from geo_assets.taxonomy import Role
from importers import vocab
from importers.models import ImportJob
from projects.models import FundLine, Project
from tests.factories import make_user
from tests.importers import builders as b
from tests.importers.conftest import run, run_ledger

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def worker():
    assert run("importers_worker", "--once")[0] == 0


def xlsx_upload(path, name=None):
    return SimpleUploadedFile(name or path.name, path.read_bytes(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.fixture
def projects(tmp_path, ledger_roles):
    code, report = run_ledger(tmp_path, "import_projects", b.write_csv(tmp_path / "p.csv", b.project_rows(3)))
    assert code == 0, report
    return list(Project.objects.order_by("code"))


def test_a_finance_user_imports_a_fund_ledger_through_the_page(tmp_path, projects, ledger_roles):
    client = logged_in(ledger_roles.finance)
    page = client.get(reverse("importers:upload"))
    assert page.status_code == 200
    html = page.content.decode()
    # the finance bureau is offered the fund ledger only, with its template
    assert 'value="funds"' in html and 'value="assets"' not in html and 'value="projects"' not in html
    assert reverse("importers:template_kind", args=["funds"]) in html and "资金台账" in html

    data = b.fund_rows([p.code for p in projects], per_project=2)
    data[3]["项目编号"] = "XM-NONE"
    path = b.write_table_xlsx(tmp_path / "县财政局资金台账.xlsx", data, merge=["项目编号"])
    response = client.post(reverse("importers:upload"), {"kind": "funds", "file": xlsx_upload(path)})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.kind == "funds" and job.status == ImportJob.Status.PENDING_CHECK
    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED and not FundLine.objects.exists()
    html = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert "资金台账" in html and 'id="preview-map"' not in html
    assert 'class="invalid" data-row="7"' in html and "项目编号“XM-NONE”不在项目库中" in html
    # confirming a file with an invalid row without skipping it: nothing queued
    client.post(reverse("importers:job_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED

    data[3]["项目编号"] = projects[1].code
    data[3]["文号"] = "豫财农〔2024〕补1号"
    path = b.write_table_xlsx(tmp_path / "县财政局资金台账（改）.xlsx", data, merge=["项目编号"])
    assert client.post(reverse("importers:upload"), {"kind": "funds", "file": xlsx_upload(path)}).status_code == 302
    job = ImportJob.objects.order_by("-created_at").first()
    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED and job.check_report["invalid"] == 0, job.check_report
    assert client.post(reverse("importers:job_confirm", args=[job.pk])).status_code == 302
    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.report["created"] == 6, job.report
    assert FundLine.objects.count() == 6
    assert set(FundLine.history.values_list("history_user__username", flat=True)) == {"finance"}
    html = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert 'id="import-report"' in html and projects[0].code in html and not job.folder.exists()


def test_a_department_uploads_its_project_list(tmp_path, ledger_roles):
    client = logged_in(ledger_roles.water_clerk)
    html = client.get(reverse("importers:upload")).content.decode()
    assert all(f'value="{kind}"' in html for kind in ("assets", "projects", "funds"))
    path = b.write_table_xlsx(tmp_path / "项目库.xlsx", b.project_rows(2))
    assert client.post(reverse("importers:upload"), {"kind": "projects", "file": xlsx_upload(path)}).status_code == 302
    job = ImportJob.objects.get()
    worker()
    job.refresh_from_db()
    assert job.check_report["created"] == 2
    client.post(reverse("importers:job_confirm", args=[job.pk]))
    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Project.objects.filter(department=ledger_roles.water).count() == 2


def test_who_may_upload_which_ledger(tmp_path, ledger_roles):
    path = b.write_table_xlsx(tmp_path / "项目库.xlsx", b.project_rows(1))
    # the finance bureau: no asset ledger, no project list
    finance = logged_in(ledger_roles.finance)
    for kind in ("assets", "projects"):
        response = finance.post(reverse("importers:upload"), {"kind": kind, "file": xlsx_upload(path)})
        assert response.status_code == 200 and "您的账户没有导入此类台账的权限" in response.content.decode()
    # a township clerk: assets only
    clerk = logged_in(ledger_roles.township)
    html = clerk.get(reverse("importers:upload")).content.decode()
    assert 'value="assets"' in html and 'value="funds"' not in html
    assert clerk.get(reverse("importers:template_kind", args=["funds"])).status_code == 403
    # an inspector: nothing to import
    inspector = logged_in(make_user("inspector", Role.INSPECTOR))
    assert inspector.get(reverse("importers:upload")).status_code == 403
    assert not ImportJob.objects.exists()


def test_a_ledger_must_be_a_table(tmp_path, ledger_roles):
    client = logged_in(ledger_roles.finance)
    gis = b.write_gis(tmp_path / "f.gpkg", b.frame(b.rows(1)))
    response = client.post(reverse("importers:upload"), {"kind": "funds", "file": xlsx_upload(gis)})
    assert response.status_code == 200 and "项目库和资金台账是表格" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(("kind", "columns", "filename"), [
    ("projects", vocab.PROJECT_COLUMNS, "项目库导入模板.xlsx"), ("funds", vocab.FUND_COLUMNS, "资金台账导入模板.xlsx")])
def test_each_ledger_has_a_template_whose_example_row_imports(tmp_path, projects, ledger_roles, kind, columns,
                                                             filename):
    response = logged_in(ledger_roles.admin).get(reverse("importers:template_kind", args=[kind]))
    assert response.status_code == 200 and filename in unquote(response["Content-Disposition"])
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[2]] == list(columns)
    assert wb.worksheets[1].title == "填表说明" and wb.worksheets[1].max_row > 5
    path = tmp_path / f"{kind}.xlsx"
    wb.save(path)
    code, report = run_ledger(tmp_path, f"import_{kind}", path, "--dry-run")
    assert code == 0 and report["invalid"] == 0 and report["read"] == 1, report

"""The import page (issue 7 item 14): confirm without skipping, the template download, village boundaries under the
preview, links from the report to the assets, and the write progress of a confirmed import."""

import io
import json
from urllib.parse import unquote

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from importers import jobs, vocab
from importers.models import ImportJob
from tests.factories import make_user
from tests.importers import builders as b
from tests.importers.conftest import run, run_report, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_confirm_without_skip_stays_on_the_job_page(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    data = b.rows(2)
    data[1]["资产类型"] = "飞船"
    job = upload(client, tmp_path, data)
    response = client.post(reverse("importers:job_confirm", args=[job.pk]), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "文件有无效行，未导入" in page and "跳过无效数据，只导入有效行" in page and 'id="preview-map"' in page
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED and not Asset.objects.exists()
    # a second confirm of a job already queued: also the job page with a message
    client.post(reverse("importers:job_confirm", args=[job.pk]), {"skip_invalid": "on"})
    response = client.post(reverse("importers:job_confirm", args=[job.pk]), {"skip_invalid": "on"}, follow=True)
    assert response.status_code == 200 and "不能再次确认" in response.content.decode()


def test_template_download_has_the_ledger_columns_and_a_valid_example(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    page = client.get(reverse("importers:upload")).content.decode()
    assert reverse("importers:template") in page and "导入模板" in page
    response = client.get(reverse("importers:template"))
    assert response.status_code == 200 and "资产台账导入模板.xlsx" in unquote(response["Content-Disposition"])
    data = b"".join(response.streaming_content)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[2]] == list(vocab.TABLE_COLUMNS)
    example = dict(zip(vocab.TABLE_COLUMNS, [c.value for c in ws[3]], strict=True))
    assert "示例" in example[vocab.NAME] and example[vocab.AREA_CODE] == areas.west_south.code
    assert "填表说明" in wb.sheetnames and "财政专项扶贫资金" in str([c.value for c in wb["填表说明"]["B"]])
    path = tmp_path / "template.xlsx"
    path.write_bytes(data)
    code, report = run_report(tmp_path, path, "--dry-run")
    assert code == 0, report
    assert (report["read"], report["created"], report["invalid"]) == (1, 1, 0), report
    assert Client().get(reverse("importers:template")).status_code == 302  # login first
    assert logged_in(make_user("insp", Role.INSPECTOR)).get(reverse("importers:template")).status_code == 403


def test_preview_draws_village_boundaries(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    job = upload(client, tmp_path, b.rows(1))
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    url = reverse("layers:area-list") + "?level=village&zoom=11&page_size=1000"
    assert url in page and 'createPane("villages")' in page
    villages = client.get(url).json()
    assert {f["id"] for f in villages["features"]} == {
        areas.west_south.code, areas.west_north.code, areas.east_south.code, areas.east_north.code}


def test_report_links_to_created_and_updated_assets(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    job = upload(client, tmp_path, b.rows(3))
    client.post(reverse("importers:job_confirm", args=[job.pk]))
    assert run("importers_worker", "--once")[0] == 0
    job.refresh_from_db()
    codes = sorted(Asset.objects.values_list("code", flat=True))
    assert len(codes) == 3 and sorted(job.report["created_codes"]) == codes
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert "新增的资产" in page
    for code in codes:
        assert f'href="{reverse("maps:asset", args=[code])}"' in page
    # re-import with a change: the report links to the updated assets
    changed = [{**r, "资产编号": code, "投资金额（万元）": "12", "资金来源": "中央财政专项扶贫资金:12"}
               for r, code in zip(b.rows(3), codes, strict=True)]
    ImportJob.objects.all().update(status=ImportJob.Status.FAILED)
    path = b.write_csv(tmp_path / "up2.csv", changed)
    client.post(reverse("importers:upload"), {"file": SimpleUploadedFile("改.csv", path.read_bytes())})
    assert run("importers_worker", "--once")[0] == 0
    job2 = ImportJob.objects.exclude(pk=job.pk).get()
    client.post(reverse("importers:job_confirm", args=[job2.pk]))
    assert run("importers_worker", "--once")[0] == 0
    job2.refresh_from_db()
    assert sorted(job2.report["updated_codes"]) == codes and job2.report["created_codes"] == []
    assert "更新的资产" in client.get(reverse("importers:job", args=[job2.pk])).content.decode()


def test_report_codes_are_capped(areas, admin_user, tmp_path, monkeypatch):
    from importers import services

    monkeypatch.setattr(services, "REPORT_CODES", 2)
    path = b.write_csv(tmp_path / "a.csv", b.rows(3))
    code, report = run_report(tmp_path, path)
    assert code == 0 and report["created"] == 3 and len(report["created_codes"]) == 2


def test_confirmed_job_shows_write_progress_not_the_check(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    job = upload(client, tmp_path, b.rows(4))
    assert job.progress()["phase"] == "check" and job.progress()["done"] == 4  # the finished check
    client.post(reverse("importers:job_confirm", args=[job.pk]))
    status = client.get(reverse("importers:job_status", args=[job.pk])).json()
    assert (status["status"], status["phase"], status["done"], status["total"], status["percent"]) == (
        "pending_import", "write", 0, 4, 0)
    job.refresh_from_db()
    write = jobs._progress_writer(job, only="write")
    write("check", 4, 4)  # the import's quick re-check is not shown
    assert not job.progress_file.exists()
    write("write", 2, 4)
    assert json.loads(job.progress_file.read_text()) == {"phase": "write", "done": 2, "total": 4}
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)
    status = client.get(reverse("importers:job_status", args=[job.pk])).json()
    assert (status["phase"], status["done"], status["percent"]) == ("write", 2, 50)

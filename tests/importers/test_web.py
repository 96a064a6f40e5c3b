"""The browser flow: upload → background check → preview → confirm → background import → report; export."""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from geo_assets.models import Asset
from geo_assets.taxonomy import Role
from importers.models import ImportJob
from tests.factories import fetched_elsewhere, make_asset, make_user
from tests.importers import builders as b
from tests.importers.conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def csv_upload(tmp_path, data, name="台账.csv"):
    path = b.write_csv(tmp_path / "up.csv", data)
    return SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def worker():
    assert run("importers_worker", "--once")[0] == 0


def test_upload_preview_confirm_import(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    data = b.rows(3)
    data[2]["资产类型"] = "飞船"
    response = client.post(reverse("importers:upload"), {"file": csv_upload(tmp_path, data)})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PENDING_CHECK
    status = client.get(reverse("importers:job_status", args=[job.pk])).json()
    assert status["status"] == "pending_check"
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert 'id="job-progress"' in page and "importers_worker" in page

    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    assert Asset.objects.count() == 0
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert 'class="invalid" data-row="4"' in page and "未知的资产类型“飞船”" in page
    assert "leaflet" in page and "preview-map" in page and not fetched_elsewhere(page)
    features = client.get(reverse("importers:job_preview", args=[job.pk])).json()["features"]
    assert len(features) == 2

    # confirming without "skip invalid rows": back on the job page with the reason, nothing queued (no bare 400)
    response = client.post(reverse("importers:job_confirm", args=[job.pk]), follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("importers:job", args=[job.pk])
    page = response.content.decode()
    assert 'id="job-messages"' in page and "文件有无效行，未导入" in page and 'id="confirm-import"' in page
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    assert client.post(reverse("importers:job_confirm", args=[job.pk]), {"skip_invalid": "on"}).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING_IMPORT
    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.report["created"], job.report["invalid"]) == (2, 1)
    assert Asset.objects.count() == 2
    assert not job.folder.exists()
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert 'id="import-report"' in page
    assert client.get(reverse("importers:job_status", args=[job.pk])).json()["percent"] == 100


def test_clerk_scope_applies_to_browser_import(areas, tmp_path):
    clerk = make_user("clerk", Role.VILLAGE, area=areas.west_south)
    client = logged_in(clerk)
    client.post(reverse("importers:upload"), {"file": csv_upload(tmp_path, b.rows(2))})
    worker()
    job = ImportJob.objects.get()
    assert job.check_report["invalid"] == 1 and "范围" in job.check_report["errors"][0]["message"]


def test_upload_limits_and_type_checks(areas, admin_user, tmp_path, settings):
    client = logged_in(admin_user)
    fake = SimpleUploadedFile("a.xlsx", b"not a workbook at all", content_type="application/octet-stream")
    page = client.post(reverse("importers:upload"), {"file": fake}).content.decode()
    assert "内容与扩展名不符" in page
    page = client.post(reverse("importers:upload"), {"file": SimpleUploadedFile("a.exe", b"MZ")}).content.decode()
    assert "不支持的文件类型" in page
    page = client.post(reverse("importers:upload"), {"file": SimpleUploadedFile("a.shp", b"x")}).content.decode()
    assert ".zip" in page
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    page = client.post(reverse("importers:upload"), {"file": csv_upload(tmp_path, b.rows(2))}).content.decode()
    assert "文件太大，上限" in page  # stopped while streaming (importers.uploads), nothing stored
    assert not ImportJob.objects.exists()
    assert not any((tmp_path / "media").rglob("upload*"))


def test_login_required_csrf_and_roles(areas, tmp_path):
    response = Client().get(reverse("importers:upload"))
    assert response.status_code == 302 and "login" in response["Location"]
    inspector = make_user("insp", Role.INSPECTOR)
    assert logged_in(inspector).get(reverse("importers:upload")).status_code == 403
    admin = make_user("boss", Role.COUNTY_ADMIN)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    assert strict.post(reverse("importers:upload"), {"file": csv_upload(tmp_path, b.rows(1))}).status_code == 403


def test_jobs_are_private(areas, admin_user, tmp_path):
    logged_in(admin_user).post(reverse("importers:upload"), {"file": csv_upload(tmp_path, b.rows(1))})
    job = ImportJob.objects.get()
    other = make_user("other", Role.VILLAGE, area=areas.west_south)
    assert logged_in(other).get(reverse("importers:job", args=[job.pk])).status_code == 404


def test_unreadable_upload_fails_the_job_with_message(areas, admin_user, tmp_path):
    client = logged_in(admin_user)
    client.post(reverse("importers:upload"), {"file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n")})
    worker()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and "表头" in job.message
    assert "表头" in client.get(reverse("importers:job", args=[job.pk])).content.decode()


def test_export_view_respects_visibility(areas, admin_user):
    make_asset(actor=admin_user, name="公开的路", area=areas.west_south, is_published=True)
    make_asset(actor=admin_user, name="内部的路", area=areas.east_north)
    response = Client().get(reverse("importers:export") + "?format=xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    names = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert names == ["公开的路"]
    client = logged_in(admin_user)
    response = client.get(reverse("importers:export") + "?format=csv&township=410324102000")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "内部的路" in text and "公开的路" not in text
    assert "attachment" in response["Content-Disposition"]
    clerk = make_user("clerk", Role.VILLAGE, area=areas.west_south)
    text = b"".join(logged_in(clerk).get(reverse("importers:export") + "?format=csv").streaming_content).decode(
        "utf-8-sig")
    assert "公开的路" in text and "内部的路" not in text
    response = client.get(reverse("importers:export") + "?format=shp")
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert client.get(reverse("importers:export") + "?format=doc").status_code == 400
    assert client.get(reverse("importers:export") + "?format=csv&township=999").status_code == 400


def test_unconfirmed_jobs_expire(areas, admin_user, tmp_path):
    import datetime

    from django.utils import timezone

    from importers import jobs

    logged_in(admin_user).post(reverse("importers:upload"), {"file": csv_upload(tmp_path, b.rows(1))})
    worker()
    job = ImportJob.objects.get()
    assert job.folder.exists()
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - datetime.timedelta(days=2))
    assert jobs.jobs_expire() == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and not job.folder.exists()


def test_a_job_left_by_a_dead_worker_is_requeued_and_finishes(areas, admin_user, tmp_path):
    import datetime
    import os

    from importers import jobs

    client = logged_in(admin_user)
    client.post(reverse("importers:upload"), {"file": csv_upload(tmp_path, b.rows(2))})
    job = ImportJob.objects.get()
    claimed = jobs.job_claim()  # a worker takes it … and dies before finishing
    assert claimed.pk == job.pk and claimed.status == ImportJob.Status.CHECKING
    assert jobs.jobs_recover() == 0  # still fresh: another worker may be on it
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)
    ImportJob.objects.filter(pk=job.pk).update(updated_at=old)
    job.folder.mkdir(parents=True, exist_ok=True)
    job.progress_file.write_text("{}")
    os.utime(job.progress_file, (old.timestamp(), old.timestamp()))
    assert jobs.jobs_recover() == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING_CHECK and "重新排队" in job.message
    worker()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED


def test_anonymous_exports_are_rate_limited(areas, admin_user, settings):
    settings.EXPORT_RATE_ANON = "2/hour"
    anonymous = Client()
    codes = [anonymous.get(reverse("importers:export") + "?format=csv").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert logged_in(admin_user).get(reverse("importers:export") + "?format=csv").status_code == 200

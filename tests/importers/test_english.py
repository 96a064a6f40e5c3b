"""Both languages (issue 16, item 5): the importer's messages are English msgids with their Chinese translation, so
the interface is Chinese by default and English when the user chose it (the ledger's own column names and
vocabulary stay Chinese in either language)."""

import io
from urllib.parse import unquote

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from importers import cells, vocab
from importers.readers import LedgerUnreadable, file_check
from tests.importers import builders as b
from tests.importers.conftest import run, upload


def test_cell_and_file_messages_are_chinese_by_default_and_english_under_en(tmp_path):
    with pytest.raises(ValueError) as zh:
        cells.decimal("abc", 2)
    assert str(zh.value) == "“abc”不是数字"
    with translation.override("en"), pytest.raises(ValueError) as en:
        cells.decimal("abc", 2)
    assert str(en.value) == "“abc” is not a number"
    empty = tmp_path / "台账.csv"
    empty.write_bytes(b"")
    with pytest.raises(LedgerUnreadable, match="文件“台账.csv”是空的（0 字节），未导入任何数据。"):
        file_check(empty)
    with translation.override("en"), pytest.raises(LedgerUnreadable, match=r"is empty \(0 bytes\); nothing was"):
        file_check(empty)


@pytest.mark.django_db
def test_import_command_reports_in_english_with_the_ledger_columns_as_they_are(areas, admin_user, tmp_path):
    data = b.rows(2)
    data[1][vocab.TYPE] = "飞船"
    path = b.write_csv(tmp_path / "台账.csv", data)
    code, out = run("import_assets", str(path))
    assert code == 1 and "未知的资产类型“飞船”（应为以下名称或代码之一：" in out and "有 1 行无效，未写入任何数据。" in out
    with translation.override("en"):
        code, out = run("import_assets", str(path))
    assert code == 1
    assert "Unknown 资产类型 “飞船” (should be one of these names or codes: " in out
    assert "row 3 [资产类型]" in out and "1 row is invalid; nothing was written." in out


@pytest.mark.django_db
def test_upload_page_and_template_follow_the_language_cookie(areas, admin_user):
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("importers:upload")).content.decode()
    assert "导入资产台账" in page and "上传并检查" in page and "台账文件" in page
    client.cookies["django_language"] = "en"
    page = client.get(reverse("importers:upload")).content.decode()
    assert "Import an asset ledger" in page and "Upload and check" in page and "Ledger file" in page
    assert "导入资产台账" not in page
    response = client.get(reverse("importers:template"))
    assert "asset-ledger-import-template.xlsx" in unquote(response["Content-Disposition"])
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert "How to fill in" in wb.sheetnames
    assert [c.value for c in wb.worksheets[0][2]] == list(vocab.TABLE_COLUMNS)  # the ledger's columns stay Chinese


@pytest.mark.django_db
def test_job_page_and_status_in_both_languages(areas, admin_user, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = Client()
    client.force_login(admin_user)
    data = b.rows(2)
    data[1][vocab.TYPE] = "飞船"
    job = upload(client, tmp_path, data)
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert "检查结果：共 2 行；" in page and "跳过 1 行无效数据，只导入有效行" in page and "第 3 行 [资产类型]" in page
    status = client.get(reverse("importers:job_status", args=[job.pk])).json()
    assert status["text"] == f"检查：{status['done']} / {status['total']} 行"
    client.cookies["django_language"] = "en"
    page = client.get(reverse("importers:job", args=[job.pk])).content.decode()
    assert "Check result: 2 rows;" in page and "Skip 1 invalid row, import only the valid ones" in page
    assert "Row 3 [资产类型] 未知的资产类型“飞船”" in page  # written by the worker, in the installation's language
    status = client.get(reverse("importers:job_status", args=[job.pk])).json()
    assert status["text"] == f"Checking: {status['done']} / {status['total']} rows"
    features = client.get(reverse("importers:job_preview", args=[job.pk])).json()["features"]
    assert features[0]["properties"]["label"] == "Row 2"

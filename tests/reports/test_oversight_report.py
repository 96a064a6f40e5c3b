"""Issue 19, reports above the county: /reports/oversight/ (.pdf, .xlsx) for the prefecture's and province's
bureaus — the counties compared, the alerts by rule and county, a map of the counties — over county_world (a
prefecture, county A 栾川县 with four villages, county B 嵩县 with one)."""

import io
import re
import shutil
import subprocess
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from openpyxl import load_workbook

from geo_assets.models import AdminArea, Asset
from geo_assets.taxonomy import AreaLevel, AssetStatus, Role
from reports import figures, svgmap
from reports.alerts import ALL_RULES, alerts_count
from tests.factories import make_user

COUNTY_ROLES = ("admin_a", "inspector_a", "finance_a", "roads_a", "township_a", "village_a", "admin_b")
URLS = ("/reports/oversight/", "/reports/oversight.pdf", "/reports/oversight.xlsx")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def svg_of(html: str) -> str:
    return html[html.index('<svg xmlns="http://www.w3.org/2000/svg" class="report-map"'):html.index("</svg>") + 6]


def counties(w) -> list[AdminArea]:
    return [w.p.a.county, w.p.county_b]


def test_each_countys_figures_are_what_the_register_and_the_alerts_say_of_that_county_alone(county_world):
    w = county_world
    fig = figures.oversight_figures(w.users["prefecture"], w.p.prefecture)
    assert [c["code"] for c in fig["counties"]] == [c.code for c in counties(w)]
    alerts_total = Counter()
    for row, county in zip(fig["counties"], counties(w), strict=True):
        active = Asset.objects.filter(county=county.code).exclude(status=AssetStatus.DISPOSED)
        villages = AdminArea.objects.filter(level=AreaLevel.VILLAGE, code__startswith=county.code[:6])
        assert row["name"] == county.name
        assert row["total"] == active.count() == 2
        assert row["villages"] == villages.count()
        assert row["investment"] == active.aggregate(s=Sum("total_investment"))["s"]
        # the county's alerts counted on their own, by rule and by level
        alone = alerts_count(assets=active, villages=villages)
        by_rule, by_level = Counter(), Counter()
        for (_village, rule, level), n in alone.items():
            by_rule[rule] += n
            by_level[level] += n
        index = fig["counties"].index(row)
        assert {r["code"]: r["counts"][index] for r in fig["rules"] if r["counts"][index]} == dict(by_rule)
        assert sum(by_rule.values()) > 0  # the data set fires some rules in each county
        assert (row["red"], row["yellow"], row["blue"]) == (by_level["red"], by_level["yellow"], by_level["blue"])
        alerts_total.update(by_rule)
    assert [r["code"] for r in fig["rules"]] == sorted(ALL_RULES, key=figures.RULE_RANK.get)  # every rule, zeros too
    assert {r["code"]: r["total"] for r in fig["rules"] if r["total"]} == dict(alerts_total)
    assert fig["total"]["total"] == 4 and fig["total"]["villages"] == 5
    assert fig["total"]["investment"] == sum((c["investment"] for c in fig["counties"]), Decimal(0))


def test_the_figures_come_from_one_pass_over_the_alerts(county_world, monkeypatch):
    calls = []
    real = figures.alert_counts

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(figures, "alert_counts", counting)
    for user, tallied in ((county_world.users["prefecture"], True), (county_world.root, False)):
        html = login(user).get("/reports/oversight/").content.decode()
        assert "嵩县" in html
        assert ("告警统计于" in html) is tallied  # the bureaus read the alert tally and are told when it was counted
    assert len(calls) == 2


def test_the_prefecture_reads_its_counties_compared_with_a_map_of_one_shape_per_county(county_world):
    w = county_world
    response = login(w.users["prefecture"]).get("/reports/oversight/")
    assert response.status_code == 200
    html = response.content.decode()
    fig = figures.oversight_figures(w.users["prefecture"], w.p.prefecture)
    assert "洛阳市" in html and "栾川县" in html and "嵩县" in html
    svg = svg_of(html)
    shapes = re.findall(r'<path class="county" data-code="(\d+)" d="[^"]+" fill="(#[0-9a-f]{6})"', svg)
    assert shapes == [(c["code"], svgmap.progress_colour(c["overall"])) for c in fig["counties"]]
    for c in fig["counties"]:  # each county labelled with its name and its overall rate
        assert f">{c['name']}</text>" in svg
        assert f">{'—' if c['overall'] is None else format(c['overall'], 'g') + '%'}</text>" in svg
    # the counties table: a row per county linking to its county report, and the total
    table = html[html.index('id="counties"'):]
    table = table[:table.index("</table>")]
    assert f'href="/reports/county/?county={w.p.county_b.code}"' in table
    assert table.count("<tr") == 1 + 2 + 1
    alerts = html[html.index('id="alerts"'):]
    alerts = alerts[:alerts.index("</table>")]
    assert alerts.count("<tr") == 1 + len(ALL_RULES) + 1
    # colour by another task: the same shapes, coloured by that rate
    other = login(w.users["prefecture"]).get("/reports/oversight/?by=verification").content.decode()
    assert re.findall(r'<path class="county" data-code="(\d+)" d="[^"]+" fill="(#[0-9a-f]{6})"', svg_of(other)) == [
        (c["code"], svgmap.progress_colour(c["rates"]["verification"])) for c in fig["counties"]]
    assert 'href="/reports/oversight.pdf?by=verification"' in other


def pdf_text(data: bytes) -> str:
    return subprocess.run([shutil.which("pdftotext"), "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def test_the_pdf_has_the_tables_and_the_map_drawn(county_world, tmp_path):
    from PIL import Image

    w = county_world
    response = login(w.users["prefecture"]).get("/reports/oversight.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    data = content(response)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "洛阳市" in text and "栾川县" in text and "嵩县" in text
    for rule in ALL_RULES.values():
        assert str(rule.title)[:6] in text.replace(" ", "")
    # the map: its counties' fill colours are on the first page
    (tmp_path / "doc.pdf").write_bytes(data)
    subprocess.run([shutil.which("pdftoppm"), "-r", "40", "-f", "1", "-l", "1", "-png", str(tmp_path / "doc.pdf"),
                    str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    raw = page.tobytes()
    colours = Counter(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))
    fig = figures.oversight_figures(w.users["prefecture"], w.p.prefecture)
    for c in fig["counties"]:
        fill = svgmap.progress_colour(c["overall"])
        rgb = tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
        assert colours[rgb] > 50, (c["name"], fill)


def test_the_workbook_has_the_counties_and_the_alerts_by_rule(county_world):
    w = county_world
    response = login(w.users["prefecture"]).get("/reports/oversight.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(content(response)))
    fig = figures.oversight_figures(w.users["prefecture"], w.p.prefecture)
    compared = list(book.worksheets[1].iter_rows(values_only=True))
    assert [r[0] for r in compared[1:4]] == ["栾川县", "嵩县", "合计"]  # then the note
    assert [r[1:4] for r in compared[1:3]] == [(c["code"], c["villages"], c["total"]) for c in fig["counties"]]
    alerts = list(book.worksheets[2].iter_rows(values_only=True))
    assert alerts[0][2:] == ("栾川县", "嵩县", "合计")
    by_title = {r[1]: r[2:5] for r in alerts[1:] if r[1]}
    for r in fig["rules"]:
        assert by_title[r["title"]] == (*r["counts"], r["total"])
    assert any(r["total"] for r in fig["rules"])


@pytest.mark.parametrize("role", COUNTY_ROLES)
def test_county_bodies_are_refused(county_world, role):
    client = login(county_world.users[role])
    assert [client.get(url).status_code for url in URLS] == [403, 403, 403]


def test_the_public_is_sent_to_log_in_and_the_superuser_may_read(county_world):
    assert Client().get("/reports/oversight/").status_code == 302
    assert login(county_world.root).get("/reports/oversight/").status_code == 200


def test_another_prefecture_is_refused_and_what_is_no_prefecture_not_found(county_world):
    w = county_world
    AdminArea.objects.create(code="410400000000", name="平顶山市", level=AreaLevel.PREFECTURE, geom=w.p.prefecture.geom)
    client = login(w.users["prefecture"])
    for url in URLS:
        assert client.get(f"{url}?area=410400000000").status_code == 403
        assert client.get(f"{url}?area=410000000000").status_code == 404  # no such area
        assert client.get(f"{url}?area={w.p.county_b.code}").status_code == 404  # a county: its own report
        assert client.get(f"{url}?area=%3Cx%3E").status_code == 404


def test_a_province_reads_itself_and_each_prefecture_below_but_a_prefecture_not_its_province(county_world):
    w = county_world
    province = AdminArea.objects.create(code="410000000000", name="河南省", level=AreaLevel.PROVINCE,
                                        geom=w.p.prefecture.geom)
    AdminArea.objects.filter(pk=w.p.prefecture.pk).update(parent=province)
    client = login(make_user("province", Role.PROVINCE, area=province))
    own = client.get("/reports/oversight/").content.decode()
    assert "河南省" in own and f'href="/reports/oversight/?area={w.p.prefecture.code}"' in own
    assert len(re.findall(r'<path class="county"', svg_of(own))) == 2
    below = client.get(f"/reports/oversight/?area={w.p.prefecture.code}")
    assert below.status_code == 200
    html = below.content.decode()
    assert f'href="/reports/oversight/?area={province.code}"' in html  # back up to the province
    assert 'href="/reports/oversight.pdf?area=410300000000"' in html
    assert client.get(f"/reports/oversight.xlsx?area={w.p.prefecture.code}").status_code == 200
    assert login(w.users["prefecture"]).get(f"/reports/oversight/?area={province.code}").status_code == 403


def test_area_names_are_escaped_in_the_map_the_page_and_the_workbook(county_world):
    w = county_world
    AdminArea.objects.filter(pk=w.p.county_b.pk).update(name='<script>alert("嵩")</script>')
    client = login(w.users["prefecture"])
    html = client.get("/reports/oversight/").content.decode()
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&quot;嵩&quot;)&lt;/script&gt;" in svg_of(html)
    assert html.count("&lt;script&gt;") >= 4  # map label and title, table row, alerts column
    assert client.get("/reports/oversight.pdf").status_code == 200
    book = load_workbook(io.BytesIO(content(client.get("/reports/oversight.xlsx"))))
    assert '<script>alert("嵩")</script>' in book.worksheets[2][1][3].value


def test_the_reports_index_and_the_dashboard_link_to_it_for_the_bureaus_only(county_world):
    w = county_world
    for page in ("/reports/", "/dashboard/"):
        assert 'href="/reports/oversight/"' in login(w.users["prefecture"]).get(page).content.decode()
        assert 'href="/reports/oversight/"' not in login(w.users["admin_a"]).get(page).content.decode()


@pytest.mark.parametrize("value", ["", "0", "4103", "x" * 5000, "' OR 1=1 --", "%", "_", "41030000000%", "\u202e",
                                   "410300000000\n"])
def test_odd_query_values_answer_within_the_rules(county_world, value):
    client = login(county_world.root)
    for url in URLS:
        status = client.get(url, {"area": value, "by": value}).status_code
        assert status in (200, 404), (url, value, status)


def test_the_pdfs_alerts_table_is_split_by_counties_and_keeps_every_count(county_world):
    from reports.views import oversight_tables

    w = county_world
    fig = figures.oversight_figures(w.users["prefecture"], w.p.prefecture)
    compared, *alerts = oversight_tables(fig, counties_per_table=1)
    assert [t.title for t in alerts] == ["各县预警（按规则）（第1–1个县，共2个）", "各县预警（按规则）（第2–2个县，共2个）"]
    assert [label for label, _kind in alerts[0].columns] == ["级别", "规则", "栾川县"]
    assert [label for label, _kind in alerts[1].columns] == ["级别", "规则", "嵩县", "合计"]
    for i, rule in enumerate(fig["rules"]):
        assert alerts[0].rows[i][2:] == rule["counts"][:1]
        assert alerts[1].rows[i][2:] == [*rule["counts"][1:], rule["total"]]
    assert compared.rows[-1][0] == "合计" and compared.rows[-1][2:4] == [5, 4]

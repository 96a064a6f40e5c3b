"""Issue 21 item 19, the layout of reports: no word broken one character per line in the PDFs (read back with
pdftotext -layout), amounts written once (|wan). The pages in Chromium: tests/reports/test_layout_browser.py."""

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from geo_assets.amounts import format_wan
from geo_assets.models import AdminArea, Asset, Department
from geo_assets.taxonomy import (
    AssetStatus,
    AssetType,
    Category,
    FundingSourceKind,
    OwnerKind,
    PlanPurpose,
    PlanStatus,
    PublicityStage,
    RegistrationStatus,
)
from reports.alerts import LEVEL_LABELS
from reports.tables import headline, report_tables
from verification.taxonomy import Finding

# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize("value, text", [
    (Decimal("5.0000"), "5"), (Decimal("5.5000"), "5.5"), (Decimal("1234.5600"), "1,234.56"),
    (Decimal("0.0350"), "0.035"), (Decimal("100000"), "100,000"), ("5.0000", "5"), (0, "0"), (None, "—"),
    (Decimal("-0.0000"), "0"), (12.5, "12.5"),
])
def test_amounts_in_wan_are_written_without_trailing_zeros(value, text):
    assert format_wan(value) == text


TRAILING = re.compile(r"\d\.\d*0(?![\d%])")  # 5.0000, 5.50, 1,234.10 (not 93.8%, not dates)


def amounts_in(html: str) -> list[str]:
    """Every number written next to 万元 or in a money cell of the page."""
    found = re.findall(r"([\d,]+(?:\.\d+)?)\s*万元", html)
    found += re.findall(r'class="(?:money|num)[^"]*">\s*([\d,]+(?:\.\d+)?)\s*<', html)
    return found


def test_report_pages_write_amounts_once(demo_county):
    """Reports (HTML, and the PDF from the same template) write every amount as |wan does: no "5.0000"."""
    client = Client()
    client.force_login(demo_county)
    village = AdminArea.objects.villages().filter(village_assets__isnull=False).order_by("code").first()
    department = Department.objects.filter(asset__isnull=False).order_by("name").first()
    urls = [f"/reports/villages/{village.code}/", f"/reports/townships/{village.parent.code}/", "/reports/county/",
            f"/reports/departments/{department.pk}/", f"/public/villages/{village.code}/",
            f"/villages/{village.code}/", f"/assets/{Asset.objects.filter(village=village).first().code}/"]
    for url in urls:
        html = client.get(url).content.decode()
        amounts = amounts_in(html)
        assert amounts, url
        assert not [a for a in amounts if TRAILING.search(a)], (url, [a for a in amounts if TRAILING.search(a)])


def test_lifecycle_pages_and_notices_write_amounts_once(demo_county):
    from geo_assets.models import DistributionPlan, PublicityNotice

    client = Client()
    client.force_login(demo_county)
    plans = DistributionPlan.objects.select_related("village")
    assert plans.exists()
    urls = [f"/villages/{p.village.code}/plans/" for p in plans] + [
        f"/villages/{p.village.code}/plans/{p.year}/" for p in plans]
    urls += [f"/notices/{n.token}/" for n in PublicityNotice.objects.all()]
    urls += [f"/assets/{a.code}/" for a in Asset.objects.filter(income__isnull=False).distinct()[:5]]
    checked = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        amounts = amounts_in(response.content.decode())
        checked += len(amounts)
        assert not [a for a in amounts if TRAILING.search(a)], (url, [a for a in amounts if TRAILING.search(a)])
    assert checked > 10


# ---------------------------------------------------------------- report PDFs: no word broken across lines


def pdf_lines(content: bytes) -> list[str]:
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext (Debian poppler-utils) is needed"
    return subprocess.run([exe, "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode(
    ).splitlines()


CJK = re.compile(r"^[\u4e00-\u9fff]+$")


def vocabulary(user) -> set[str]:
    """Short words a report writes in its cells and headings: labels, area names, column headings."""
    words = {str(label) for choices in (AssetType, Category, AssetStatus, RegistrationStatus, PlanStatus,
                                        PlanPurpose, PublicityStage, FundingSourceKind, Finding, OwnerKind)
             for _value, label in choices.choices}
    words |= set(LEVEL_LABELS.values()) | set(AdminArea.objects.values_list("name", flat=True)) | {"北", "合同", "红", "黄", "蓝"}
    words |= set(Asset.objects.values_list("unit", flat=True))  # 2 处, 1 座
    from reports import figures

    village = AdminArea.objects.villages().filter(village_assets__isnull=False).order_by("code").first()
    for area in (AdminArea.objects.get(level="county"), village):
        fig = figures.report_figures(figures.area_scope(user, area), timezone.localdate().year - 1)
        for table in report_tables(fig, user):
            words |= {piece for label, _kind in table.columns for piece in re.split(r"[（）]", label) if piece}
        words |= {label for label, _value in headline(fig)}
    return {w for w in words if CJK.match(w)}


def broken_words(lines: list[str], words: set[str]) -> list[str]:
    """Tokens that begin a short known word but are not a word themselves: 种养殖基 (its 地 on the next line)."""
    short = [w for w in words if len(w) <= 8]
    found = []
    for line in lines:
        for token in line.split():
            if not CJK.match(token) or token in words:
                continue
            if any(len(token) < len(w) and w.startswith(token) for w in short):
                found.append(f"{token} in: {line.strip()}")
    return found


@pytest.mark.parametrize("kind", ["village", "township", "county", "department"])
def test_report_pdfs_break_no_short_word(demo_county, kind):
    client = Client()
    client.force_login(demo_county)
    village = AdminArea.objects.villages().filter(village_assets__isnull=False).order_by("code").first()
    department = Department.objects.filter(asset__isnull=False).order_by("name").first()
    url = {"village": f"/reports/villages/{village.code}.pdf", "township": f"/reports/townships/{village.parent.code}.pdf",
           "county": "/reports/county.pdf", "department": f"/reports/departments/{department.pk}.pdf"}[kind]
    response = client.get(url)
    assert response.status_code == 200
    lines = pdf_lines(response.content)
    words = vocabulary(demo_county)
    assert len(words) > 80
    assert broken_words(lines, words) == []

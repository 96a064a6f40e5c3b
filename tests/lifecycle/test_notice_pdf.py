"""Issue 21 item 12: a posted notice's PDF is rendered once (its content is frozen); later requests, anonymous or
not, are served the kept file without rendering again."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from geo_assets import pdf as pdf_module
from geo_assets.taxonomy import PublicityScope, PublicityStage, Role
from lifecycle import services
from tests.factories import make_admin, make_areas, make_asset, make_user


@pytest.fixture
def notice(db):
    areas = make_areas()
    admin = make_admin()
    make_asset(actor=admin, area=areas.west_south, name="西南村道路", is_published=True)
    clerk = make_user("westsouth", Role.VILLAGE, area=areas.west_south)
    today = timezone.localdate()
    return admin, services.notice_post(actor=clerk, stage=PublicityStage.INVENTORY, scope=PublicityScope.VILLAGE_BOARD,
                                 area=areas.west_south, starts_on=today, ends_on=today + datetime.timedelta(days=6))


def test_second_request_does_not_render_again(notice, monkeypatch):
    admin, notice = notice
    renders = []
    original = pdf_module.html_pdf

    def counting(html):
        renders.append(len(html))
        return original(html)

    monkeypatch.setattr(pdf_module, "html_pdf", counting)
    url = f"/notices/{notice.token}.pdf"
    first = Client().get(url)
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-") and len(renders) == 1
    for _ in range(3):
        again = Client().get(url)
        assert again.status_code == 200 and again.content == first.content
    staff = Client()
    staff.force_login(admin)
    assert staff.get(url).content == first.content
    assert len(renders) == 1  # rendered once, served four more times


def test_what_the_page_shows_changes_the_file(notice, monkeypatch):
    """Keyed by the HTML: a change in what is shown (here another host in the QR code) renders anew, never stale."""
    _admin, notice = notice
    renders = []
    original = pdf_module.html_pdf
    monkeypatch.setattr(pdf_module, "html_pdf", lambda html: renders.append(1) or original(html))
    url = f"/notices/{notice.token}.pdf"
    Client().get(url)
    Client().get(url, secure=True)
    assert len(renders) == 2
    Client().get(url, secure=True)
    assert len(renders) == 2

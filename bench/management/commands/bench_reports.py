"""Times the reports on the loaded data: every village's report (figures, tables, map), the county report, and
optionally some village PDFs. Prints figures, not a pass/fail: speed is measured, not asserted (DESIGN.md §6)."""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Q
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from geo_assets.models import AdminArea
from geo_assets.taxonomy import AreaLevel, Role
from reports import figures, svgmap, views
from reports.tables import report_tables


class Command(BaseCommand):
    help = "测量报告生成速度：每个村的报告数据和地图、全县报告，以及（可选）若干份村级 PDF。"

    def add_arguments(self, parser):
        parser.add_argument("--pdf", type=int, default=0, help="also render this many village PDFs")
        parser.add_argument("--limit", type=int, default=0, help="only the first N villages")
        parser.add_argument("--user", default="", help="whose view (default: the first superuser or county admin)")

    def handle(self, *args, pdf: int, limit: int, user: str, **options):
        users = get_user_model().objects.filter(is_active=True).order_by("-is_superuser", "pk")
        user = (users.filter(username=user) if user else users.filter(
            Q(is_superuser=True) | Q(memberships__role=Role.COUNTY_ADMIN))).first()
        county = AdminArea.objects.filter(level=AreaLevel.COUNTY).first()
        if user is None or county is None:
            raise CommandError("没有数据或没有县级管理员：请先运行 manage.py load_demo。")
        villages = list(AdminArea.objects.villages().with_parent().order_by("code"))[: limit or None]
        times, queries = [], []
        for village in villages:
            seconds, count = self._time(user, village, lambda s, fig, v=village: svgmap.village_map(v, s.active))
            times.append(seconds)
            queries.append(count)
        self.stdout.write(f"村级报告 {len(villages)} 个：合计 {sum(times):.2f} s，中位数 {statistics.median(times) * 1000:.0f} ms，"
                          f"最长 {max(times) * 1000:.0f} ms；每个 {min(queries)}–{max(queries)} 条 SQL")
        for area, outline in ((villages[0].parent, None), (county, AreaLevel.TOWNSHIP)):
            seconds, count = self._time(user, area, lambda s, fig, o=outline: views._choropleth(s, o)(fig))
            kind = "乡镇报告" if area.level == AreaLevel.TOWNSHIP else "全县报告"
            self.stdout.write(f"{kind}（{area.name}）：{seconds * 1000:.0f} ms，{count} 条 SQL")
        if pdf:
            factory = RequestFactory(HTTP_HOST="localhost")
            sizes, t0 = [], time.perf_counter()
            for village in villages[:pdf]:
                request = factory.get(f"/reports/villages/{village.code}.pdf")
                request.user = user
                sizes.append(len(views.village_report(request, village.code, fmt="pdf").content))
            each = (time.perf_counter() - t0) / len(sizes)
            self.stdout.write(f"村级 PDF {len(sizes)} 份：每份 {each * 1000:.0f} ms，平均 {sum(sizes) / len(sizes) / 1024:.0f} KB")

    def _time(self, user, area, draw) -> tuple[float, int]:
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            scope = figures.area_scope(user, area)
            fig = figures.report_figures(scope)
            report_tables(fig, user)
            draw(scope, fig)
        return time.perf_counter() - t0, len(captured)

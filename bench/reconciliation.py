"""Issue 17: how long the reconciliation (账账相符) takes for n and 10 n projects — is it linear, and a handful of
statements whatever n?

    .venv/bin/python -m bench.reconciliation [200 2000]     (against DATABASE_URL; everything it writes is rolled back)

For each size it writes, inside one transaction rolled back at the end, a ledger of n projects (three fund lines
each, some without a document number; a tenth of them forming no asset by their kind, some relocation, some before
the first year) and 1.5 n assets (most formed by one project, some by two, a fifth by none), then times, as a county
administrator: projects.reconciliation.reconcile (and its statements), the page /reconciliation/, the API, the
workbook and the PDF (whose long lists are capped at reports.views.PDF_ROWS_MAX rows: WeasyPrint's time grows with
the rows it lays out), and the county's 2024 ledger as a workbook and a PDF (every row: a ledger is complete). `run(sizes)` returns the rows; tests/bench/test_reconciliation_smoke.py runs it tiny."""

import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.kit import timed_median  # noqa: E402 - after the path above

SOURCES = ("central", "provincial", "county", "integrated", "social")
KINDS = ("infrastructure",) * 10 + ("industry",) * 4 + ("insurance", "direct_subsidy", "relocation")


def _ledger(n: int, tag: str) -> None:
    """n projects, 3 n fund lines, 1.5 n assets in a county of its own (codes prefixed by `tag`)."""
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon

    from geo_assets.models import SRID, AdminArea, Asset
    from projects.models import FundLine, Project, ProjectAsset

    rng = random.Random(n)

    def box(x0, y0, x1, y1):
        return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=SRID)

    county = AdminArea.objects.create(code=f"{tag}000000", name=f"{tag}县", level="county", geom=box(0, 0, 10, 10))
    townships, villages = [], []
    for t in range(4):
        township = AdminArea.objects.create(code=f"{tag}{t + 1:03d}000", name=f"{tag}镇{t}", level="township",
                                            geom=box(t * 2.5, 0, t * 2.5 + 2.5, 10), parent=county)
        townships.append(township)
        for v in range(5):
            villages.append(AdminArea.objects.create(code=f"{tag}{t + 1:03d}{v + 1:03d}", name=f"{tag}村{t}-{v}",
                                                     level="village", geom=box(t * 2.5, v * 2, t * 2.5 + 2.5,
                                                                               v * 2 + 2), parent=township))
    projects = Project.objects.bulk_create([
        Project(code=f"{tag}-P{i:06d}", name=f"项目{i}", year=rng.choice((2022, 2024, 2024, 2025, 2025, 2026)),
                kind=rng.choice(KINDS), status=rng.choice(("accepted", "accepted", "completed", "under_way")),
                township=townships[i % 4]) for i in range(n)])
    for p in projects:
        if p.status == "accepted":
            Project.objects.filter(pk=p.pk).update(accepted_on=f"{p.year}-12-01")
    through = Project.villages.through
    through.objects.bulk_create([through(project_id=p.pk, adminarea_id=villages[(i % 4) * 5 + rng.randrange(5)].pk)
                                 for i, p in enumerate(projects)])
    lines = []
    for p in projects:
        for j, source in enumerate(rng.sample(SOURCES, 3)):
            allocated = Decimal(rng.randrange(10, 500))
            lines.append(FundLine(project=p, source=source, year=p.year, allocated=allocated,
                                  disbursed=allocated - Decimal(rng.randrange(0, 5)),
                                  document_number="" if rng.random() < 0.03 else f"{tag}财〔{p.year}〕{p.pk}-{j}号"))
    FundLine.objects.bulk_create(lines)
    assets = Asset.objects.bulk_create([
        Asset(code=f"{tag}-A{i:06d}", name=f"资产{i}", category="public_welfare", asset_type="road",
              point=Point(rng.uniform(0.1, 9.9), rng.uniform(0.1, 9.9), srid=SRID), village=village,
              township_id=village.parent_id, year_built=rng.choice((2024, 2025, None)),
              total_investment=Decimal(rng.randrange(10, 900)))
        for i, village in enumerate(rng.choice(villages) for _ in range(n * 3 // 2))])
    links = []
    for i, asset in enumerate(assets):
        if i % 5 == 0:
            continue  # a fifth formed by no project
        first = projects[i % n]
        links.append(ProjectAsset(project=first, asset=asset))
        if i % 7 == 0:
            links.append(ProjectAsset(project=projects[(i + 1) % n], asset=asset, amount=Decimal(5)))
    ProjectAsset.objects.bulk_create(links, ignore_conflicts=True)


def measure(n: int, *, repeat: int = 3, pdf: bool = True) -> dict:
    """The timings (median seconds) and statements for a ledger of n projects, all rolled back."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from projects.reconciliation import reconcile

    result = {"projects": n}
    with transaction.atomic():
        tag = f"9{n % 100000:05d}"[:6]
        start = time.perf_counter()
        _ledger(n, tag)
        result["build_s"] = time.perf_counter() - start
        user = get_user_model().objects.create_superuser(f"bench-reconciliation-{n}", password=None)
        with CaptureQueriesContext(connection) as queries:
            rec = reconcile(user)
        result["statements"] = len(queries.captured_queries)
        result["findings"] = rec.finding_count
        result["reconcile_s"] = timed_median(lambda: reconcile(user), repeat)
        client = Client(HTTP_HOST="localhost")  # ALLOWED_HOSTS outside the test runner
        client.force_login(user)
        from geo_assets.models import Asset

        result["ledger_rows"] = Asset.objects.filter(code__startswith=f"{tag}-", year_built=2024).count()
        ledger = "/reports/ledgers/county/2024"
        for name, url in (("page_s", "/reconciliation/"), ("api_s", "/api/v1/reconciliation/"),
                          ("xlsx_s", "/reconciliation.xlsx"), ("ledger_xlsx_s", f"{ledger}.xlsx")) + ((
                              ("pdf_s", "/reconciliation.pdf"), ("ledger_pdf_s", f"{ledger}.pdf")) if pdf else ()):
            def get(url=url):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            result[name] = timed_median(get, 1 if name.endswith("pdf_s") else repeat)
        transaction.set_rollback(True)
    return result


def run(sizes: list[int], *, repeat: int = 3, pdf: bool = True) -> list[dict]:
    return [measure(n, repeat=repeat, pdf=pdf) for n in sizes]


def main(sizes: list[int]) -> None:
    import django

    django.setup()
    columns = ("projects", "statements", "findings", "build_s", "reconcile_s", "page_s", "api_s", "xlsx_s", "pdf_s",
               "ledger_rows", "ledger_xlsx_s", "ledger_pdf_s")
    print(" ".join(f"{c:>11}" for c in columns))
    for row in run(sizes):
        print(" ".join(f"{row[c]:>11.2f}" if isinstance(row[c], float) else f"{row[c]:>11}" for c in columns),
              flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 2000])

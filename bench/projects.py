"""Measuring the import of the project list and the fund ledger (issue 17: "a real-looking ledger of 2,000 projects
and 6,000 fund lines takes seconds, not minutes"), for `manage.py bench_import_projects` and `manage.py bench`.

A deterministic pair of workbooks as the finance bureau sends them — a title row and a unit note above the header,
header variants (国扶系统项目编码, 实施单位, 牵头部门, 实施村, 资金性质, 指标文号, 到位资金（元）, 已支出(元)), Chinese
dates, several villages in one cell, each project's code merged over its fund lines, amounts in yuan — over the
loaded villages; then, in this process and in a transaction rolled back after the clock stops: the project list's
import, the fund ledger's, each file again (nothing changes: the idempotent path), and the anchor, Django
bulk_create of the same projects and fund lines without any check, history or villages.
"""

import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from bench.kit import peak_rss_mb, row
from geo_assets.models import AdminArea, Department
from geo_assets.taxonomy import AreaLevel

KINDS = ("村基础设施", "产业发展", "到户扶持", "村集体经济", "光伏扶贫", "就业扶贫", "教育扶贫", "健康扶贫", "文化体育",
         "小额信贷贴息")  # i18n: data
SOURCES = ("中央财政专项扶贫资金", "省级财政专项扶贫资金", "市级财政专项扶贫资金", "县级财政专项扶贫资金", "统筹整合涉农资金",
           "社会扶贫资金", "捐赠实物（折价）", "其他")  # i18n: data
PROJECT_HEADER = ("序号", "国扶系统项目编码", "项目名称", "年度", "项目类型", "实施单位", "牵头部门", "乡镇", "实施村", "批复文号",
                  "开工时间", "完工日期", "竣工验收日期", "验收文件", "状态")  # i18n: data
FUND_HEADER = ("国扶系统项目编码", "项目名称", "资金性质", "指标文号", "下达年度", "到位资金（元）", "已支出(元)")  # i18n: data
KIND_CODES = {"村基础设施": "infrastructure", "产业发展": "industry", "到户扶持": "household", "村集体经济": "collective",  # i18n: data
              "光伏扶贫": "pv", "就业扶贫": "employment", "教育扶贫": "education", "健康扶贫": "health",  # i18n: data
              "文化体育": "culture", "小额信贷贴息": "interest_subsidy"}  # i18n: data
SOURCE_CODES = dict(zip(SOURCES, ("central", "provincial", "municipal", "county", "integrated", "social", "donation",
                                  "other"), strict=True))


def ledgers_generate(folder: Path, *, projects: int, lines: int, seed: int = 17) -> tuple[Path, Path, list, list]:
    """Write projects.xlsx and funds.xlsx (`projects` projects, `lines` fund lines spread over them); returns the
    paths and the rows (for the bulk_create anchor)."""
    import openpyxl

    villages = list(AdminArea.objects.filter(level=AreaLevel.VILLAGE).with_parent().order_by("code")
                    .defer("geom", "geom_web"))
    if not villages:
        raise ValueError("no villages: load areas first (manage.py load_demo)")
    departments = list(Department.objects.order_by("name").values_list("name", flat=True)) or [""]
    rnd = random.Random(seed)
    prows, frows = [], []
    for i in range(projects):
        village = villages[i % len(villages)]
        year = 2024 + i % 3
        served = [village] + ([villages[(i + 1) % len(villages)]] if i % 7 == 0 and
                              villages[(i + 1) % len(villages)].parent_id == village.parent_id else [])
        kind = KINDS[i % len(KINDS)]
        prows.append({"code": f"BENCH{year}-{i:06d}", "name": f"{year}年{village.name}扶贫项目{i}", "year": year,  # i18n: data
                      "kind": kind, "implementing_unit": f"{village.parent.name}人民政府",  # i18n: data
                      "department": departments[i % len(departments)], "township": village.parent.name,
                      "villages": "、".join(v.name for v in served), "approval": f"栾扶组〔{year}〕{i}号",  # i18n: data
                      "started": f"{year}年3月{1 + i % 28}日", "completed": f"{year}-06-{1 + i % 28:02d}",  # i18n: data
                      "accepted": f"{year}/7/{1 + i % 28}", "acceptance": f"验〔{year}〕{i}号",  # i18n: data
                      "status": "已验收"})  # i18n: data
    per = [lines // projects + (1 if i < lines % projects else 0) for i in range(projects)]
    for i, count in enumerate(per):
        p = prows[i]
        for j in range(count):
            source = SOURCES[(i + j) % len(SOURCES)]
            allocated = rnd.randrange(10_000, 2_000_000)
            frows.append({"code": p["code"], "name": p["name"], "source": source,
                          "document": f"豫财农〔{p['year']}〕{i}-{j}号" if j % 4 != 3 else "",  # i18n: data
                          # no document number: an earlier year's allocation (one per source and year)
                          "year": p["year"] if j % 4 != 3 else p["year"] - 1 - j // len(SOURCES),
                          "allocated": allocated, "disbursed": allocated - rnd.randrange(0, allocated // 5)})
    project_path, fund_path = folder / "projects.xlsx", folder / "funds.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["栾川县巩固拓展脱贫攻坚成果项目库（基准）"])  # i18n: data
    ws.append(["填报单位：县乡村振兴局", None, None, None, None, None, None, None, None, None, None, None, None,  # i18n: data
               "单位：项"])  # i18n: data
    ws.append(list(PROJECT_HEADER))
    for n, p in enumerate(prows, start=1):
        ws.append([n, p["code"], p["name"], f"{p['year']}年", p["kind"], p["implementing_unit"], p["department"],  # i18n: data
                   p["township"], p["villages"], p["approval"], p["started"], p["completed"], p["accepted"],
                   p["acceptance"], p["status"]])
    ws.append(["合计", projects])  # i18n: data
    wb.save(project_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["栾川县财政衔接推进乡村振兴补助资金台账（基准）"])  # i18n: data
    ws.append(list(FUND_HEADER))
    first = 3
    for f in frows:
        ws.append([f["code"], f["name"], f["source"], f["document"], f["year"], f["allocated"], f["disbursed"]])
    start = first
    for number in range(first, first + len(frows) + 1):  # each project's code and name merged over its lines
        if number == first + len(frows) or frows[number - first]["code"] != frows[start - first]["code"]:
            if number - 1 > start:
                _merge_down(ws, start, number - 1, columns=(1, 2))
            start = number
    ws.append(["合计", None, None, None, None, sum(f["allocated"] for f in frows)])  # i18n: data
    wb.save(fund_path)
    return project_path, fund_path, prows, frows


def _merge_down(ws, first: int, last: int, *, columns) -> None:
    """ws.merge_cells without its cost: openpyxl checks each new range against every earlier one (quadratic: 4,000
    merged codes take minutes) and redraws borders; here the range is added and its lower cells emptied."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.merge import MergedCellRange

    for column in columns:
        letter = get_column_letter(column)
        ws.merged_cells.ranges.add(MergedCellRange(ws, f"{letter}{first}:{letter}{last}"))
        for number in range(first + 1, last + 1):
            ws._cells[number, column] = MergedCell(ws, number, column)


def _bulk_create(prows: list, frows: list) -> None:
    """The anchor: the same rows through Django bulk_create, without checks, villages or history."""
    from projects.models import FundLine, Project

    departments = dict(Department.objects.values_list("name", "pk"))
    townships = dict(AdminArea.objects.filter(level=AreaLevel.TOWNSHIP).values_list("name", "pk"))
    created = Project.objects.bulk_create([
        Project(code=p["code"], name=p["name"], year=p["year"], kind=KIND_CODES[p["kind"]],
                implementing_unit=p["implementing_unit"], department_id=departments.get(p["department"]),
                township_id=townships.get(p["township"]), approval_document=p["approval"],
                acceptance_document=p["acceptance"], status="accepted") for p in prows], batch_size=2000)
    ids = {p.code: p.pk for p in created}
    FundLine.objects.bulk_create([
        FundLine(project_id=ids[f["code"]], source=SOURCE_CODES[f["source"]], document_number=f["document"],
                 year=f["year"], allocated=Decimal(f["allocated"]) / 10000, disbursed=Decimal(f["disbursed"]) / 10000)
        for f in frows], batch_size=2000)


def bench(*, projects: int = 2000, lines: int = 6000, log=print) -> dict:
    """Generate the two workbooks, then time each import (and again, unchanged) and the bulk_create anchor; every
    write is rolled back. Returns the figures in seconds."""
    from importers.services import actor_resolve, funds_import, projects_import

    settings.DEBUG = False  # as in production: Django keeps no list of every statement
    actor = actor_resolve(username=None)
    result: dict = {"projects": projects, "lines": lines}
    with tempfile.TemporaryDirectory(prefix="bench-projects-") as tmp:
        started = time.perf_counter()
        project_path, fund_path, prows, frows = ledgers_generate(Path(tmp), projects=projects, lines=lines)
        result["generate"] = round(time.perf_counter() - started, 2)
        log(f"{projects} projects, {lines} fund lines: {project_path.stat().st_size / 1e6:.1f} + "
            f"{fund_path.stat().st_size / 1e6:.1f} MB written in {result['generate']:.1f} s")
        with transaction.atomic():
            for name, run in (("projects_import", lambda: projects_import(actor=actor, path_or_file=project_path)),
                              ("funds_import", lambda: funds_import(actor=actor, path_or_file=fund_path)),
                              ("projects_again", lambda: projects_import(actor=actor, path_or_file=project_path)),
                              ("funds_again", lambda: funds_import(actor=actor, path_or_file=fund_path))):
                started = time.perf_counter()
                report = run()
                result[name] = round(time.perf_counter() - started, 4)
                if report.invalid or not report.written:
                    raise RuntimeError(f"{name}: {report.invalid} invalid rows: {report.errors[:3]}")
                expected = projects if name.startswith("projects") else len(frows)
                done = report.created if not name.endswith("again") else report.unchanged
                if done != expected:
                    raise RuntimeError(f"{name}: {done} of {expected} rows ({report.to_dict()['created']} created)")
                log(f"{name}: {result[name]:.2f} s ({report.read} rows, {report.created} created, "
                    f"{report.unchanged} unchanged)")
            transaction.set_rollback(True)
        with transaction.atomic():
            started = time.perf_counter()
            _bulk_create(prows, frows)
            result["bulk_create"] = round(time.perf_counter() - started, 4)
            transaction.set_rollback(True)
        log(f"bulk_create (no checks, villages or history): {result['bulk_create']:.2f} s")
    result["import"] = round(result["projects_import"] + result["funds_import"], 4)
    result["rss_mb"] = round(peak_rss_mb() or 0)
    return result


# ------------------------------------------------------------------------ the `projects` benchmark of `manage.py bench`

PROJECT_CASES = [(2000, 6000), (20000, 60000)]  # the ledger, and ten times it
TARGET_SECONDS = 10.0  # the "seconds, not minutes" for 2,000 projects and 6,000 fund lines


def projects_benchmark(options) -> list[dict]:
    """Both imports end to end (seconds) at the issue's size and ten times it, against bulk_create of the rows."""
    rows = []
    for projects, lines in PROJECT_CASES:
        if options.quick:
            projects, lines = 6, 18
        else:
            projects, lines = max(int(projects * options.scale), 6), max(int(lines * options.scale), 18)
        runs = [bench(projects=projects, lines=lines, log=lambda line: print("  " + line, flush=True))
                for _ in range(options.repeat)]
        median = {k: statistics.median(r[k] for r in runs) for k in ("import", "bulk_create", "projects_again",
                                                                       "funds_again")}
        label = f"import {projects:,} projects + {lines:,} fund lines"
        extra = {"seconds": median["import"], "again_seconds": round(median["projects_again"] + median["funds_again"], 2)}
        rows.append(row(f"{label} vs bulk_create", median["import"], "s", median["bulk_create"], "bulk_create (no "
                        "checks, villages, history)", None, higher_is_better=False, **extra))
        if (projects, lines) == (2000, 6000) and not options.quick:
            rows.append(row(f"{label} vs the issue's target", median["import"], "s", TARGET_SECONDS,
                            "10 s (seconds, not minutes)", 1.0, higher_is_better=False, **extra))
        if options.quick:
            break
    return rows

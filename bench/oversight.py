"""Issue 19 benchmark of the pages above one village (`manage.py bench --only oversight`): on the benchmark province,

* **alert tally** — every alert of the register counted per village and rule (`reports.services.alert_tally_refresh`,
  run every 10 minutes by a timer), against TALLY_BUDGET_S;
* **dashboard** — `/dashboard/` as the province's bureau (every county side by side: every village's rates and alert
  counts, the alerts from the tally), rendered by Django's test client in this process, against its anchor: the
  dashboard's figures alone (`reports.figures.workplan_progress`);
* **county report** — `/reports/county/` of the first county as that county's administrator, and its anchor: the
  report's figures (`reports.figures.report_figures`) without the page;
* **oversight report** — `/reports/oversight/` and its PDF as the province's bureau, against the dashboard's figures
  of the area (`workplan_progress(within=…)`);
* **alert list** — `/alerts/` of the first county as its administrator (one page of alerts and the counts per
  rule), against its one statement (`reports.alerts.alerts_paged`).

Times are medians of `repeat` runs; each row says the page against its anchor (target: the page costs at most
PAGE_OVER_FIGURES × the figures it shows, and answers within PAGE_BUDGET_S seconds).
"""


from bench.kit import bench_user, row, timed_median

PAGE_BUDGET_S = 10.0  # a dashboard or a county report at province scale answers within this
PAGE_OVER_FIGURES = 1.5  # the page (rendering, the map, the tables) at most 1.5 × its figures
TALLY_BUDGET_S = 120.0  # the alert tally of the whole register: well inside the timer's 10 minutes


def _get(client, path: str, params=None) -> None:
    response = client.get(path, params or {})
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code}")
    b"".join(response.streaming_content) if response.streaming else response.content  # noqa: B018 - read it all


def oversight_benchmark(options) -> list[dict]:
    from django.core.cache import cache
    from django.test import Client

    from geo_assets.access import scope_for
    from geo_assets.models import AdminArea, Asset
    from geo_assets.taxonomy import AreaLevel, Role
    from reports import figures
    from reports.alerts import alerts_paged
    from reports.services import alert_tally_refresh

    top = (AdminArea.objects.filter(level=AreaLevel.PROVINCE).order_by("code").first()
           or AdminArea.objects.filter(level=AreaLevel.PREFECTURE).order_by("code").first())
    county = AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    if county is None:
        raise RuntimeError("没有县：请先加载数据 (no county loaded)")
    overseer = (bench_user(Role.PROVINCE if top.level == AreaLevel.PROVINCE else Role.PREFECTURE, area=top)
                if top is not None else bench_user())
    admin = bench_user(Role.COUNTY_ADMIN, area=county)
    repeat = 1 if options.quick else max(1, options.repeat)
    dashboard, report = Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost")  # an allowed host outside tests
    dashboard.force_login(overseer)
    report.force_login(admin)

    def page_dashboard():
        cache.clear()
        _get(dashboard, "/dashboard/")

    def anchor_dashboard():
        figures.workplan_progress(overseer)

    def page_report():
        cache.clear()
        _get(report, "/reports/county/", {"county": county.code})

    def anchor_report():
        figures.report_figures(figures.area_scope(admin, county), None)

    def page_oversight(fmt):
        def page():
            cache.clear()
            _get(dashboard, f"/reports/oversight{'.pdf' if fmt == 'pdf' else '/'}")
        return page

    def anchor_oversight():
        figures.workplan_progress(overseer, within=top)

    def page_alerts():
        cache.clear()
        _get(report, "/alerts/", {"county": county.code})

    def anchor_alerts():
        alerts_paged(assets=Asset.objects.visible_to(admin), villages=figures.villages_in_scope(admin),
                     viewer=scope_for(admin), limit=200)

    villages = AdminArea.objects.filter(level=AreaLevel.VILLAGE).count()
    assets = Asset.objects.count()
    tally_s = timed_median(alert_tally_refresh, 1)  # and the dashboard below reads this tally
    dashboard_s, dashboard_anchor = timed_median(page_dashboard, repeat), timed_median(anchor_dashboard, repeat)
    report_s, report_anchor = timed_median(page_report, repeat), timed_median(anchor_report, repeat)
    oversight_anchor = timed_median(anchor_oversight, repeat)
    oversight_s, oversight_pdf_s = timed_median(page_oversight("html"), repeat), timed_median(page_oversight("pdf"), repeat)
    alerts_s, alerts_anchor = timed_median(page_alerts, repeat), timed_median(anchor_alerts, repeat)
    quick = options.quick
    scope = "province" if top is not None and top.level == AreaLevel.PROVINCE else "register"
    rows = [row(f"oversight: alert tally of the register ({assets:,} assets, {villages} villages), against its budget",
                round(tally_s, 3), "s", TALLY_BUDGET_S, "the tally budget", None if quick else 1.0,
                higher_is_better=False)]
    for name, page_s, anchor_s, anchor_name in (
            (f"/dashboard/ of the {scope} ({villages} villages)", dashboard_s, dashboard_anchor,
             "its figures alone (alerts from the tally)"),
            (f"/reports/county/ of {county.name} as its administrator", report_s, report_anchor,
             "the report's figures alone"),
            (f"/reports/oversight/ of the {scope}", oversight_s, oversight_anchor, "its figures alone"),
            (f"/reports/oversight.pdf of the {scope}", oversight_pdf_s, None, ""),
            (f"/alerts/ of {county.name} as its administrator", alerts_s, alerts_anchor,
             "its one statement alone (a page and the counts)")):
        if anchor_s is not None:  # a PDF: WeasyPrint's layout is its own cost, held to the page budget alone
            rows.append(row(f"oversight: {name}", round(page_s, 3), "s", round(anchor_s, 3), anchor_name,
                            None if quick else PAGE_OVER_FIGURES, higher_is_better=False))
        rows.append(row(f"oversight: {name}, against the page budget", round(page_s, 3), "s", PAGE_BUDGET_S,
                        "the page budget", None if quick else 1.0, higher_is_better=False))
    return rows

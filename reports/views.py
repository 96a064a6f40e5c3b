"""Report pages (village, township, county, department) as HTML, PDF and XLSX; the work-plan dashboard; the risk
alert list and map layer; the villagers' public page. Figures: reports/figures.py; tables: reports/tables.py."""

import csv
import io
import json
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.gis.db.models.functions import PointOnSurface
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_assets.access import scope_for
from geo_assets.amounts import format_wan
from geo_assets.dbrouting import NonAtomicReadMixin
from geo_assets.guards import staff_required, throttled
from geo_assets.models import AdminArea, Asset, Department
from geo_assets.models.register import asset_url
from geo_assets.privacy import Redactor
from geo_assets.taxonomy import AreaLevel, AssetType, FundingSourceKind, Role
from geo_assets.validation import year_max
from layers.registry import TYPE_COLOURS
from layers.services import areas_outlined
from projects.access import sees_money
from projects.models import Project
from reports import figures, svgmap
from reports.alerts import ALL_RULES, LEVEL_LABELS, Evidence, alerts_paged
from reports.pdf import report_pdf
from reports.selectors import (
    alert_tally_by_county,
    counties_of,
    may_open_area_report,
    may_open_county_reports,
)
from reports.tables import headline, report_tables, workbook

VILLAGE_SHAPE_ZOOM = 11  # the outlines of a map's zoom 11 (~30 m): enough for a county map coloured by village
LEVEL_COLOURS = {"red": "#d7191c", "yellow": "#f0a30a", "blue": "#2b83ba"}
ALERTS_PER_PAGE = 200
ALERTS_MAP_MAX = 2000  # the alert map's points, in the list's order (the list pages through all of them)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"




def _area(request, code: str, level: str) -> AdminArea:
    """The area, if the viewer's role covers it: county-wide readers and departments every area, a township clerk
    the township and its villages, a village clerk the village."""
    area = get_object_or_404(AdminArea.objects.with_parent(), code=code, level=level)
    if not may_open_area_report(scope_for(request.user), area):
        raise PermissionDenied(_("This report is outside your jurisdiction."))
    return area


def _county(request) -> AdminArea:
    """The county a county-wide page is about: `?county=<code>` (the prefecture's and province's bureaus choose
    among theirs), else the viewer's own county, else the register's first."""
    scope = scope_for(request.user)
    code = request.GET.get("county") or (scope.counties[0] if scope.counties else None)
    if code is None:
        code = AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code").values_list("code", flat=True).first()
    if code is None:
        raise Http404(_("The county boundary has not been imported yet."))
    return _area(request, code, AreaLevel.COUNTY)


def _year(request) -> int | None:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return None
    return year if 2000 <= year <= timezone.localdate().year else None


def _download(content: bytes, content_type: str, filename: str, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(filename)}"
    return response


def _type_legend(fig) -> list[dict]:
    present = dict.fromkeys(r["asset_type"] for r in fig["totals"]["by_type"])
    return [{"colour": TYPE_COLOURS[t], "label": AssetType(t).label} for t in present]


def _breadcrumbs(scope) -> list[tuple[str, str]]:
    area = scope.area
    chain = []
    while area is not None:
        kind = {"village": "villages", "township": "townships"}.get(area.level)
        chain.insert(0, (area.name, f"/reports/{kind}/{area.code}/" if kind else "/reports/county/"))
        area = area.parent
    return chain


def _report(request, scope, fmt: str, filename: str, draw_map):
    fig = figures.report_figures(scope, _year(request))
    tables = report_tables(fig, request.user)
    title = (_("Report on the poverty-alleviation assets in the charge of %(name)s") if scope.kind == "department"
             else _("Poverty-alleviation asset report of %(name)s")) % {"name": scope.name}
    place = " · ".join(name for name, _url in _breadcrumbs(scope)) or scope.name
    basis = _("assets visible to %(role)s") % {"role": scope.role_label}
    generated = f"{fig['generated']:%Y-%m-%d %H:%M}"
    coded = _("%(place)s (%(code)s)") % {"place": place, "code": scope.area.code} if scope.area else place
    scope_line = _("Scope: %(place)s; basis: %(basis)s; as of %(time)s") % {"place": coded, "basis": basis,
                                                                            "time": generated}
    summary = [(_("Scope"), place), (_("Basis"), basis), (_("As of"), generated), *headline(fig)]
    if fmt == "xlsx":
        return _download(workbook(title, tables, summary), XLSX, f"{filename}.xlsx")
    svg, legend = draw_map(fig)
    context = {"fig": fig, "scope": scope, "tables": tables, "headline": headline(fig), "title": title,
               "scope_line": scope_line, "map": svg, "legend": legend, "breadcrumbs": _breadcrumbs(scope),
               "base": request.path.rstrip("/"), "year": fig["year"]}
    if fmt == "pdf":
        return _download(report_pdf("reports/report_print.html", context, request), "application/pdf",
                         f"{filename}.pdf", inline=True)
    return render(request, "reports/report.html", context)


@require_GET
@throttled
@staff_required
def village_report(request, code: str, fmt: str = "html"):
    try:
        village = _area(request, code, AreaLevel.VILLAGE)
    except PermissionDenied:  # another village: staff see at least what the public sees, its villagers' page
        return redirect("reports:public-village", code=code)
    scope = figures.area_scope(request.user, village)

    def draw(fig):
        return svgmap.village_map(village, scope.active), _type_legend(fig)

    return _report(request, scope, fmt, f"{village.name}-{village.code}", draw)


def _choropleth(scope, outline_level=None):
    def draw(fig):
        values = {r["village__code"]: float(r["investment"] or 0) for r in scope.active.order_by().values(
            "village__code").annotate(investment=Sum("total_investment"))}
        title = _("Map of the investment in assets by village, %(name)s") % {"name": scope.name}
        return (svgmap.choropleth(scope.area, values, title, outline_level=outline_level),
                [{"colour": c["colour"], "label": _("No assets") if c["empty"] else _("%(range)s 10k yuan") % {
                    "range": c["label"]}} for c in svgmap.legend_classes(values)])

    return draw


@require_GET
@throttled
@staff_required
def township_report(request, code: str, fmt: str = "html"):
    township = _area(request, code, AreaLevel.TOWNSHIP)
    scope = figures.area_scope(request.user, township)
    return _report(request, scope, fmt, f"{township.name}-{township.code}", _choropleth(scope))


@require_GET
@throttled
@staff_required
def county_report(request, fmt: str = "html"):
    county = _county(request)
    scope = figures.area_scope(request.user, county)
    return _report(request, scope, fmt, f"{county.name}-{county.code}", _choropleth(scope, AreaLevel.TOWNSHIP))


@require_GET
@throttled
@staff_required
def department_report(request, pk: int, fmt: str = "html"):
    department = get_object_or_404(Department, pk=pk)
    scope = figures.department_scope(request.user, department)
    county = _county(request)

    def draw(fig):
        if county is None:
            return "", []
        return (svgmap.assets_map(county, scope.active, _("Map of the assets in the charge of %(name)s") % {
            "name": department.name}), _type_legend(fig))

    return _report(request, scope, fmt, f"{department.name}", draw)


# ---------------------------------------------------------------- oversight report (prefecture, province)

OVERSIGHT_MAP_BY = {"overall": gettext_lazy("Overall progress"), "inventory": gettext_lazy("Inventory"),
                    "ownership": gettext_lazy("Ownership registration"), "publicity": gettext_lazy("Publicity"),
                    "verification": gettext_lazy("Verification coverage")}
PDF_COUNTIES_PER_TABLE = 8  # county columns of one alerts table in the PDF (A4 portrait)


def oversees(request) -> bool:
    """May the viewer open the oversight report: a prefecture's or province's bureau, or a superuser."""
    return request.user.is_superuser or scope_for(request.user).oversees


def _oversight_area(request) -> AdminArea:
    """The prefecture or province the report is about: `?area=<code>` (a province's bureau chooses one of its
    prefectures), else the bureau's own area (a superuser: the register's first province, else prefecture)."""
    if not oversees(request):
        raise PermissionDenied(_("The oversight report is for the prefecture's and the province's bureaus."))
    scope = scope_for(request.user)
    code = request.GET.get("area") or scope.area_code
    if not code:
        tops = AdminArea.objects.order_by("code").values_list("code", flat=True)
        code = (tops.filter(level=AreaLevel.PROVINCE).first() or tops.filter(level=AreaLevel.PREFECTURE).first())
    if not code:
        raise Http404(_("No prefecture or province has been imported yet."))
    area = get_object_or_404(AdminArea.objects.with_parent().defer("geom", "geom_web"), code=code,
                             level__in=(AreaLevel.PREFECTURE, AreaLevel.PROVINCE))
    if not scope.reaches_area(area.code):
        raise PermissionDenied(_("This report is outside your jurisdiction."))
    return area


def oversight_tables(fig, *, counties_per_table: int | None = None) -> list:
    """The counties compared (and their sum over the area) and the alerts by rule × county; `counties_per_table`:
    the alerts split into tables of that many counties (the PDF's page width)."""
    from reports.tables import Table

    def rates(r):
        return [r["rates"]["inventory"], r["rates"]["ownership"], r["rates"]["publicity"],
                r["rates"]["verification"], r["overall"]]

    compared = Table("counties", _("Counties compared"), [
        (_("County"), "text"), (_("Statistical code"), "text"), (_("Number of villages"), "int"),
        (_("Registered assets"), "int"), (_("Investment (10k yuan)"), "money"), (_("Inventory (%)"), "pct"),
        (_("Ownership registration (%)"), "pct"), (_("Publicity (%)"), "pct"), (_("Verification (%)"), "pct"),
        (_("Overall progress (%)"), "pct"), (_("Red alerts"), "int"), (_("Yellow alerts"), "int"),
        (_("Blue notices"), "int")])
    for c in fig["counties"]:
        compared.add([c["name"], c["code"], c["villages"], c["total"], c["investment"], *rates(c), c["red"],
                      c["yellow"], c["blue"]], f"{reverse('reports:county')}?county={c['code']}")
    t = fig["total"]
    compared.add([_("Total"), "", t["villages"], t["total"], t["investment"], *rates(t), t["red"], t["yellow"],
                  t["blue"]])
    compared.total = True
    compared.note = _("Inventory: the share of the money the counties' projects disbursed that the register accounts "
                      "for; ownership registration and verification (in the last 12 months): over the registered, "
                      "not disposed assets; publicity: the villages that posted both the inventory ledger and the "
                      "ownership results — as on the work-progress dashboard.")
    counties = fig["counties"]
    step = counties_per_table or max(len(counties), 1)
    tables = [compared]
    for start in range(0, max(len(counties), 1), step):
        part = counties[start:start + step]
        last = start + step >= len(counties)
        title = _("Alerts by rule and county")
        if step < len(counties):
            title = _("%(title)s (%(first)s–%(last)s of %(n)s counties)") % {
                "title": title, "first": start + 1, "last": start + len(part), "n": len(counties)}
        alerts = Table(f"alerts-{start}" if start else "alerts", title, [
            (_("Level"), "text"), (_("Rule"), "text"), *[(c["name"], "int") for c in part],
            *([(_("Total"), "int")] if last else [])])
        for r in fig["rules"]:
            alerts.add([str(LEVEL_LABELS[r["level"]]), r["title"], *r["counts"][start:start + step],
                        *([r["total"]] if last else [])])
        alerts.add([_("Total"), "", *[sum(r["counts"][i] for r in fig["rules"]) for i in range(start, start + len(
            part))], *([sum(r["total"] for r in fig["rules"])] if last else [])])
        alerts.total = True
        tables.append(alerts)
    tables[-1].note = _("Counted as the alert list counts them: an asset's alerts in the asset's county, a "
                        "village's in the village's county.")
    if fig["alerts_as_of"]:  # the bureaus read the alert tally (reports.selectors.alert_counts)
        tables[-1].note += " " + _("Counted at %(time)s") % {"time": f"{timezone.localtime(fig['alerts_as_of']):%Y-%m-%d %H:%M}"}
    return tables


@require_GET
@throttled
@staff_required
def oversight_report(request, fmt: str = "html"):
    """/reports/oversight/ (.pdf, .xlsx): the counties of a prefecture or province compared, the alerts by rule and
    county, and a map of the counties coloured by a task's rate — for the bureaus above the counties."""
    area = _oversight_area(request)
    fig = figures.oversight_figures(request.user, area)
    by = request.GET.get("by") if request.GET.get("by") in OVERSIGHT_MAP_BY else "overall"
    title = _("Oversight report on the poverty-alleviation assets of %(name)s") % {"name": area.name}
    role = _("superuser") if request.user.is_superuser else Role(scope_for(request.user).role).label
    generated = f"{fig['generated']:%Y-%m-%d %H:%M}"
    place = _("%(place)s (%(code)s)") % {"place": area.name, "code": area.code}
    basis = _("assets visible to %(role)s") % {"role": role}
    scope_line = _("Scope: %(place)s; basis: %(basis)s; as of %(time)s") % {
        "place": place, "basis": basis, "time": generated}
    t = fig["total"]

    def rate(value):
        return "—" if value is None else f"{value:g}%"

    headline = [(_("Counties"), len(fig["counties"])), (_("Villages"), t["villages"]),
                (_("Registered assets"), t["total"]),
                (_("Total investment"), _("%(amount)s 10k yuan") % {"amount": format_wan(t["investment"])}),
                (_("Registration rate"), rate(t["rates"]["ownership"])),
                (_("Publicity rate"), rate(t["rates"]["publicity"])),
                (_("12-month verification rate"), rate(t["rates"]["verification"])),
                (_("Overall progress"), rate(t["overall"])),
                (_("Risk alerts"), _("red %(red)s · yellow %(yellow)s · blue %(blue)s") % t)]
    name = f"{area.name}-{area.code}"
    if fmt == "xlsx":
        summary = [(_("Scope"), place), (_("Basis"), basis), (_("As of"), generated), *headline]
        return _download(workbook(title, oversight_tables(fig), summary), XLSX, f"{name}.xlsx")
    values = {c["code"]: c["overall"] if by == "overall" else c["rates"][by] for c in fig["counties"]}
    svg = svgmap.counties_map(area, values, _("Map of the counties of %(name)s by %(rate)s") % {
        "name": area.name, "rate": OVERSIGHT_MAP_BY[by]})
    legend = svgmap.progress_legend()
    context = {"title": title, "scope_line": scope_line, "headline": headline, "map": svg, "legend": legend,
               "area": area, "by": by, "map_choices": list(OVERSIGHT_MAP_BY.items()), "section": "reports",
               "map_caption": _("Colour: %(rate)s") % {"rate": OVERSIGHT_MAP_BY[by]}}
    if fmt == "pdf":
        context["tables"] = oversight_tables(fig, counties_per_table=PDF_COUNTIES_PER_TABLE)
        return _download(report_pdf("reports/report_print.html", context, request), "application/pdf",
                         f"{name}.pdf", inline=True)
    scope = scope_for(request.user)
    below = (AdminArea.objects.filter(level=AreaLevel.PREFECTURE, code__startswith=area.code[:2]).order_by("code")
             .values_list("code", "name") if area.level == AreaLevel.PROVINCE else [])
    up = area.parent if area.parent_id and area.parent.level == AreaLevel.PROVINCE and scope.reaches_area(
        area.parent.code) else None
    query = {k: v for k, v in (("area", request.GET.get("area")), ("by", by if by != "overall" else None)) if v}
    context.update({"tables": oversight_tables(fig), "below": list(below), "up": up,
                    "query": urlencode(query)})
    return render(request, "reports/oversight.html", context)


@require_GET
@throttled
@staff_required
def index(request):
    """Where the reports are: the county, the townships with their villages, the departments (as the role allows)."""
    scope = scope_for(request.user)
    villages = figures.with_townships(figures.villages_in_scope(request.user)).order_by("code")
    townships: dict[int, dict] = {}
    for v in villages:
        townships.setdefault(v.parent_id, {"township": v.parent, "villages": []})["villages"].append(v)
    for t in townships.values():
        t["opens"] = may_open_area_report(scope, t["township"])
    county_wide = may_open_county_reports(scope)
    return render(request, "reports/index.html", {
        "townships": list(townships.values()), "county_wide": county_wide,
        "departments": Department.objects.order_by("name") if county_wide else (), "section": "reports",
        "oversees": oversees(request)})


# ---------------------------------------------------------------- work-plan dashboard


@require_GET
@throttled
@staff_required
def dashboard(request):
    progress = figures.workplan_progress(request.user)
    scope = scope_for(request.user)
    opens = {r["township"].pk for r in progress.get("townships", ()) if may_open_area_report(scope, r["township"])}
    opens |= {r["village"].pk for r in progress.get("villages", ()) if may_open_area_report(scope, r["village"])}
    return render(request, "reports/dashboard.html", {"p": progress, "section": "dashboard", "opens": opens,
                                                      "levels": LEVEL_LABELS, "oversees": oversees(request)})


def _village_shapes(ids) -> dict[int, dict]:
    """The villages' boundaries as the map draws them at zoom VILLAGE_SHAPE_ZOOM (neighbours share their edges)."""
    areas = areas_outlined(AdminArea.objects.filter(pk__in=ids).only("pk"), zoom=VILLAGE_SHAPE_ZOOM)
    return {a.pk: json.loads(a.outline_geojson) for a in areas}


@require_GET
@throttled
@staff_required
def dashboard_geojson(request):
    """The villages (simplified boundaries) with each task's rate, for the map layer (alert counts: the tables)."""
    progress = figures.workplan_progress(request.user, with_alerts=False)
    shapes = _village_shapes([r["village"].pk for r in progress["villages"]])
    features = [{"type": "Feature", "id": r["village"].code, "geometry": shapes.get(r["village"].pk),
                 "properties": {"code": r["village"].code, "village": r["village"].name,
                                "township": r["township"].name, "assets": r["total"], **r["rates"],
                                "overall": r["overall"]}}
                for r in progress["villages"]]
    return JsonResponse({"type": "FeatureCollection", "features": features}, json_dumps_params={"ensure_ascii": False})


def export_columns() -> list[str]:
    """The progress export's column headings (the village table's; the townships' have 公示 as a rate)."""
    return [_("Township"), _("Village"), _("Statistical code"), _("Registered assets"), _("Inventory (%)"),
            _("Ownership registration (%)"), _("Publicity (ledger and ownership)"), _("Verification (%)"),
            _("Overall progress (%)"), _("Red alerts"), _("Yellow alerts"), _("Blue notices")]


def _export_row(r, village=True):
    rates = r["rates"]
    return [r["township"].name, r["village"].name if village else _("(total)"),
            r["village"].code if village else r["township"].code, r["total"], rates["inventory"], rates["ownership"],
            (_("Yes") if r["publicity"] else _("No")) if village else rates["publicity"], rates["verification"],
            r["overall"], r["red"], r["yellow"], r["blue"]]


@require_GET
@throttled
@staff_required
def dashboard_export(request, fmt: str):
    from geo_assets.spreadsheet import cell_protect

    if fmt not in ("csv", "xlsx"):
        raise Http404
    progress = figures.workplan_progress(request.user)
    rows = [_export_row(r) for r in progress["villages"]]
    stamp = timezone.localdate().isoformat()
    columns = export_columns()
    name = _("work-progress-%(date)s") % {"date": stamp}
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([columns, *[[cell_protect(c) for c in row] for row in rows]])
        return _download(("\ufeff" + out.getvalue()).encode(), "text/csv; charset=utf-8", f"{name}.csv")
    from reports.tables import Table

    kinds = ["text", "text", "text", "int", "pct", "pct", "text", "pct", "pct", "int", "int", "int"]
    villages = Table("villages", _("Progress by village"), list(zip(columns, kinds, strict=True)), rows)
    town_columns = [*columns[:6], _("Publicity (%)"), *columns[7:]]
    towns = Table("townships", _("Progress by township"),
                  list(zip(town_columns, [*kinds[:6], "pct", *kinds[7:]], strict=True)),
                  [_export_row(t, village=False) for t in progress["townships"]])
    deadlines = [(_("%(task)s deadline") % {"task": t["label"]},
                  _("%(due)s (county %(rate)s%%, %(state)s)") % {
                      "due": f"{t['due']:%Y-%m-%d}", "rate": t["rate"] if t["rate"] is not None else "—",
                      "state": t["state"]}) for t in progress["tasks"]]
    sheets = [villages, towns]
    if progress["counties"]:  # the bureaus above the counties: the counties side by side first
        county_columns = [_("County"), _("Number of villages"), _("Registered assets"), _("Investment (10k yuan)"),
                          *columns[4:6], _("Publicity (%)"), *columns[7:]]
        sheets.insert(0, Table("counties", _("Counties compared"), list(zip(
            county_columns, ["text", "int", "int", "money", *kinds[4:6], "pct", *kinds[7:]], strict=True)),
            [[c["name"], c["villages"], c["total"], c["investment"], c["rates"]["inventory"], c["rates"]["ownership"],
              c["rates"]["publicity"], c["rates"]["verification"], c["overall"], c["red"], c["yellow"], c["blue"]]
             for c in progress["counties"]]))
    return _download(workbook(_("Progress of poverty-alleviation asset management"), sheets,
                              [(_("Date of the figures"), stamp), *deadlines]), XLSX, f"{name}.xlsx")


# ---------------------------------------------------------------- risk alerts


def _alerts_query(request, *, offset: int, limit: int) -> dict:
    """One page of the alerts the filters ask for, within the viewer's role, with the assets and villages they point
    to, and how many there are per level. A viewer of several counties (a prefecture's or province's bureau) first
    chooses a county: until then the page shows each county's counts from the alert tally, and builds no alert."""
    scope = scope_for(request.user)
    villages = figures.with_townships(figures.villages_in_scope(request.user))
    assets = Asset.objects.visible_to(request.user)
    g = request.GET
    counties = counties_of(villages)
    county = g.get("county", "") if g.get("county", "") in counties else ""
    township = AdminArea.objects.townships().filter(code=g.get("township", "")).first()
    village = villages.filter(code=g.get("village", "")).first()
    if county:
        assets, villages = assets.filter(county=county), villages.filter(code__startswith=county[:6])
    if township:
        assets, villages = assets.filter(township=township), villages.filter(parent=township)
    if village:
        assets, villages = assets.filter(village=village), villages.filter(pk=village.pk)
    level, rule = g.get("level", ""), g.get("rule", "")
    rules = [code for code, r in ALL_RULES.items() if (not level or r.level == level) and (not rule or code == rule)]
    filters = {"level": level, "rule": rule, "county": county, "township": township.code if township else "",
               "village": village.code if village else ""}
    q = {"alerts": [], "counts": {}, "assets": {}, "areas": {}, "filters": filters, "counties": counties,
         "by_county": None, "as_of": None}
    if len(counties) > 1 and not (county or township or village):
        q["by_county"], q["counts"], q["as_of"] = alert_tally_by_county(villages, counties, rules)
        return q
    if rules:
        q["alerts"], q["counts"] = alerts_paged(assets=assets, villages=villages,
                                               rules=rules, viewer=scope, offset=offset, limit=limit)
    fields = (*Evidence.FIELDS, "location", "village__code", "township__name", "township__code")
    q["assets"] = Asset.objects.for_scope(scope).select_related("village", "township").only(*fields).in_bulk(
        [a.asset_id for a in q["alerts"] if a.asset_id])
    q["areas"] = figures.with_townships(AdminArea.objects.defer("geom", "geom_web")).annotate(
        spot=PointOnSurface("geom")).in_bulk(
        [a.area_id for a in q["alerts"] if a.area_id])
    return q


def _alert_row(alert, q, redactor) -> dict:
    asset = q["assets"].get(alert.asset_id)
    area = asset.village if asset else q["areas"].get(alert.area_id)
    return {"alert": alert, "level_label": LEVEL_LABELS[alert.level], "colour": LEVEL_COLOURS[alert.level],
            "asset": asset, "name": redactor.asset_name(asset) if asset else "", "village": area,
            "township": asset.township if asset else (area.parent if area else None),
            "url": asset_url(asset.code) if asset else (f"/reports/villages/{area.code}/" if area else "")}


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        return 1


@require_GET
@throttled
@staff_required
def alerts_page(request):
    number = _page_number(request)
    q = _alerts_query(request, offset=(number - 1) * ALERTS_PER_PAGE, limit=ALERTS_PER_PAGE)
    total = sum(q["counts"].values())
    page = Paginator(range(total), ALERTS_PER_PAGE).get_page(number)  # the numbers only: the rows are q's
    if page.number != number and q["by_county"] is None:  # past the last page: the last one
        q = _alerts_query(request, offset=(page.number - 1) * ALERTS_PER_PAGE, limit=ALERTS_PER_PAGE)
    redactor = Redactor(scope_for(request.user))
    levels = dict.fromkeys(figures.LEVELS, 0)
    for code, n in q["counts"].items():
        levels[ALL_RULES[code].level] += n
    villages = figures.with_townships(figures.villages_in_scope(request.user)).order_by("code")
    if q["filters"]["county"]:
        villages = villages.filter(code__startswith=q["filters"]["county"][:6])
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "reports/alerts.html", {
        "rows": [_alert_row(a, q, redactor) for a in q["alerts"]], "page": page, "levels": levels,
        "total": total, "filters": q["filters"], "level_labels": LEVEL_LABELS, "counties": q["counties"],
        "by_county": q["by_county"], "as_of": q["as_of"],
        "rules": [(code, r.title, LEVEL_LABELS[r.level]) for code, r in ALL_RULES.items()],
        "townships": sorted({v.parent for v in villages}, key=lambda t: t.code), "villages": villages,
        "query": query.urlencode(), "section": "alerts", "colours": LEVEL_COLOURS})


@require_GET
@throttled
@staff_required
def alerts_geojson(request):
    """Alert points for a map layer, at most ALERTS_MAP_MAX in the list's order (`truncated` says when there are
    more): at the asset's location, or a point inside the village for village rules."""
    q = _alerts_query(request, offset=0, limit=ALERTS_MAP_MAX)
    redactor = Redactor(scope_for(request.user))
    features = []
    for alert in q["alerts"]:
        row = _alert_row(alert, q, redactor)
        point = row["asset"].location if row["asset"] else (row["village"].spot if row["village"] else None)
        if point is None:
            continue
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(point.x, 6),
                                                                                         round(point.y, 6)]},
                         "properties": {"rule": alert.rule, "level": alert.level, "level_label": row["level_label"],
                                        "colour": row["colour"], "title": alert.title, "evidence": alert.evidence,
                                        "asset": row["asset"].code if row["asset"] else None, "name": row["name"],
                                        "village": row["village"].name if row["village"] else "", "url": row["url"]}})
    total = sum(q["counts"].values())
    return JsonResponse({"type": "FeatureCollection", "features": features, "numberMatched": total,
                         "truncated": total > len(q["alerts"])}, json_dumps_params={"ensure_ascii": False})


# ---------------------------------------------------------------- the villagers' page


@require_GET
@throttled
def public_village(request, code: str):
    """For villagers: the village's published assets on a map and in a list, and how last year's income was
    shared — the public's view whoever asks (no personal data)."""
    village = get_object_or_404(AdminArea.objects.with_parent(), code=code, level=AreaLevel.VILLAGE)
    data = figures.public_village(village)
    svg = svgmap.village_map(village, Asset.objects.filter(pk__in=data["asset_ids"]).of_area(village),
                             _("Map of the public assets of %(name)s") % {"name": village.name})
    present = dict.fromkeys(a["asset_type"] for a in data["assets"])
    return render(request, "reports/public_village.html", {
        "village": village, **data, "map": svg,
        "ledger_years": sorted({a["year"] for a in data["assets"] if a["year"]}, reverse=True),
        "legend": [{"colour": TYPE_COLOURS[t], "label": AssetType(t).label} for t in present]})


# ---------------------------------------------------------------- 账账相符 (projects.reconciliation)

FINDINGS_SHOWN = 20  # rows of each finding list on the page until it is opened (drill-down: ?kind=<code>)
PROJECTS_PER_PAGE = 200
LEDGER_PDF_MAX = 300  # assets in a ledger's PDF (the workbook has every one): WeasyPrint ≈ 20 ms a row
PDF_ROWS_MAX = 50  # rows of a long list in the PDF (the workbook has every row): WeasyPrint lays out ~10 ms a row


def project_url(code: str) -> str:
    """The project's page (projects:project, /projects/<code>/)."""
    return reverse("projects:project", args=[code])


def map_url(*, project: str | None = None, asset: str | None = None) -> str:
    """The map showing a project's assets (/#project=<code>) or one asset (/#asset=<code>)."""
    return f"/#project={quote(project, safe='')}" if project else f"/#asset={quote(asset or '', safe='')}"


def _money_viewer(request) -> None:
    if not sees_money(request.user):
        raise PermissionDenied(_("The fund ledgers and their reconciliation are for staff who see the money."))


def _reconciliation_filters(request):
    """The filters of the query, or the empty ones and the errors that refused them."""
    from projects.reconciliation import Filters, filters_parse

    try:
        return filters_parse(request.GET), {}
    except ValidationError as exc:
        return Filters(), exc.message_dict


def _reconciliation_title(rec, scope) -> tuple[str, str]:
    parts = [str(v) for v in (rec.filters.year, rec.filters.source and FundingSourceKind(rec.filters.source).label,
                              rec.filters.department and rec.filters.department.name,
                              rec.filters.township and rec.filters.township.name) if v]
    basis = _("projects visible to %(role)s") % {"role": Role(scope.role).label}
    line = _("Filters: %(filters)s; basis: %(basis)s; as of %(time)s") % {
        "filters": pgettext("list separator", ", ").join(parts) or _("none"), "basis": basis,
        "time": f"{rec.generated:%Y-%m-%d %H:%M}"}
    return _("Reconciliation of the fund ledgers with the asset register"), line


def _finding_row(item) -> dict:
    assets = [a for a in item.assets if a.visible]
    return {"item": item, "project": item.project, "assets": [
        {"ref": a, "url": asset_url(a.code), "map": map_url(asset=a.code)} for a in assets],
        "project_url": project_url(item.project.code) if item.project else "",
        "map": map_url(project=item.project.code) if item.project else (assets and map_url(asset=assets[0].code))}


@require_GET
@throttled
@staff_required
def reconciliation_page(request, fmt: str = "html"):
    """/reconciliation/ (and .xlsx, .pdf): totals, every project and the findings of each kind, for the projects
    and assets the viewer sees."""
    from projects.reconciliation import KINDS, reconcile
    from reports.tables import reconciliation_headline, reconciliation_tables, totals_table

    _money_viewer(request)
    filters, errors = _reconciliation_filters(request)
    if errors and fmt != "html":
        return HttpResponse("\n".join(m for ms in errors.values() for m in ms), status=400,
                            content_type="text/plain; charset=utf-8")
    scope = scope_for(request.user)
    rec = reconcile(request.user, filters)
    title, scope_line = _reconciliation_title(rec, scope)
    name = _("reconciliation-%(date)s") % {"date": f"{rec.generated:%Y-%m-%d}"}
    if fmt == "xlsx":
        summary = [(_("Scope"), scope_line), *reconciliation_headline(rec)]
        return _download(workbook(title, reconciliation_tables(rec), summary), XLSX, f"{name}.xlsx")
    if fmt == "pdf":
        context = {"title": title, "scope_line": scope_line, "headline": reconciliation_headline(rec),
                   "tables": reconciliation_tables(rec, limit=PDF_ROWS_MAX), "map": ""}
        return _download(report_pdf("reports/report_print.html", context, request), "application/pdf",
                         f"{name}.pdf", inline=True)
    open_kind = request.GET.get("kind", "") if request.GET.get("kind", "") in KINDS else ""
    kinds = [{"code": code, "label": kind.label, "subject": kind.subject, "count": len(rec.findings[code]),
              "open": code == open_kind,
              "rows": [_finding_row(i) for i in (rec.findings[code] if code == open_kind
                                                 else rec.findings[code][:FINDINGS_SHOWN])]}
             for code, kind in KINDS.items()]
    page = Paginator(rec.projects, PROJECTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for key in ("page", "kind"):
        query.pop(key, None)
    years = sorted(set(Project.objects.visible_to(request.user).order_by().values_list("year", flat=True).distinct()),
                   reverse=True)
    townships = AdminArea.objects.townships().in_counties_of(request.user).order_by("code")
    if scope.role == Role.TOWNSHIP:
        townships = townships.filter(pk=scope.area_id)
    elif scope.role == Role.VILLAGE:
        townships = townships.filter(children=scope.area_id)
    totals = totals_table(rec)
    response = render(request, "reports/reconciliation.html", {
        "rec": rec, "title": title, "scope_line": scope_line, "headline": reconciliation_headline(rec),
        "totals": totals, "kinds": kinds, "page": page, "errors": errors, "filters": rec.filters.query(),
        "query": query.urlencode(), "export_query": urlencode(rec.filters.query()), "years": years,
        "sources": FundingSourceKind.choices, "departments": Department.objects.order_by("name"),
        "townships": townships, "section": "reconciliation",
        "project_rows": [{"p": p, "url": project_url(p.code), "map": map_url(project=p.code),
                          "findings": [KINDS[k].label for k in p.findings]} for p in page]})
    if errors:
        response.status_code = 400
    return response


class ReconciliationApi(NonAtomicReadMixin, APIView):
    """`GET /api/v1/reconciliation/?year=&source=&department=&township=`: the reconciliation of the projects the
    caller sees (session or token), as projects.reconciliation.as_json — totals per scope class and per group, the
    projects, and the findings with their codes. A bad filter: 400 naming what is accepted."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[
        OpenApiParameter("year", OpenApiTypes.INT), OpenApiParameter("source", OpenApiTypes.STR),
        OpenApiParameter("department", OpenApiTypes.STR), OpenApiParameter("township", OpenApiTypes.STR)],
        responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        from projects.reconciliation import as_json, filters_parse, reconcile

        if not sees_money(request.user):
            raise ApiPermissionDenied(_("The fund ledgers and their reconciliation are for staff who see the money."))
        try:
            filters = filters_parse(request.query_params)
        except ValidationError as exc:
            raise ApiValidationError(exc.message_dict)
        return Response(as_json(reconcile(request.user, filters)))


# ---------------------------------------------------------------- the annual ledgers


def _ledger_year(year: int) -> int:
    if not 2000 <= year <= year_max():
        raise Http404(_("There is no ledger for that year."))
    return year


def _ledger(request, area, year: int, fmt: str, *, public: bool = False):
    from reports.ledgers import ledger_build

    year = _ledger_year(year)
    assets = Asset.objects.all() if public else Asset.objects.visible_to(request.user)
    ledger = ledger_build(assets.in_area(area), area, year, public=public, viewer=scope_for(request.user))
    name = f"{area.name}-{year}"
    if fmt == "xlsx":
        summary = [(_("Area"), _("%(name)s (%(code)s)") % {"name": area.name, "code": area.code}), (_("Year"), year),
                   (_("Assets"), ledger.count),
                   (_("Total investment (10k yuan)"), ledger.investment)]
        return _download(workbook(ledger.table.title, [ledger.table], summary), XLSX, f"{name}.xlsx")
    context = {"ledger": ledger, "area": area, "year": year, "public": public, "title": ledger.table.title,
               "generated": timezone.localtime(), "tables": [ledger.table], "section": "ledgers",
               "base": request.path.rstrip("/"),
               "min_days": settings.PUBLICITY_MIN_DAYS,
               "base_template": "base.html" if public else "reports/base.html"}
    if fmt == "pdf":
        context["table"] = ledger.limited(LEDGER_PDF_MAX)
        return _download(report_pdf("reports/ledger_print.html", context, request), "application/pdf",
                         f"{name}.pdf", inline=True)
    context["table"] = ledger.table
    return render(request, "reports/ledger.html", context)


@require_GET
@throttled
@staff_required
def ledgers_index(request):
    """The annual ledgers the viewer may open: the county's (county-wide roles), townships', villages'."""
    _money_viewer(request)
    scope = scope_for(request.user)
    try:
        year = _ledger_year(int(request.GET.get("year") or timezone.localdate().year))
    except (ValueError, Http404):
        year = timezone.localdate().year
    villages = figures.with_townships(figures.villages_in_scope(request.user)).order_by("code")
    townships: dict[int, dict] = {}
    for v in villages:
        townships.setdefault(v.parent_id, {"township": v.parent, "villages": []})["villages"].append(v)
    return render(request, "reports/ledgers.html", {
        "year": year, "years": range(year_max(), 2013, -1), "townships": list(townships.values()),
        "county_wide": scope.reads_everything or scope.role == Role.DEPARTMENT,
        "township_wide": scope.role != Role.VILLAGE, "section": "ledgers"})


@require_GET
@throttled
@staff_required
def county_ledger(request, year: int, fmt: str = "html"):
    _money_viewer(request)
    return _ledger(request, _county(request), year, fmt)


@require_GET
@throttled
@staff_required
def township_ledger(request, code: str, year: int, fmt: str = "html"):
    _money_viewer(request)
    return _ledger(request, _area(request, code, AreaLevel.TOWNSHIP), year, fmt)


@require_GET
@throttled
@staff_required
def village_ledger(request, code: str, year: int, fmt: str = "html"):
    _money_viewer(request)
    try:
        village = _area(request, code, AreaLevel.VILLAGE)
    except PermissionDenied:  # another village: what the public sees, its public ledger
        return redirect("reports:public-village-ledger", code=code, year=year)
    return _ledger(request, village, year, fmt)


@require_GET
@throttled
def public_village_ledger(request, code: str, year: int, fmt: str = "html"):
    """The village's ledger for its notice board (公开栏), with its 公示: anyone, public data only."""
    village = get_object_or_404(AdminArea.objects.with_parent(), code=code, level=AreaLevel.VILLAGE)
    return _ledger(request, village, year, fmt, public=True)

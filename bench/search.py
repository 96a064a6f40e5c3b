"""The map's search box (`manage.py bench --only search`): GET /api/v1/search/?q=… as the public, as the
province-wide administrator and as the first county's administrator (about a tenth of the rows), for texts taken
from the register — a type's name and its first two characters (many assets), a village's name, a code's start,
and a short and a long text that no asset holds (the search reads the whole register for a short one:
layers.services.assets_searched gives it SEARCH_BUDGET_MS).

Rows, per role: the slowest text (median of `repeat` requests each) against that budget (target ≤ SLOWEST_TARGET:
no text keeps a worker much longer than the budget, whatever is typed), and the slowest text of three characters
or more (the trigram indexes') against the same budget, with no target. Each text's time is printed. A
beneficiary's name (the start of a name that differs from the public one) is asked too where there is one: the
public finds nothing by it, without reading the names.
"""

import time

from bench.kit import bench_user, median, row

SLOWEST_TARGET = 1.25
ABSENT_SHORT = ("镇", "鑫", "龘", "乂")
ABSENT_LONG = "无此名称之资产"


def texts() -> dict[str, str]:
    """{what: text} from the register (the absent ones checked absent)."""
    from django.db.models import Count, F, Q

    from geo_assets.models import AdminArea, Asset
    from geo_assets.taxonomy import AssetType

    common = Asset.objects.values("asset_type").annotate(n=Count("id")).order_by("-n", "asset_type").first()
    label = str(AssetType(common["asset_type"]).label) if common else "道路"
    village = AdminArea.objects.villages().order_by("code").values_list("name", flat=True).first() or "村"
    code = Asset.objects.order_by("code").values_list("code", flat=True).first() or "41"

    def absent(text: str) -> bool:
        names = Q(name__contains=text) | Q(public_name__contains=text) | Q(code__startswith=text)
        villages = AdminArea.objects.villages().filter(name__contains=text)
        return not Asset.objects.filter(names).exists() and not villages.exists()

    short = next((t for t in ABSENT_SHORT if absent(t)), ABSENT_SHORT[0])
    asked = {"a type's name": label, "its first two characters": label[:2], "a village's name": village,
             "a code's start": code[:12], "a character no name holds": short,
             "a text no name holds": ABSENT_LONG if absent(ABSENT_LONG) else ABSENT_LONG + "乙"}
    # the start of a name the public does not see (a beneficiary's): the public's search must not read names
    private = (Asset.objects.exclude(name=F("public_name")).order_by("code").values_list("name", flat=True).first()
               or "")[:3]
    if len(private) == 3 and not Asset.objects.filter(public_name__contains=private).exists():
        asked["a beneficiary's name"] = private
    return asked


def search_benchmark(options) -> list[dict]:
    from django.test import Client

    from geo_assets.models import AdminArea
    from geo_assets.taxonomy import AreaLevel, Role
    from layers.services import SEARCH_BUDGET_MS, SEARCH_TRIGRAM

    repeat = 1 if options.quick else max(3, options.repeat)
    clients = {"public": Client(HTTP_HOST="127.0.0.1")}
    county = AdminArea.objects.filter(level=AreaLevel.COUNTY).order_by("code").first()
    for role, user in (("province administrator", bench_user()),
                       ("county administrator", bench_user(Role.COUNTY_ADMIN, area=county) if county else None)):
        if user is not None:
            clients[role] = Client(HTTP_HOST="127.0.0.1")
            clients[role].force_login(user)
    asked = texts()
    rows = []
    for role, client in clients.items():
        times = {}
        for what, text in asked.items():
            spent = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get("/api/v1/search/", {"q": text})
                spent.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"search {text!r} as {role}: HTTP {response.status_code}")
            body = response.json()
            times[what] = median(spent)
            print(f"  search as {role}, {what} ({text}): {times[what]:.1f} ms, {len(body['results'])} results"
                  f"{'' if body['complete'] else ', cut short'}", flush=True)
        slowest = max(times, key=times.get)
        rows.append(row(f"search ({role}, {len(times)} texts): the slowest ({slowest}) vs the short text's budget, ms",
                        times[slowest], "ms", SEARCH_BUDGET_MS, "SEARCH_BUDGET_MS",
                        None if options.quick else SLOWEST_TARGET, higher_is_better=False))
        long = [what for what, text in asked.items() if len(text) >= SEARCH_TRIGRAM]
        slowest_long = max(long, key=times.get)
        rows.append(row(f"search ({role}): the slowest text of {SEARCH_TRIGRAM} characters or more ({slowest_long}) "
                        f"vs the short text's budget, ms", times[slowest_long], "ms", SEARCH_BUDGET_MS,
                        "SEARCH_BUDGET_MS", None, higher_is_better=False))
    return rows

"""Issue 21 item 12: how long a QR label sheet takes, by number of labels (is it linear?).

    .venv/bin/python -m bench.labels [25 100 200 300]     (formerly scripts/bench_labels.py)

Builds unsaved assets (no database needed: the rendering is what is measured, from the rows the view builds to the
PDF's bytes — verification.labels.label_rows + sheet_pdf) and prints, per size, the seconds, the seconds per label
and the pages. A first tiny sheet loads the fonts so that it is not counted in the first size."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main(sizes: list[int]) -> None:
    import django

    django.setup()
    from geo_assets.models import AdminArea, Asset
    from geo_assets.taxonomy import AssetType
    from verification import labels

    township, village = AdminArea(name="西镇"), AdminArea(name="西南村")

    def assets(count: int) -> list[Asset]:
        return [Asset(code=f"410324101001-{i:04d}", name=f"西南村道路{i}号", public_name=f"西南村道路{i}号",
                      asset_type=AssetType.ROAD, custodian_unit="西南村村民委员会", township=township, village=village)
                for i in range(1, count + 1)]

    def sheet(count: int) -> tuple[float, bytes]:
        start = time.perf_counter()
        rows = labels.label_rows(assets(count), lambda a: f"https://assets.example.gov.cn/v/{a.code}/")
        pdf = labels.sheet_pdf(rows, title="西南村资产标识牌")
        return time.perf_counter() - start, pdf

    sheet(2)
    print(f"{'labels':>7} {'seconds':>8} {'s/label':>8} {'pages':>6}")
    for count in sizes:
        seconds, pdf = sheet(count)
        print(f"{count:>7} {seconds:>8.2f} {seconds / count:>8.3f} {(count + labels.PER_PAGE - 1) // labels.PER_PAGE:>6}",
              flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [25, 100, 200, 300])

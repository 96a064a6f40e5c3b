"""Small ledger files written by the tests themselves (GeoPandas, openpyxl, plain text)."""

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
from shapely.geometry import LineString, Point, Polygon

HEADER = ["资产编号", "资产名称", "资产类别", "资产类型", "所属村", "资金来源", "投资金额（万元）", "经度", "纬度"]

# Inside the test county (tests/factories.py): west-south, east-north villages.
WS = (111.55, 33.85)
EN = (111.65, 33.95)


def rows(n: int = 2, start: int = 1) -> list[dict]:
    """n simple well rows alternating between two villages."""
    out = []
    for i in range(start, start + n):
        lon, lat = WS if i % 2 else EN
        out.append({
            "资产名称": f"饮水井{i}", "资产类型": "供水饮水", "资产类别": "公益性资产",
            "资金来源": "中央财政专项扶贫资金:10", "投资金额（万元）": "10",
            "经度": lon + i * 0.001, "纬度": lat + i * 0.001,
        })
    return out


def write_csv(path: Path, data: list[dict], encoding: str = "utf-8", header: list[str] | None = None) -> Path:
    header = header or list(data[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in data:
            w.writerow([r.get(h, "") for h in header])
    return path


def write_xlsx(path: Path, data: list[dict], *, title: bool = True, header: list[str] | None = None,
               header_labels: dict[str, str] | None = None) -> Path:
    """Title row, note row, header (labels may be messy), data, a 合计 row — as departments send them."""
    header = header or list(data[0])
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append(["栾川县2024年度扶贫项目资产台账"])
        ws.append(["填报单位：县水利局", None, None, "单位：万元"])
    ws.append([(header_labels or {}).get(h, h) for h in header])
    for r in data:
        ws.append([r.get(h) for h in header])
    ws.append(["合计", None, None, None, None, None, 20])
    ws.append(["注：本表由乡镇填报"])
    wb.save(path)
    return path


def frame(data: list[dict], geoms=None, crs="EPSG:4490") -> gpd.GeoDataFrame:
    if geoms is None:
        geoms = [Point(r["经度"], r["纬度"]) for r in data]
    data = [{k: (str(v) if v is not None else None) for k, v in r.items()} for r in data]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def write_gis(path: Path, gdf: gpd.GeoDataFrame, driver: str | None = None, **kwargs) -> Path:
    gdf.to_file(path, driver=driver, engine="pyogrio", **kwargs)
    return path


def zip_files(path: Path, files: list[Path], arcnames: list[str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, f in enumerate(files):
            zf.write(f, (arcnames or [p.name for p in files])[i])
    return path


def kml_text(placemarks: list[tuple[dict, str]]) -> str:
    """KML as phone map apps write it: <ExtendedData><Data name="中文">…</Data>."""
    marks = []
    for values, coords in placemarks:
        data = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in values.items())
        marks.append(f"<Placemark><name>{values.get('资产名称', '')}</name><ExtendedData>{data}</ExtendedData>"
                     f"<Point><coordinates>{coords}</coordinates></Point></Placemark>")
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            + "".join(marks) + "</Document></kml>")


def geojson_text(features: list[tuple[dict, dict]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in features]}, ensure_ascii=False)


def line(x0, y0, x1, y1):
    return LineString([(x0, y0), (x1, y1)])


def square(x0, y0, d=0.005):
    return Polygon([(x0, y0), (x0 + d, y0), (x0 + d, y0 + d), (x0, y0 + d)])


# ---------------------------------------------------------------- project lists and fund ledgers (issue 17)

def project_rows(n: int = 2, start: int = 1, *, department: str = "水利局") -> list[dict]:
    """n projects of 2024 alternating between the west villages, with the canonical headers."""
    out = []
    for i in range(start, start + n):
        village = "西南村" if i % 2 else "西北村"
        out.append({
            "项目编号": f"XM2024-{i:03d}", "项目名称": f"{village}饮水工程{i}", "年度": 2024, "项目类型": "村基础设施",
            "组织实施单位": "西镇人民政府", "主管部门": department, "乡镇": "西镇", "受益村": village,
            "批复文号": f"栾扶发〔2024〕{i}号", "开工日期": "2024年3月5日", "完工日期": "2024-06-30",
            "竣工验收日期": "2024/7/15", "验收文件": f"栾水验〔2024〕{i}号", "项目状态": "已验收",
        })
    return out


def fund_rows(codes: list[str], *, per_project: int = 2) -> list[dict]:
    """Fund lines of each project: central funds with a document number, then county funds without one, one line a
    year from 2024."""
    out = []
    for code in codes:
        for j in range(per_project):
            central = j == 0
            out.append({
                "项目编号": code, "资金来源": "中央财政专项扶贫资金" if central else "县级财政专项扶贫资金",
                "文号": f"豫财农〔2024〕{code[-3:]}号" if central else "", "下达年度": "2024年" if central else 2023 + j,
                "下达金额（万元）": 30 if central else 10, "支出金额（万元）": 25 if central else 10,
            })
    return out


def write_table_xlsx(path: Path, data: list[dict], *, header: list[str] | None = None,
                     header_labels: dict[str, str] | None = None, title: str | None = "栾川县2024年度项目台账",
                     note: str | None = "单位：万元", merge: list[str] | None = None) -> Path:
    """A ledger as the finance bureau sends it: a title row, a note row, the header, the rows, a 合计 row;
    `merge`: columns whose equal consecutive cells are merged (a project's code over its fund lines)."""
    header = header or list(dict.fromkeys(k for r in data for k in r))
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if note:
        ws.append([note])
    ws.append([(header_labels or {}).get(h, h) for h in header])
    first = ws.max_row + 1
    for r in data:
        ws.append([r.get(h) for h in header])
    for column in merge or ():
        index = header.index(column) + 1
        start = first
        for number in range(first, ws.max_row + 2):
            value = ws.cell(number, index).value if number <= ws.max_row else object()
            if value != ws.cell(start, index).value:
                if number - 1 > start:
                    ws.merge_cells(start_row=start, start_column=index, end_row=number - 1, end_column=index)
                start = number
    ws.append(["合计"])
    ws.append(["注：本表由县财政局填报"])
    wb.save(path)
    return path

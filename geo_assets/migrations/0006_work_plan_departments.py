"""The line departments the county work plan names, on every installation (not only the demo).

A copy of geo_assets.taxonomy.WORK_PLAN_DEPARTMENTS as it was when this migration was written: migrations must not
import code that may change later. Idempotent: an existing department (same name) is left exactly as it is, so
types changed in the admin are never overwritten; reversing removes nothing (the register never deletes).
"""

from django.db import migrations
from django.utils import timezone

DEPARTMENTS = {
    "扶贫办": ["workshop", "ecommerce", "tourism", "equity", "debt"],
    "财政局": [],
    "发改委": ["pv_station", "power"],
    "教体局": ["education", "sports"],
    "住建局": ["sanitation"],
    "交通运输局": ["road"],
    "水利局": ["water_supply", "irrigation"],
    "农业农村局": ["greenhouse", "plantation", "processing", "livestock", "household_fixed"],
    "林业局": ["plantation"],
    "文广新局": ["culture", "tourism"],
    "卫健委": ["health"],
    "残联": [],
}


def departments_create(apps, schema_editor):
    Department = apps.get_model("geo_assets", "Department")
    History = apps.get_model("geo_assets", "HistoricalDepartment")
    for name, types in DEPARTMENTS.items():
        department, created = Department.objects.get_or_create(name=name, defaults={"asset_types": types})
        if created:
            History.objects.create(id=department.pk, name=name, asset_types=types, history_date=timezone.now(),
                                   history_type="+", history_change_reason="工作方案所列行业部门（系统初始化）")


class Migration(migrations.Migration):

    dependencies = [
        ("geo_assets", "0005_funding_special_unstated"),
    ]

    operations = [
        migrations.RunPython(departments_create, migrations.RunPython.noop),
    ]

"""Verification records are evidence: the database refuses DELETE and TRUNCATE (functions from geo_assets 0002/0004)."""

from django.db import migrations

TABLES = ["verification_campaign", "verification_campaignitem", "verification_verification", "verification_photo",
          "verification_historicalcampaign", "verification_historicalcampaignitem",
          "verification_historicalverification"]

forward, backward = [], []
for table in TABLES:
    forward += [
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION register_forbid_delete();",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
        "EXECUTE FUNCTION register_forbid_truncate();",
    ]
    backward += [f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table};",
                 f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};"]


class Migration(migrations.Migration):
    dependencies = [("verification", "0001_initial"), ("geo_assets", "0004_asset_public_name")]

    operations = [migrations.RunSQL(sql=forward, reverse_sql=backward)]

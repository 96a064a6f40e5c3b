"""Indexes no query reads, dropped to make the register's writes (the import above all) cheaper: single-column
indexes that a composite one leading with the same column already gives, and the history tables' copies of the
register's indexes (history rows are read by the record's id). Every geometry keeps its GiST index (the house rule).
docs/performance.md, Import, session 8."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('geo_assets', '0016_login_session'),
    ]

    operations = [
        # Only the foreign keys' own indexes go (Django would also drop and re-add, and so re-check, the constraints);
        # asset_township_village, funding_one_line_per_source and ownershare_unique_owner lead with the same column.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='asset',
                    name='township',
                    field=models.ForeignKey(blank=True, db_index=False, limit_choices_to={'level': 'township'}, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='township_assets', to='geo_assets.adminarea', verbose_name='township'),
                ),
                migrations.AlterField(
                    model_name='fundingline',
                    name='asset',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='funding', to='geo_assets.asset', verbose_name='asset'),
                ),
                migrations.AlterField(
                    model_name='ownershare',
                    name='asset',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='owners', to='geo_assets.asset', verbose_name='asset'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX "geo_assets_asset_township_id_239b73da"',
                    'CREATE INDEX "geo_assets_asset_township_id_239b73da" ON "geo_assets_asset" ("township_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX "geo_assets_fundingline_asset_id_1ef2c015"',
                    'CREATE INDEX "geo_assets_fundingline_asset_id_1ef2c015" ON "geo_assets_fundingline" ("asset_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX "geo_assets_ownershare_asset_id_12c19e7e"',
                    'CREATE INDEX "geo_assets_ownershare_asset_id_12c19e7e" ON "geo_assets_ownershare" ("asset_id")',
                ),
            ],
        ),
        migrations.AlterField(
            model_name='historicalasset',
            name='code',
            field=models.CharField(blank=True, max_length=40, verbose_name='asset code'),
        ),
        migrations.AlterField(
            model_name='historicalasset',
            name='county',
            field=models.ForeignKey(blank=True, db_column='county_code', db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.adminarea', to_field='code', verbose_name='county'),
        ),
        migrations.AlterField(
            model_name='historicalasset',
            name='department',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.department', verbose_name='responsible department'),
        ),
        migrations.AlterField(
            model_name='historicalasset',
            name='township',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, limit_choices_to={'level': 'township'}, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.adminarea', verbose_name='township'),
        ),
        migrations.AlterField(
            model_name='historicalasset',
            name='village',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, limit_choices_to={'level': 'village'}, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.adminarea', verbose_name='village'),
        ),
        migrations.AlterField(
            model_name='historicalfundingline',
            name='asset',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.asset', verbose_name='asset'),
        ),
        migrations.AlterField(
            model_name='historicalownershare',
            name='asset',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geo_assets.asset', verbose_name='asset'),
        ),
    ]

# The login sessions move to geo_assets_session (its user's id beside the data: geo_assets.auth); the sessions
# still open are carried over, their user resolved by its own statement until they are next saved.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('geo_assets', '0015_records_county'),
        ('sessions', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Session',
            fields=[
                ('session_key', models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name='session key')),
                ('session_data', models.TextField(verbose_name='session data')),
                ('expire_date', models.DateTimeField(db_index=True, verbose_name='expire date')),
                ('user_id', models.IntegerField(blank=True, db_index=True, null=True)),
            ],
            options={
                'verbose_name': 'session',
                'verbose_name_plural': 'sessions',
                'db_table': 'geo_assets_session',
                'abstract': False,
            },
        ),
        migrations.RunSQL(
            "INSERT INTO geo_assets_session (session_key, session_data, expire_date) "
            "SELECT session_key, session_data, expire_date FROM django_session WHERE expire_date > now()",
            migrations.RunSQL.noop),
    ]

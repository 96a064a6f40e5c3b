"""Issue 21 item 8: notices frozen before the personal-data rule covered every stage held recipients' names, ID and
phone numbers. Rewrite their snapshots through the rule (geo_assets.privacy.public_snapshot, which the pages apply
again when they show a notice). The history rows keep what was frozen, for staff."""

from django.db import migrations


def redact(apps, schema_editor):
    from geo_assets.privacy import public_snapshot

    PublicityNotice = apps.get_model("geo_assets", "PublicityNotice")
    for pk, snapshot in PublicityNotice.objects.values_list("pk", "snapshot").iterator():
        public = public_snapshot(snapshot)
        if public != snapshot:
            PublicityNotice.objects.filter(pk=pk).update(snapshot=public)


class Migration(migrations.Migration):
    dependencies = [("geo_assets", "0010_lifecycle_steps")]

    operations = [migrations.RunPython(redact, migrations.RunPython.noop)]

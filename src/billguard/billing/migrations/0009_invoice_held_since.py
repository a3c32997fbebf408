"""Record when each held draft was first held, starting from its creation for drafts held now."""

from django.db import migrations, models
from django.db.models import F


def held_since_from_created(apps, schema_editor):  # type: ignore[no-untyped-def]
    Invoice = apps.get_model("billing", "Invoice")
    Invoice.objects.filter(status="held").update(held_since=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_billingrun_started_from"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="held_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(held_since_from_created, migrations.RunPython.noop),
    ]

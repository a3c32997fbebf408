from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_invoice_replaces"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingrun",
            name="report",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="billingrun",
            name="error",
            field=models.TextField(blank=True),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["billing_run", "status", "id"], name="invoice_run_status_idx"
            ),
        ),
    ]

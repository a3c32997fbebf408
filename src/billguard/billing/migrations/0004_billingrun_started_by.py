from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_invoice_terms_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingrun",
            name="started_by",
            field=models.CharField(blank=True, max_length=150),
        ),
    ]

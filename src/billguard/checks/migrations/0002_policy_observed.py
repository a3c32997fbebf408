from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="storedfinding",
            name="observed",
            field=models.BooleanField(default=False),
        ),
    ]

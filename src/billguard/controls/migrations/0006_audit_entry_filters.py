from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("controls", "0005_actions_targets_and_invoice_issued"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                fields=["record_type", "record_id", "sequence"], name="audit_record_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["actor", "sequence"], name="audit_actor_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["action", "sequence"], name="audit_action_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["recorded_at", "sequence"], name="audit_recorded_at_idx"),
        ),
    ]

from django.db import migrations, models


def head_create(apps, schema_editor):
    apps.get_model("controls", "AuditChainHead").objects.create(pk=1, sequence=0, hmac="")


def triggers_create(apps, schema_editor):
    from billguard.controls.triggers import trigger_statements

    for statement in trigger_statements(schema_editor.connection, create=True):
        schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    from billguard.controls.triggers import trigger_statements

    for statement in trigger_statements(schema_editor.connection, create=False):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField(default=0)),
                ("hmac", models.CharField(blank=True, max_length=64)),
            ],
            options={"db_table": "controls_audit_chain_head"},
        ),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField(unique=True)),
                ("recorded_at", models.DateTimeField()),
                ("actor", models.CharField(max_length=150)),
                ("action", models.CharField(max_length=60)),
                ("record_type", models.CharField(max_length=60)),
                ("record_id", models.CharField(max_length=60)),
                ("billing_run_id", models.BigIntegerField(blank=True, null=True)),
                ("before", models.JSONField(blank=True, null=True)),
                ("after", models.JSONField(blank=True, null=True)),
                ("reason", models.TextField(blank=True)),
                ("previous_hmac", models.CharField(blank=True, max_length=64)),
                ("hmac", models.CharField(max_length=64)),
            ],
            options={"db_table": "controls_audit_entry", "ordering": ["sequence"]},
        ),
        migrations.RunPython(head_create, migrations.RunPython.noop),
        migrations.RunPython(triggers_create, triggers_drop),
    ]

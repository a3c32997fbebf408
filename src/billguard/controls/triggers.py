"""SQL of the triggers that reject UPDATE and DELETE on the audit entry table."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "controls_audit_entry"
MESSAGE = "audit entries are append-only: UPDATE and DELETE are rejected"

# NOTE: row-level triggers do not see TRUNCATE on PostgreSQL, so a TRUNCATE of the table is
# not rejected. `billguard audit verify` still reports it by the head row and the checkpoints.
POSTGRESQL_CREATE = [
    f"""
    CREATE FUNCTION controls_audit_entry_reject() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER controls_audit_entry_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION controls_audit_entry_reject()
    """,
]
POSTGRESQL_DROP = [
    f"DROP TRIGGER IF EXISTS controls_audit_entry_append_only ON {TABLE}",
    "DROP FUNCTION IF EXISTS controls_audit_entry_reject()",
]

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER controls_audit_entry_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER controls_audit_entry_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS controls_audit_entry_no_update",
    "DROP TRIGGER IF EXISTS controls_audit_entry_no_delete",
]


def trigger_statements(connection: BaseDatabaseWrapper, *, create: bool) -> list[str]:
    """Return the statements that create (or drop) the triggers on ``connection``'s database."""
    if connection.vendor == "postgresql":
        return POSTGRESQL_CREATE if create else POSTGRESQL_DROP
    if connection.vendor == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    raise NotImplementedError(f"no audit triggers for database vendor {connection.vendor!r}")

"""Audit tables are append-only in the database itself, not only by convention.

A row of an audit table (every concrete AuditEvent) can be inserted, never updated or deleted:
a trigger refuses both, whoever sends the statement (the application, the admin, a shell, a
mistaken migration). TRUNCATE is not refused: it needs the table owner's rights, and the test
suite empties tables that way between tests. The refusal uses SQLSTATE 23001
(restrict_violation), which Django raises as an IntegrityError.
"""

from __future__ import annotations

from django.db import migrations

FUNCTION = "geogrid_refuse_audit_change"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows of % are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a correction as a new event instead.';
END
$$;
"""


def append_only(table: str) -> migrations.RunSQL:
    """The migration operation that makes `table` append-only (reversible)."""
    trigger = f"{table}_append_only"
    return migrations.RunSQL(
        CREATE_FUNCTION
        + f"""
        CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
        """,
        reverse_sql=f"DROP TRIGGER IF EXISTS {trigger} ON {table};",
    )

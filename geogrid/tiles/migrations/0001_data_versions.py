"""Data versions for tile caching: one sequence per tiled table, advanced by a statement-level
trigger on every write (also when an importer disables ordinary triggers: ENABLE ALWAYS). A
sequence takes no row lock, so concurrent intake never waits on it; a rolled-back write still
advances it, which only costs one needless cache miss."""

from django.db import migrations

TABLES = {
    "grids": ["grids_grid"],
    "components": ["components_component", "components_componentclass"],
    "cases": ["cases_case"],
}

FUNCTION = """
CREATE OR REPLACE FUNCTION tiles_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(TG_ARGV[0]::regclass);
    RETURN NULL;
END $$;
"""


def forward_sql() -> list[str]:
    statements = [FUNCTION]
    for layer, tables in TABLES.items():
        sequence = f"tiles_version_{layer}"
        statements.append(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
        for table in tables:
            trigger = f"tiles_version_{table}"
            statements += [
                f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
                f"{table} FOR EACH STATEMENT EXECUTE FUNCTION tiles_bump_version('{sequence}')",
                f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}",
            ]
    return statements


def backward_sql() -> list[str]:
    statements = []
    for layer, tables in TABLES.items():
        for table in tables:
            statements.append(f"DROP TRIGGER IF EXISTS tiles_version_{table} ON {table}")
        statements.append(f"DROP SEQUENCE IF EXISTS tiles_version_{layer}")
    statements.append("DROP FUNCTION IF EXISTS tiles_bump_version()")
    return statements


class Migration(migrations.Migration):
    dependencies = [
        ("grids", "0003_grid_area_class"),
        ("components", "0002_import_records_photos_fewer_indexes"),
        ("cases", "0001_initial"),
    ]
    operations = [migrations.RunSQL(forward_sql(), backward_sql())]

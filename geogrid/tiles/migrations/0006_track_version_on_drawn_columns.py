"""The tracks layer's version follows a patrol row only when its line, status, times or
inspector change, not its counters (points, distance): every batch of points updates the
counters of its patrol in the statement that inserts the points, and the points' insert
already raises the same bucket in that transaction (docs/architecture.md §6.1).
A statement trigger with transition tables cannot name columns, so this one is a row trigger
whose WHEN clause PostgreSQL evaluates without calling a function: a counters-only update
costs nothing (bench/README.md, "Patrols")."""

from django.db import migrations

DRAWN = ("status", "started_at", "ended_at", "inspector_id")
# The line compared as its bytes: `IS DISTINCT FROM` on two geometries needs PostGIS's `=`,
# which a restore (search_path emptied by pg_dump) cannot choose among its candidates.
CHANGED = " OR ".join(
    ["ST_AsEWKB(OLD.geom) IS DISTINCT FROM ST_AsEWKB(NEW.geom)"]
    + [f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in DRAWN]
)

FORWARD = [
    "DROP TRIGGER IF EXISTS tiles_tracks_update_patrols_patrol ON patrols_patrol",
    """
CREATE FUNCTION tiles_bump_track_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tiles_track_version SET version = nextval('tiles_version_tracks')
    WHERE bucket = (NEW.id % 64)::smallint;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER tiles_tracks_update_patrols_patrol AFTER UPDATE ON patrols_patrol "
    f"FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION tiles_bump_track_row()",
    "ALTER TABLE patrols_patrol ENABLE ALWAYS TRIGGER tiles_tracks_update_patrols_patrol",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS tiles_tracks_update_patrols_patrol ON patrols_patrol",
    "DROP FUNCTION IF EXISTS tiles_bump_track_row()",
    "CREATE TRIGGER tiles_tracks_update_patrols_patrol "
    "AFTER UPDATE ON patrols_patrol REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION tiles_bump_tracks('id')",
    "ALTER TABLE patrols_patrol ENABLE ALWAYS TRIGGER tiles_tracks_update_patrols_patrol",
]


class Migration(migrations.Migration):
    dependencies = [("tiles", "0005_track_versions")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]

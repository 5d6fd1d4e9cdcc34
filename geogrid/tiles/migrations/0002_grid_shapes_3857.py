"""`tiles_grid`: the active grids (valid_to IS NULL) with their boundary already in EPSG:3857
(docs/architecture.md §6.2), for the grids layer.

Transforming every polygon through PROJ on each tile request was a quarter of a z14 grid
tile's SQL (measured: 4.6 → 3.4 ms median over 60 tiles of the 16,000-grid city). The table
lives in the tiles app, not as a column of grids_grid, because it is a copy shaped for one
reader: the grids app keeps one geometry and knows nothing of tiles (docs/architecture.md §2.3).

Kept in step by statement-level triggers on grids_grid over the transition tables (a bulk load
of thousands of grids costs one INSERT … SELECT), in the writer's transaction, so the next tile
request after a commit sees the edit, like the data version its ETag carries (0001). ENABLE
ALWAYS for the same reason as 0001: bulk loads that disable ordinary triggers still count.
"""

from django.db import migrations

COPY = """
    INSERT INTO tiles_grid (id, level_id, code, name, grid_type, area_class, geom)
    SELECT g.id, g.level_id, g.code, g.name, g.grid_type, g.area_class,
           ST_Transform(g.geom, 3857)
    FROM {rows} g
    WHERE g.valid_to IS NULL
"""
FORGET = "DELETE FROM tiles_grid t USING {rows} g WHERE t.id = g.id"

FORWARD = [
    # Text columns: a longer code or name in grids_grid needs no migration here.
    """
CREATE TABLE tiles_grid (
    id bigint PRIMARY KEY,
    level_id bigint NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    grid_type text NOT NULL,
    area_class text NOT NULL,
    geom geometry(MultiPolygon, 3857) NOT NULL
)""",
    f"""
CREATE FUNCTION tiles_grid_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {COPY.format(rows="new_grids")};
    RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION tiles_grid_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {FORGET.format(rows="old_grids")};
    {COPY.format(rows="new_grids")};
    RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION tiles_grid_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {FORGET.format(rows="old_grids")};
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION tiles_grid_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE naming both tables (Django's flush does) would make a
    -- nested TRUNCATE fail with "being used by active queries in this session".
    DELETE FROM tiles_grid;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER tiles_grid_insert AFTER INSERT ON grids_grid REFERENCING NEW TABLE AS "
    "new_grids FOR EACH STATEMENT EXECUTE FUNCTION tiles_grid_inserted()",
    "CREATE TRIGGER tiles_grid_update AFTER UPDATE ON grids_grid REFERENCING OLD TABLE AS "
    "old_grids NEW TABLE AS new_grids FOR EACH STATEMENT EXECUTE FUNCTION tiles_grid_updated()",
    "CREATE TRIGGER tiles_grid_delete AFTER DELETE ON grids_grid REFERENCING OLD TABLE AS "
    "old_grids FOR EACH STATEMENT EXECUTE FUNCTION tiles_grid_deleted()",
    "CREATE TRIGGER tiles_grid_truncate AFTER TRUNCATE ON grids_grid "
    "FOR EACH STATEMENT EXECUTE FUNCTION tiles_grid_truncated()",
    *(
        f"ALTER TABLE grids_grid ENABLE ALWAYS TRIGGER tiles_grid_{event}"
        for event in ("insert", "update", "delete", "truncate")
    ),
    COPY.format(rows="grids_grid"),
    # The grids layer's only lookup: the tile's envelope.
    "CREATE INDEX tiles_grid_geom_gist ON tiles_grid USING gist (geom)",
    "ANALYZE tiles_grid",
]
BACKWARD = [
    *(
        f"DROP TRIGGER IF EXISTS tiles_grid_{event} ON grids_grid"
        for event in ("insert", "update", "delete", "truncate")
    ),
    *(
        f"DROP FUNCTION IF EXISTS tiles_grid_{what}()"
        for what in ("inserted", "updated", "deleted", "truncated")
    ),
    "DROP TABLE IF EXISTS tiles_grid",
]


class Migration(migrations.Migration):
    dependencies = [
        ("tiles", "0001_data_versions"),
        ("grids", "0003_grid_area_class"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

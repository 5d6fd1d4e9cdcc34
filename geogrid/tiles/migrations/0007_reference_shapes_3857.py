"""`tiles_reference`: the reference features (docs/architecture.md §12) in EPSG:3857, for the
offline basemap's `reference` tile layer (docs/operations.md, "The offline basemap").

The same pattern as `tiles_grid` (0002): a copy shaped for one reader, kept in step by
statement-level triggers over the transition tables (an import of 100,000 buildings by COPY
costs one INSERT … SELECT), in the writer's transaction, ENABLE ALWAYS so that bulk loads
that disable ordinary triggers still count.

Each row carries `minzoom`, the first zoom that draws it, so a zoomed-out tile of a dense
city reads main roads and large water, not every building: main roads from z10, secondary
roads and railways from z12, streets from z13, streams from z14, lanes and buildings from
z15, walls from z16. Areas (water areas, green space) by their size on the ground: ≥ 1 km²
from z8, ≥ 10 ha from z11, ≥ 1 ha from z13, smaller from z14. The lookups of zoomed-out
tiles use partial GiST indexes of the rows they may draw (the tile's statement names its
zoom as a literal, so the planner can pick them), not one index holding every building.

The layer's data version is a row of tiles_layer_version (0003), raised by the same
statement trigger as the other layers.
"""

from django.db import migrations

# An area's size on the ground (m², geodesic), computed once per row: only water and green
# areas reach the ELSE branch (buildings are matched by class first).
MINZOOM = """
    (CASE g.feature_class
        WHEN 'main' THEN 10
        WHEN 'secondary' THEN 12
        WHEN 'street' THEN 13
        WHEN 'lane' THEN 15
        WHEN 'railway' THEN 12
        WHEN 'wall' THEN 16
        WHEN 'building' THEN 15
        WHEN 'stream' THEN 14
        ELSE (SELECT CASE
                  WHEN a.m2 IS NULL THEN 10
                  WHEN a.m2 >= 1e6 THEN 8
                  WHEN a.m2 >= 1e5 THEN 11
                  WHEN a.m2 >= 1e4 THEN 13
                  ELSE 14 END
              FROM (SELECT CASE WHEN GeometryType(g.geom) IN ('POLYGON', 'MULTIPOLYGON')
                                THEN ST_Area(g.geom::geography) END AS m2) a)
     END)::smallint"""
COPY = f"""
    INSERT INTO tiles_reference (id, layer_id, kind, feature_class, name, minzoom, geom)
    SELECT g.id, g.layer_id, g.kind, g.feature_class, g.name, {MINZOOM},
           ST_Transform(g.geom, 3857)
    FROM {{rows}} g
"""
FORGET = "DELETE FROM tiles_reference t USING {rows} g WHERE t.id = g.id"
TABLE = "reference_referencefeature"
EVENTS = ("insert", "update", "delete", "truncate")

FORWARD = [
    """
CREATE TABLE tiles_reference (
    id bigint PRIMARY KEY,
    layer_id bigint NOT NULL,
    kind text NOT NULL,
    feature_class text NOT NULL,
    name text NOT NULL,
    minzoom smallint NOT NULL,
    geom geometry(Geometry, 3857) NOT NULL
)""",
    f"""
CREATE FUNCTION tiles_reference_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {COPY.format(rows="new_features")};
    RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION tiles_reference_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {FORGET.format(rows="old_features")};
    {COPY.format(rows="new_features")};
    RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION tiles_reference_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {FORGET.format(rows="old_features")};
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION tiles_reference_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: as in tiles_grid_truncated (0002).
    DELETE FROM tiles_reference;
    RETURN NULL;
END $$""",
    f"CREATE TRIGGER tiles_reference_insert AFTER INSERT ON {TABLE} REFERENCING NEW TABLE AS "
    "new_features FOR EACH STATEMENT EXECUTE FUNCTION tiles_reference_inserted()",
    f"CREATE TRIGGER tiles_reference_update AFTER UPDATE ON {TABLE} REFERENCING OLD TABLE AS "
    "old_features NEW TABLE AS new_features FOR EACH STATEMENT "
    "EXECUTE FUNCTION tiles_reference_updated()",
    f"CREATE TRIGGER tiles_reference_delete AFTER DELETE ON {TABLE} REFERENCING OLD TABLE AS "
    "old_features FOR EACH STATEMENT EXECUTE FUNCTION tiles_reference_deleted()",
    f"CREATE TRIGGER tiles_reference_truncate AFTER TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION tiles_reference_truncated()",
    *(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER tiles_reference_{event}" for event in EVENTS),
    COPY.format(rows=TABLE),
    "CREATE INDEX tiles_reference_geom_gist ON tiles_reference USING gist (geom)",
    # Zoomed-out tiles (below z13, below z15) look only among the rows they may draw.
    "CREATE INDEX tiles_reference_geom_z12_gist ON tiles_reference USING gist (geom) "
    "WHERE minzoom <= 12",
    "CREATE INDEX tiles_reference_geom_z14_gist ON tiles_reference USING gist (geom) "
    "WHERE minzoom <= 14",
    "ANALYZE tiles_reference",
    # The data version (0001, 0003): its sequence, its row, the statement trigger.
    "CREATE SEQUENCE IF NOT EXISTS tiles_version_reference",
    "INSERT INTO tiles_layer_version VALUES ('reference', nextval('tiles_version_reference'))",
    f"CREATE TRIGGER tiles_version_{TABLE} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
    f"{TABLE} FOR EACH STATEMENT EXECUTE FUNCTION tiles_bump_version('tiles_version_reference')",
    f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER tiles_version_{TABLE}",
]
BACKWARD = [
    f"DROP TRIGGER IF EXISTS tiles_version_{TABLE} ON {TABLE}",
    "DELETE FROM tiles_layer_version WHERE layer = 'reference'",
    "DROP SEQUENCE IF EXISTS tiles_version_reference",
    *(f"DROP TRIGGER IF EXISTS tiles_reference_{event} ON {TABLE}" for event in EVENTS),
    *(
        f"DROP FUNCTION IF EXISTS tiles_reference_{what}()"
        for what in ("inserted", "updated", "deleted", "truncated")
    ),
    "DROP TABLE IF EXISTS tiles_reference",
]


class Migration(migrations.Migration):
    dependencies = [
        ("tiles", "0006_track_version_on_drawn_columns"),
        ("reference", "0001_initial"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

"""Data versions that become visible with the write that made them.

0001 advanced a sequence in a statement trigger. A sequence is not transactional: a tile read
while a writer had bumped it but not yet committed got the new version with the old data, and
a client caching that pair was then answered 304 with stale data until the next write. The
version now lives in a row (tiles_layer_version) that the same trigger updates: readers see the
new version only once the data is committed, and the tile (read after it) is at least that new.
The row stays locked from the write to its commit, which serialises writers of one layer for
that moment (intake is one autocommitted statement, a grid edit a few hundred ms; a bulk
component import holds it until it commits, so a component edit made meanwhile waits for the
import); the sequence still supplies the numbers, so a version is never issued twice, even
after a rollback.
"""

from django.db import migrations

LAYERS = ("grids", "components", "cases")

FORWARD = [
    "CREATE TABLE tiles_layer_version (layer text PRIMARY KEY, version bigint NOT NULL)",
    *(
        f"INSERT INTO tiles_layer_version VALUES ('{layer}', "
        f"(SELECT last_value FROM tiles_version_{layer}))"
        for layer in LAYERS
    ),
    # The triggers of 0001 pass the sequence's name, tiles_version_<layer>.
    """
CREATE OR REPLACE FUNCTION tiles_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tiles_layer_version SET version = nextval(TG_ARGV[0]::regclass)
    WHERE layer = substr(TG_ARGV[0], length('tiles_version_') + 1);
    RETURN NULL;
END $$""",
]

BACKWARD = [
    """
CREATE OR REPLACE FUNCTION tiles_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(TG_ARGV[0]::regclass);
    RETURN NULL;
END $$""",
    "DROP TABLE tiles_layer_version",
]


class Migration(migrations.Migration):
    dependencies = [("tiles", "0002_grid_shapes_3857")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

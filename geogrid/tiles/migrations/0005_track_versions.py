"""The data version of the tracks layer (patrols and their points, docs/architecture.md §6.1).

The other layers keep one row each in tiles_layer_version, locked by a writer from its write
to its commit. Track points arrive as hundreds of small batches a second, each its own
transaction with a commit to flush: one row would queue every batch of the city behind the
one before it, commit included. So the tracks' version is spread over 64 rows, one per
bucket of patrol ids (patrol id mod 64); a batch raises only its patrol's bucket, and two
inspectors wait for each other only when their patrols share a bucket. The layer's version
is the sum of the buckets: each committed write raises a bucket to a fresh number of the
sequence (taken under the row's lock, so above the bucket's last value), so the sum only
grows, and a reader sees it grow only together with the data it stands for.

Statement triggers over transition tables, ENABLE ALWAYS, as for the other layers; the buckets
a statement touched are locked in bucket order, so two bulk writers cannot deadlock on them.
"""

from django.db import migrations

BUCKETS = 64

FORWARD = [
    "CREATE SEQUENCE IF NOT EXISTS tiles_version_tracks",
    "CREATE TABLE tiles_track_version (bucket smallint PRIMARY KEY, version bigint NOT NULL)",
    f"INSERT INTO tiles_track_version SELECT b, 0 FROM generate_series(0, {BUCKETS - 1}) b",
    f"""
CREATE FUNCTION tiles_bump_tracks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched smallint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        SELECT array_agg(bucket) INTO touched FROM tiles_track_version;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('SELECT array_agg(DISTINCT (%I %% {BUCKETS})::smallint) FROM old_rows',
                       TG_ARGV[0]) INTO touched;
    ELSE
        EXECUTE format('SELECT array_agg(DISTINCT (%I %% {BUCKETS})::smallint) FROM new_rows',
                       TG_ARGV[0]) INTO touched;
    END IF;
    IF touched IS NULL THEN
        RETURN NULL;  -- the statement changed no row
    END IF;
    PERFORM 1 FROM tiles_track_version WHERE bucket = ANY(touched) ORDER BY bucket FOR UPDATE;
    UPDATE tiles_track_version SET version = nextval('tiles_version_tracks')
    WHERE bucket = ANY(touched);
    RETURN NULL;
END $$""",
]

# (table, the column holding the patrol id)
TABLES = (("patrols_patrol", "id"), ("patrols_trackpoint", "patrol_id"))
for _table, _column in TABLES:
    for _event, _reference in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        _name = f"tiles_tracks_{_event.lower()}_{_table}"
        FORWARD += [
            f"CREATE TRIGGER {_name} AFTER {_event} ON {_table} REFERENCING {_reference} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION tiles_bump_tracks('{_column}')",
            f"ALTER TABLE {_table} ENABLE ALWAYS TRIGGER {_name}",
        ]
    FORWARD += [
        f"CREATE TRIGGER tiles_tracks_truncate_{_table} AFTER TRUNCATE ON {_table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION tiles_bump_tracks('{_column}')",
        f"ALTER TABLE {_table} ENABLE ALWAYS TRIGGER tiles_tracks_truncate_{_table}",
    ]

BACKWARD = [
    *(
        f"DROP TRIGGER IF EXISTS tiles_tracks_{event}_{table} ON {table}"
        for table, _ in TABLES
        for event in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION IF EXISTS tiles_bump_tracks()",
    "DROP TABLE IF EXISTS tiles_track_version",
    "DROP SEQUENCE IF EXISTS tiles_version_tracks",
]


class Migration(migrations.Migration):
    dependencies = [("tiles", "0004_seeded_tiles"), ("patrols", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

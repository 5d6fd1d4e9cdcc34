"""Reports per unit grid and month (GridMonthCount), kept by triggers on cases_case.

Why triggers, not the services: the count must stay exact under every write to cases_case —
intake's single INSERT statement, workflow saves that flip `overdue`, `flag_overdue`'s bulk
UPDATE, re-assignment, bulk loads, `QuerySet.update()` in tests and scripts. A trigger sees all
of them, in the writer's transaction; a service hook would see only the paths that remember it.
The triggers are ENABLE ALWAYS, like the tile versions (tiles/migrations/0001), so a bulk load
that sets session_replication_role = replica keeps the counts too.

- INSERT and DELETE: one statement-level trigger each, over the transition table, so a bulk
  insert costs one grouped upsert, not one per row;
- UPDATE: a row-level trigger whose WHEN clause fires only when a counted column changes
  (reported_at, grid, grid code, overdue), so the workflow's other saves cost nothing;
- TRUNCATE empties the counts.

Upserts lock the count rows they touch in key order, so concurrent bulk writers cannot
deadlock one another; rows that fall to zero are deleted.

`cases_count_month(t)` is the first instant of t's calendar month in the zone below
(settings.TIME_ZONE when this migration ran). The command-center queries call the same
function to split a period into whole months and edges, so a changed TIME_ZONE can only make
local-calendar periods slower (more edge), never wrong.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import deletion

KEY = "month, grid_id, grid_code"
COUNTED = ("reported_at", "grid_id", "grid_code", "overdue")


def forward_sql(zone: str) -> list[str]:
    upsert = f"""
        INSERT INTO cases_gridmonthcount AS s ({KEY}, reports, overdue)
        SELECT cases_count_month(c.reported_at), c.grid_id, c.grid_code, count(*) * {{sign}},
               count(*) FILTER (WHERE c.overdue) * {{sign}}
        FROM {{rows}} c
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT ({KEY}) DO UPDATE
            SET reports = s.reports + EXCLUDED.reports, overdue = s.overdue + EXCLUDED.overdue"""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COUNTED)
    return [
        f"""
CREATE FUNCTION cases_count_month(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('month', at AT TIME ZONE '{zone}') AT TIME ZONE '{zone}'
$$""",
        f"""
CREATE FUNCTION cases_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {upsert.format(sign=1, rows="new_cases")};
    RETURN NULL;
END $$""",
        f"""
CREATE FUNCTION cases_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {upsert.format(sign=-1, rows="old_cases")};
    DELETE FROM cases_gridmonthcount s USING (SELECT DISTINCT
            cases_count_month(c.reported_at) AS month, c.grid_id, c.grid_code FROM old_cases c) d
        WHERE s.month = d.month AND s.grid_id = d.grid_id AND s.grid_code = d.grid_code
          AND s.reports = 0;
    RETURN NULL;
END $$""",
        f"""
CREATE FUNCTION cases_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_month timestamptz := cases_count_month(OLD.reported_at);
    new_month timestamptz := cases_count_month(NEW.reported_at);
BEGIN
    -- The lower key first (the order the statement triggers lock in).
    IF (old_month, OLD.grid_id, OLD.grid_code) < (new_month, NEW.grid_id, NEW.grid_code) THEN
        UPDATE cases_gridmonthcount
            SET reports = reports - 1, overdue = overdue - OLD.overdue::int
            WHERE month = old_month AND grid_id = OLD.grid_id AND grid_code = OLD.grid_code;
        INSERT INTO cases_gridmonthcount AS s ({KEY}, reports, overdue)
            VALUES (new_month, NEW.grid_id, NEW.grid_code, 1, NEW.overdue::int)
            ON CONFLICT ({KEY}) DO UPDATE
                SET reports = s.reports + 1, overdue = s.overdue + EXCLUDED.overdue;
    ELSE
        INSERT INTO cases_gridmonthcount AS s ({KEY}, reports, overdue)
            VALUES (new_month, NEW.grid_id, NEW.grid_code, 1, NEW.overdue::int)
            ON CONFLICT ({KEY}) DO UPDATE
                SET reports = s.reports + 1, overdue = s.overdue + EXCLUDED.overdue;
        UPDATE cases_gridmonthcount
            SET reports = reports - 1, overdue = overdue - OLD.overdue::int
            WHERE month = old_month AND grid_id = OLD.grid_id AND grid_code = OLD.grid_code;
    END IF;
    DELETE FROM cases_gridmonthcount
        WHERE month = old_month AND grid_id = OLD.grid_id AND grid_code = OLD.grid_code
          AND reports = 0;
    RETURN NULL;
END $$""",
        """
CREATE FUNCTION cases_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE naming both tables (Django's flush does) would make a
    -- nested TRUNCATE fail with "being used by active queries in this session".
    DELETE FROM cases_gridmonthcount;
    RETURN NULL;
END $$""",
        "CREATE TRIGGER cases_count_insert AFTER INSERT ON cases_case REFERENCING NEW TABLE AS "
        "new_cases FOR EACH STATEMENT EXECUTE FUNCTION cases_count_inserted()",
        "CREATE TRIGGER cases_count_delete AFTER DELETE ON cases_case REFERENCING OLD TABLE AS "
        "old_cases FOR EACH STATEMENT EXECUTE FUNCTION cases_count_deleted()",
        f"CREATE TRIGGER cases_count_update AFTER UPDATE OF {', '.join(COUNTED)} ON cases_case "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION cases_count_updated()",
        "CREATE TRIGGER cases_count_truncate AFTER TRUNCATE ON cases_case "
        "FOR EACH STATEMENT EXECUTE FUNCTION cases_count_truncated()",
        *(
            f"ALTER TABLE cases_case ENABLE ALWAYS TRIGGER cases_count_{event}"
            for event in ("insert", "delete", "update", "truncate")
        ),
        # The cases already there.
        upsert.format(sign=1, rows="cases_case"),
    ]


BACKWARD_SQL = [
    *(
        f"DROP TRIGGER IF EXISTS cases_count_{event} ON cases_case"
        for event in ("insert", "delete", "update", "truncate")
    ),
    *(
        f"DROP FUNCTION IF EXISTS cases_count_{what}()"
        for what in ("inserted", "deleted", "updated", "truncated")
    ),
    "DROP FUNCTION IF EXISTS cases_count_month(timestamptz)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_period_grid_index"),
        ("grids", "0003_grid_area_class"),
    ]

    operations = [
        migrations.CreateModel(
            name="GridMonthCount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "month",
                        "grid",
                        "grid_code",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("month", models.DateTimeField(verbose_name="月份")),
                ("grid_code", models.CharField(max_length=17, verbose_name="网格编码")),
                ("reports", models.IntegerField(verbose_name="上报数")),
                ("overdue", models.IntegerField(verbose_name="已超期")),
                (
                    "grid",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=deletion.DO_NOTHING,
                        related_name="+",
                        to="grids.grid",
                    ),
                ),
            ],
            options={
                "verbose_name": "网格月上报数",
                "verbose_name_plural": "网格月上报数",
            },
        ),
        migrations.RunSQL(forward_sql(settings.TIME_ZONE), BACKWARD_SQL),
    ]

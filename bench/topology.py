"""The topology report of one parent with 16,000 children against two raw baselines.

- `topology_report()` as the API and the check_topology command call it: ORM load, validity,
  overlaps, escapes, gaps and area bounds, with the tolerance (a sliver under 0.5 m is noise);
- raw shapely: the same children loaded as WKB with one raw query, transformed to metres, then
  GEOS's coverage functions: is_valid, coverage_invalid_edges (overlaps and gaps between
  neighbours) and the parent minus the coverage union (gaps at the parent's edge);
- raw PostGIS 3.3 (no ST_CoverageInvalidEdges there): one query each for validity, interior
  overlaps of neighbour pairs and the parent minus the union of its children.

The baselines find problems; they do not locate, measure and word them like the report does.
"""

from __future__ import annotations

import psycopg
import shapely
from django.db import connection

from bench.common import Result, median_ns, timed_ns
from geogrid.core.gis import to_metric

TARGET_S = 1.0

CHILDREN_WKB_SQL = """
SELECT ST_AsBinary(geom) FROM grids_grid
WHERE parent_id = %s AND valid_to IS NULL ORDER BY code
"""

POSTGIS_SQL = {
    "validity": """
        SELECT count(*) FROM grids_grid
        WHERE parent_id = %(parent)s AND valid_to IS NULL AND NOT ST_IsValid(geom)
    """,
    "overlaps": """
        SELECT count(*) FROM grids_grid a JOIN grids_grid b
          ON a.geom && b.geom AND a.code < b.code
        WHERE a.parent_id = %(parent)s AND b.parent_id = %(parent)s
          AND a.valid_to IS NULL AND b.valid_to IS NULL
          AND ST_Relate(a.geom, b.geom, '2********')
    """,
    "gaps": """
        SELECT ST_Area(ST_Transform(ST_Difference(p.geom, u.geom), 4548))
        FROM grids_grid p, (SELECT ST_Union(geom) AS geom FROM grids_grid
                            WHERE parent_id = %(parent)s AND valid_to IS NULL) u
        WHERE p.id = %(parent)s
    """,
}


def _shapely_baseline(parent_id: int, tolerance_m: float) -> dict[str, float]:
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(CHILDREN_WKB_SQL, (parent_id,), binary=True)
        children = shapely.from_wkb([row[0] for row in cursor.fetchall()])
        cursor.execute(
            "SELECT ST_AsBinary(geom) FROM grids_grid WHERE id = %s", (parent_id,), binary=True
        )
        parent = shapely.from_wkb(cursor.fetchone()[0])
    metric = to_metric(children)
    invalid = int((~shapely.is_valid(metric)).sum())
    edges = shapely.coverage_invalid_edges(metric, gap_width=tolerance_m)
    bad_edges = int((~shapely.is_empty(edges)).sum())
    gap_area = shapely.area(
        shapely.difference(to_metric(parent), shapely.coverage_union_all(metric))
    )
    return {"invalid": invalid, "invalid_edges": bad_edges, "gap_m2": float(gap_area)}


def _postgis_baseline(parent_id: int) -> dict[str, float]:
    found = {}
    with connection.cursor() as cursor:
        for name, sql in POSTGIS_SQL.items():
            cursor.execute(sql, {"parent": parent_id})
            found[name] = float(cursor.fetchone()[0] or 0)
    return found


def run(parent_code: str, *, repeat: int, postgis: bool) -> list[Result]:
    from django.conf import settings

    from geogrid.grids.models import Grid
    from geogrid.grids.topology import topology_report

    parent = Grid.objects.select_related("level").get(code=parent_code)
    tolerance = settings.GEOGRID_TOPOLOGY_TOLERANCE_M
    print(f"  topology_report ×{repeat}…", flush=True)
    ours_ns, ours_all, report = median_ns(lambda: topology_report(parent=parent), repeat)
    print(f"  raw shapely coverage check ×{repeat}…", flush=True)
    raw_ns, raw_all, raw_found = median_ns(lambda: _shapely_baseline(parent.id, tolerance), repeat)
    name = f"topology_report, {report['children']:,} children"
    target = f"≤ {TARGET_S:g} s"
    details = {
        "children": report["children"],
        "ok": report["ok"],
        "counts": report["counts"],
        "topology_report_runs_s": [t / 1e9 for t in ours_all],
        "raw_shapely_runs_s": [t / 1e9 for t in raw_all],
        "raw_shapely_found": raw_found,
    }
    results = [
        Result(
            name,
            ours_ns / 1e9,
            "s",
            "raw shapely coverage",
            raw_ns / 1e9,
            target=target,
            passed=ours_ns / 1e9 <= TARGET_S,
            details=details,
        )
    ]
    if postgis:
        print("  raw PostGIS validity + overlaps + gaps (once)…", flush=True)
        sql_ns, sql_found = timed_ns(lambda: _postgis_baseline(parent.id))
        details = dict(details, postgis_s=sql_ns / 1e9, postgis_found=sql_found)
        results[0].details = details
        results.append(
            Result(
                name + " (vs SQL)",
                ours_ns / 1e9,
                "s",
                "raw PostGIS 3.3 SQL",
                sql_ns / 1e9,
                target=target,
                passed=ours_ns / 1e9 <= TARGET_S,
                details=details,
            )
        )
    return results

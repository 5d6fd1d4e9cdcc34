"""Growth: the same targets on today's benchmark city and on one SCALE times larger, same run.

`python -m bench --only growth [--growth-scale 10]`.

- today's size: the `geogrid_bench` database as the other benchmarks leave it (the demo city
  and the synthetic city: 16,000 unit grids, 2,000,000 components, 1,000,000 reports);
- the larger city, in its own database `geogrid_growth` (`geogrid_growth_<scale>` for other
  scales), built once and kept like the synthetic city: migrated, given the demo city, then
  district 110105 (the synthetic city's code, so the benchmark modules find it unchanged) →
  one street → SCALE communities of 16,000 unit grids each (the synthetic city's generator,
  one jittered Voronoi lattice SCALE times the size, cut into blocks of 160 × 100 cells),
  SCALE × 1,000,000 components (`ST_GeneratePoints` inside every unit grid, one INSERT …
  SELECT per community) and SCALE × 1,000,000 reports over the past 365 days (the heat
  benchmark's INSERT … SELECT, 1,000,000 per statement). Before building it checks the free
  disk against an estimate from today's database and refuses when short; once built it prints
  `pg_total_relation_size` per table;
- measured in both databases, each in its own process (`python -m bench.growth measure`):
  locate() p50/p99 and nearest-20 p50/p99 at points in the synthetic city, grid and
  component tiles at z14, reports per unit grid over 365 and 30 days, intake p50/p99 in the
  synthetic city, and the 1,000,000-row CSV import (beside ogr2ogr). Each line shows the larger
  city's figure beside today's and their ratio: the growth factor. The topology report is per
  parent (16,000 children in both), so it is flat by construction and not repeated.

A smoke run: `--growth-scale 0.1` (1,600 grids, 100,000 components and reports) in
`geogrid_growth_0.1`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

import psycopg

from bench.common import Result

UNITS_PER_SCALE = 16_000
COMPONENTS_PER_SCALE = 1_000_000
REPORTS_PER_SCALE = 1_000_000
BLOCK_COLUMNS, BLOCK_ROWS = 160, 100  # one community: the synthetic city's lattice
BLOCKS_ACROSS = 5
MARK = "bench growth"
# Disk: headroom over the estimate for WAL (max_wal_size 4 GB) and sorts.
DISK_HEADROOM_BYTES = 6 * 1024**3


def database_name(scale: float) -> str:
    return "geogrid_growth" if scale == 10 else f"geogrid_growth_{scale:g}"


def layout(scale: float) -> tuple[int, int, int]:
    """(columns, rows, communities) of the lattice for `scale` (16,000 grids per unit)."""
    if scale < 1:
        side = math.sqrt(scale)
        return max(4, round(BLOCK_COLUMNS * side)), max(4, round(BLOCK_ROWS * side)), 1
    if scale != int(scale) or (scale > BLOCKS_ACROSS and scale % BLOCKS_ACROSS):
        raise SystemExit(
            f"--growth-scale {scale:g}: use a fraction below 1, 1–{BLOCKS_ACROSS}, "
            f"or a multiple of {BLOCKS_ACROSS}"
        )
    across = min(int(scale), BLOCKS_ACROSS)
    down = math.ceil(scale / BLOCKS_ACROSS)
    return across * BLOCK_COLUMNS, down * BLOCK_ROWS, int(scale)


# --- In the parent process (python -m bench) -------------------------------------------------
def _url(name: str) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="") + (
        f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    )
    return f"postgis://{auth}@{db['HOST']}:{db['PORT']}/{quote(name, safe='')}"


def _admin() -> psycopg.Connection:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname="postgres",
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    )


def _estimate_bytes(scale: float) -> int:
    """Disk the larger city needs: today's bytes per component, report and grid (tables with
    their indexes and TOAST) times the rows it adds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT pg_total_relation_size('components_component')::float
                       / greatest(1, (SELECT count(*) FROM components_component)),
                   (pg_total_relation_size('cases_case') + pg_total_relation_size('cases_caseevent')
                    + pg_total_relation_size('cases_gridmonthcount'))::float
                       / greatest(1, (SELECT count(*) FROM cases_case)),
                   (pg_total_relation_size('grids_grid') + pg_total_relation_size('tiles_grid')
                    + pg_total_relation_size('grids_gridboundary'))::float
                       / greatest(1, (SELECT count(*) FROM grids_grid))""")
        per_component, per_report, per_grid = cursor.fetchone()
    return int(
        scale
        * (
            COMPONENTS_PER_SCALE * per_component
            + REPORTS_PER_SCALE * per_report
            + UNITS_PER_SCALE * per_grid
        )
    )


def _data_directory() -> str:
    with _admin() as admin:
        try:
            return admin.execute("SHOW data_directory").fetchone()[0]
        except psycopg.Error:
            return "."  # not a superuser: the current disk is the best guess


def _child(args: list[str], database: str) -> dict:
    """Run `python -m bench.growth …` against `database`; its last stdout line is JSON."""
    env = dict(os.environ, DATABASE_URL=_url(database), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.growth", *args], env=env, stdout=subprocess.PIPE, text=True
    )
    last = ""
    for line in process.stdout:
        if line.startswith("{"):
            last = line
        else:
            print("  " + line.rstrip(), flush=True)
    if process.wait():
        raise RuntimeError(f"bench.growth {' '.join(args)} failed (exit {process.returncode})")
    return json.loads(last)


def ensure_built(scale: float) -> dict:
    """Build the larger city's database unless it is there; returns its sizes."""
    name = database_name(scale)
    with _admin() as admin:
        exists = (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )
    if exists:
        state = _child(["state"], name)
        if state.get("complete"):
            return state
    need = _estimate_bytes(scale)
    directory = _data_directory()
    free = shutil.disk_usage(directory).free
    gb = 1024**3
    print(
        f"  {name}: about {need / gb:,.1f} GB needed (estimated from today's rows), "
        f"{free / gb:,.1f} GB free under {directory}",
        flush=True,
    )
    if free < need + DISK_HEADROOM_BYTES:
        raise SystemExit(
            f"Not enough disk for the growth benchmark: it needs about "
            f"{(need + DISK_HEADROOM_BYTES) / gb:,.1f} GB (data + WAL headroom) "
            f"and {free / gb:,.1f} GB are free under {directory}. Free some space "
            "or use a smaller --growth-scale."
        )
    if not exists:
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    return _child(["build", "--scale", f"{scale:g}"], name)


def run(*, scale: float, calls: int, tiles: int) -> list[Result]:
    from django.db import connection

    started = time.perf_counter()
    built = ensure_built(scale)
    print(
        f"  {database_name(scale)}: "
        + ", ".join(f"{table} {size / 1024**2:,.0f} MB" for table, size in built["sizes"].items())
        + f"; {built['total_bytes'] / 1024**3:,.2f} GB in all",
        flush=True,
    )
    today_name = connection.settings_dict["NAME"]
    measure = ["measure", "--calls", str(calls), "--tiles", str(tiles)]
    print(f"  measuring today's size ({today_name})…", flush=True)
    today = _child(measure, today_name)
    print(f"  measuring ×{scale:g} ({database_name(scale)})…", flush=True)
    grown = _child([*measure, "--grown"], database_name(scale))
    results = []
    for key, big in grown["results"].items():
        small = today["results"].get(key)
        if small is None or big["measured"] is None:
            continue
        result = Result(
            f"×{scale:g}: {big['name']}",
            big["measured"],
            big["unit"],
            "today's size",
            small["measured"],
            target=big["target"],
            passed=big["passed"],
            higher_is_better=big["higher_is_better"],
            details={
                "today": small,
                "grown": big,
                "today_counts": today["counts"],
                "grown_counts": grown["counts"],
                "sizes": built["sizes"],
            },
        )
        results.append(result)
    print(
        f"  today: {today['counts']}\n  ×{scale:g}: {grown['counts']} "
        f"({time.perf_counter() - started:,.0f} s)",
        flush=True,
    )
    return results


# --- In the child process (python -m bench.growth, DATABASE_URL set) -------------------------
def _state_table(cursor: Any) -> None:
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_growth_state (step text PRIMARY KEY, "
        "seconds float NOT NULL, finished_at timestamptz NOT NULL DEFAULT now())"
    )


def _done(cursor: Any) -> set[str]:
    _state_table(cursor)
    cursor.execute("SELECT step FROM bench_growth_state")
    return {row[0] for row in cursor.fetchall()}


def _mark(cursor: Any, step: str, seconds: float) -> None:
    cursor.execute(
        "INSERT INTO bench_growth_state (step, seconds) VALUES (%s, %s) "
        "ON CONFLICT (step) DO UPDATE SET seconds = EXCLUDED.seconds",
        [step, seconds],
    )


STEPS = ("grids", "components", "reports")


def _sizes(cursor: Any) -> tuple[dict[str, int], int]:
    cursor.execute("""
        SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = 'public'
        ORDER BY 2 DESC LIMIT 8""")
    sizes = {name: int(size) for name, size in cursor.fetchall()}
    cursor.execute("SELECT pg_database_size(current_database())")
    return sizes, int(cursor.fetchone()[0])


def child_state() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        done = _done(cursor)
        sizes, total = _sizes(cursor)
    return {
        "complete": all(step in done for step in STEPS),
        "done": sorted(done),
        "sizes": sizes,
        "total_bytes": total,
    }


def child_build(scale: float) -> dict:
    from django.core.management import call_command
    from django.db import connection

    print(f"migrating {connection.settings_dict['NAME']} and loading the demo city…", flush=True)
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0, force=True)
    with connection.cursor() as cursor:
        done = _done(cursor)
    builders = {
        "grids": lambda: _build_grids(scale),
        "components": lambda: _build_components(scale),
        "reports": lambda: _build_reports(scale),
    }
    for step in STEPS:
        if step in done:
            continue
        began = time.perf_counter()
        builders[step]()
        seconds = time.perf_counter() - began
        with connection.cursor() as cursor:
            _mark(cursor, step, seconds)
        print(f"{step}: {seconds:,.0f} s", flush=True)
    return child_state()


def _build_grids(scale: float) -> None:
    import numpy as np
    import shapely
    from django.db import connection, transaction
    from shapely.geometry import MultiPolygon

    from bench import synthetic_city as city

    columns, rows, communities = layout(scale)
    print(
        f"generating {columns * rows:,} unit grids ({columns} × {rows} lattice, "
        f"{communities} communit{'y' if communities == 1 else 'ies'})…",
        flush=True,
    )
    began = time.perf_counter()
    cells = city.unit_cells(city.SEED, columns=columns, rows=rows, union=False)
    # Community of every cell: blocks of 160 × 100 cells, numbered west→east, north→south.
    row_of, col_of = np.divmod(np.arange(columns * rows), columns)
    across = max(1, columns // BLOCK_COLUMNS) if communities > 1 else 1
    block = (
        (row_of // BLOCK_ROWS) * across + col_of // BLOCK_COLUMNS
        if communities > 1
        else np.zeros(columns * rows, dtype=np.int64)
    )
    parts = [shapely.coverage_union_all(cells.cells[block == b]) for b in range(communities)]
    region = shapely.coverage_union_all(np.asarray(parts, dtype=object))
    print(f"  {time.perf_counter() - began:,.0f} s; writing…", flush=True)

    def multi(geom):
        return geom if geom.geom_type == "MultiPolygon" else MultiPolygon([geom])

    with transaction.atomic():
        _write_grids(cells, block, [multi(p) for p in parts], multi(region))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grids_grid")
        cursor.execute("VACUUM ANALYZE grids_gridboundary")


def _write_grids(cells, block, parts, region) -> None:
    import numpy as np
    import shapely
    from django.db import connection
    from django.utils import timezone
    from shapely.geometry import MultiPolygon

    from bench import synthetic_city as city
    from geogrid.grids.models import GridEvent, GridLevel, GridSource, GridType
    from geogrid.grids.services.editing import create_grids, ensure_default_levels
    from geogrid.grids.validation import Candidate

    ensure_default_levels()
    levels = {level.depth: level for level in GridLevel.objects.all()}
    label = f"{MARK} ({city.MARKER})"
    (district,) = create_grids(
        actor=None,
        level=levels[0],
        parent=None,
        source=GridSource.GENERATED,
        candidates=[
            Candidate(
                geom=region,
                code=city.DISTRICT_CODE,
                name=f"{city.DISTRICT_CODE} ({label})",
                attrs={"grid_type": GridType.ADMINISTRATIVE},
            )
        ],
    )
    (street,) = create_grids(
        actor=None,
        level=levels[1],
        parent=district,
        source=GridSource.GENERATED,
        candidates=[
            Candidate(
                geom=region,
                code=city.STREET_CODE,
                name=f"{city.STREET_CODE} ({label})",
                attrs={"grid_type": GridType.ADMINISTRATIVE},
            )
        ],
    )
    community_codes = [f"{city.STREET_CODE}{b + 1:03d}" for b in range(len(parts))]
    communities = create_grids(
        actor=None,
        level=levels[2],
        parent=street,
        source=GridSource.GENERATED,
        candidates=[
            Candidate(
                geom=part,
                code=code,
                name=f"{code} ({label})",
                attrs={"grid_type": GridType.ADMINISTRATIVE},
            )
            for part, code in zip(parts, community_codes, strict=True)
        ],
    )
    unit_level = levels[3]
    now = timezone.now()
    wkb = shapely.to_wkb(
        shapely.set_srid(
            np.asarray([MultiPolygon([cell]) for cell in cells.cells], dtype=object),
            city.STORAGE_EPSG,
        ),
        hex=True,
        include_srid=True,
    )
    sequence = np.zeros(len(block), dtype=np.int64)
    for b in range(len(parts)):  # reading order inside each community
        members = np.flatnonzero(block == b)
        sequence[members] = np.arange(1, len(members) + 1)
    columns = city.GRID_COPY_COLUMNS
    raw = connection.connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY grids_grid ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for geom_hex, area, b, seq in zip(
            wkb, cells.areas_m2, block.tolist(), sequence.tolist(), strict=True
        ):
            code = f"{community_codes[b]}{seq:0{city.UNIT_SEQUENCE_DIGITS}d}"
            copy.write_row(
                (
                    code,
                    code,
                    unit_level.id,
                    communities[b].id,
                    city.DISTRICT_CODE,
                    GridType.OTHER,
                    "",
                    GridSource.GENERATED,
                    "",
                    "",
                    "",
                    geom_hex,
                    round(float(area), 2),
                    now,
                    1,
                    now,
                    now,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO grids_gridboundary (grid_id, version, geom, area_m2, valid_from, reason)"
            " SELECT id, 1, geom, area_m2, valid_from, %s FROM grids_grid "
            "WHERE parent_id = ANY(%s)",
            [MARK, [c.id for c in communities]],
        )
    for community in communities:
        GridEvent.objects.create(
            grid=community,
            action="created",
            actor=None,
            details={
                "source": MARK,
                "children": int((block == communities.index(community)).sum()),
                "note": "unit grids written with COPY",
            },
        )


COMPONENTS_SQL = """
WITH classes AS (
    SELECT array_agg(id ORDER BY code) AS ids, array_agg(code ORDER BY code) AS codes,
           array_agg(name ORDER BY code) AS names,
           array_agg(default_department_id ORDER BY code) AS departments, count(*) AS n
    FROM components_componentclass
    WHERE scheme = %(scheme)s AND geometry = 'point' AND active
      AND default_department_id IS NOT NULL
), points AS (
    -- Grid by grid, like an import (the GiST and code indexes fill page by page).
    SELECT g.id AS grid_id, d.path[1] AS k, d.geom
    FROM grids_grid g,
         LATERAL ST_Dump(ST_GeneratePoints(g.geom, %(per_grid)s + (g.id %% 2)::int,
                                           g.id::int)) AS d
    WHERE g.parent_id = %(community)s AND g.valid_to IS NULL
    ORDER BY g.id, d.path[1]
), numbered AS (
    SELECT p.grid_id, p.geom, %(offset)s + row_number() OVER () - 1 AS seq FROM points p
)
INSERT INTO components_component (
    code, district_code, component_class_id, name, competent_department_id, status, currency,
    geom, grid_id, location_description, data_source, initial_date, material, notes, version,
    created_at, updated_at)
SELECT %(district)s || c.codes[1 + (n.seq %% c.n)::int]
           || lpad((1 + n.seq / c.n)::text, 6, '0'),
       %(district)s, c.ids[1 + (n.seq %% c.n)::int], c.names[1 + (n.seq %% c.n)::int],
       c.departments[1 + (n.seq %% c.n)::int], 'intact', 'in_use', n.geom, n.grid_id, '',
       'surveyed', current_date, '', %(mark)s, 1, now(), now()
FROM numbered n, classes c
"""

SERIALS_SQL = """
INSERT INTO components_componentserial (district_code, scheme, class_code, last_serial)
SELECT district_code, %(scheme)s, substr(code, 7, length(code) - 12), max(right(code, 6)::int)
FROM components_component WHERE district_code = %(district)s
GROUP BY district_code, substr(code, 7, length(code) - 12)
ON CONFLICT (district_code, scheme, class_code) DO UPDATE
    SET last_serial = greatest(components_componentserial.last_serial, EXCLUDED.last_serial)
"""


def _build_components(scale: float) -> None:
    from django.db import connection

    from bench import synthetic_city as city
    from geogrid.components.schemes import active_scheme

    scheme = active_scheme()
    total = int(scale * COMPONENTS_PER_SCALE)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT g.id, (SELECT count(*) FROM grids_grid u WHERE u.parent_id = g.id)"
            " FROM grids_grid g WHERE g.code LIKE %s AND length(g.code) = 12 "
            "ORDER BY g.code",
            [city.STREET_CODE + "%"],
        )
        communities = cursor.fetchall()
    units = sum(n for _, n in communities)
    # per_grid or per_grid + 1 (odd and even ids alternate): about `total` in all.
    per_grid = max(1, round(total / units - 0.5))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM components_component WHERE district_code = %s",
            [city.DISTRICT_CODE],
        )
        offset = cursor.fetchone()[0]
    for number, (community, _) in enumerate(communities, 1):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            # One statement (one transaction) per community: an interrupted build resumes
            # with the first community that has none.
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM components_component c JOIN grids_grid g"
                " ON g.id = c.grid_id WHERE g.parent_id = %s)",
                [community],
            )
            if cursor.fetchone()[0]:
                continue
            cursor.execute(
                COMPONENTS_SQL,
                {
                    "scheme": scheme,
                    "per_grid": per_grid,
                    "community": community,
                    "offset": offset,
                    "district": city.DISTRICT_CODE,
                    "mark": MARK,
                },
            )
            offset += cursor.rowcount
        print(
            f"  components: community {number}/{len(communities)}, {offset:,} in all "
            f"({time.perf_counter() - began:,.0f} s)",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute(SERIALS_SQL, {"scheme": scheme, "district": city.DISTRICT_CODE})
        cursor.execute("VACUUM ANALYZE components_component")


# The heat benchmark's generator (bench/heat.py) picks each report's grid out of arrays of
# every unit grid: PostgreSQL copies such an array for every subscript, which is fine for
# 16,000 grids and took over five minutes per million reports for 160,000. Here the grids are
# numbered in a table and joined (a hash join), the rest as there.
REPORTS_SQL = """
WITH units AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY g.id)::int AS k, g.id, g.code,
           ST_PointOnSurface(g.geom) AS point
    FROM grids_grid g JOIN grids_gridlevel l ON l.id = g.level_id
    WHERE g.code LIKE %(district)s AND g.valid_to IS NULL
      AND l.depth = (SELECT max(depth) FROM grids_gridlevel)
), kinds AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM cases_caseclass
    WHERE scheme = 'gbt47678' AND kind = 'event'
), picks AS (
    SELECT 1 + floor(random() * (SELECT count(*) FROM units))::int AS k,
           1 + floor(random() * array_length(c.ids, 1))::int AS j,
           random() AS age
    FROM generate_series(1, %(count)s), kinds c
)
INSERT INTO cases_case (
    district_code, channel, case_class_id, kind, description, address, geom, submitted_point,
    grid_id, grid_code, street_code, community_code, area_class, handling_level, routed_by,
    reporter_name, reporter_phone, reporter_email, device_id, account_id, status,
    possible_duplicates, reported_at, overdue, return_count, extension_count, rework_count,
    version, updated_at)
SELECT left(u.code, 6), 'api', c.ids[p.j], 'event', %(mark)s, '', u.point, '{}',
       u.id, u.code, '', '', 'B', 'unit', 'none', '', '', '', '', '', 'closed',
       '[]', now() - p.age * interval '365 days', p.age < 0.01, 0, 0, 0, 1, now()
FROM picks p JOIN units u ON u.k = p.k, kinds c
"""


def _build_reports(scale: float) -> None:
    from django.db import connection

    from bench import synthetic_city as city

    total = int(scale * REPORTS_PER_SCALE)
    step = 1_000_000
    with connection.cursor() as cursor:
        # Each statement commits on its own: an interrupted build resumes where it stopped.
        cursor.execute(
            "SELECT count(*) FROM cases_case WHERE district_code = %s", [city.DISTRICT_CODE]
        )
        made = cursor.fetchone()[0]
        cursor.execute("SELECT setseed(%s)", [0.311 * (1 - made / max(total, 1))])
        while made < total:
            began = time.perf_counter()
            count = min(step, total - made)
            cursor.execute(
                REPORTS_SQL, {"district": city.DISTRICT_CODE + "%", "count": count, "mark": MARK}
            )
            made += cursor.rowcount
            print(
                f"  reports: {made:,} of {total:,} ({time.perf_counter() - began:,.0f} s)",
                flush=True,
            )
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("VACUUM ANALYZE cases_gridmonthcount")


def child_measure(*, calls: int, tiles_per_zoom: int, own_data: bool) -> dict:
    """The growth lines in this process's database, keyed so the two runs pair up."""
    import shapely
    from django.db import connection

    from bench import cases, components, heat, locate, nearest, tiles
    from bench.synthetic_city import DISTRICT_CODE, clustered_points
    from geogrid.grids.assignment import GridIndex

    city = GridIndex.load(level="unit", district_code=DISTRICT_CODE)
    demo = GridIndex.load(level="unit", district_code="110101")
    # The same spot of the synthetic city in both databases: the larger city starts at the
    # same corner, so its first block holds the same kind of points.
    first = tuple(
        float(v) for v in shapely.total_bounds(city.geoms[: min(len(city), UNITS_PER_SCALE)])
    )
    keyed: dict[str, Result] = {}

    def keep(key: str, lines: list[Result]) -> None:
        for index, line in enumerate(lines):
            keyed[f"{key}#{index}"] = line

    lon, lat = clustered_points(4 * (calls + 1_000), first, seed=7)
    inside = city.positions(lon, lat) >= 0
    print(f"[locate] {calls:,} calls", flush=True)
    keep("locate", locate.run("synthetic", lon[inside], lat[inside], calls=calls))
    print(f"[nearest] {calls:,} calls", flush=True)
    from geogrid.components.models import Component

    count = Component.objects.count()
    keep("nearest", nearest.run(lon[inside], lat[inside], calls=calls, components=count))
    print("[tiles] z14", flush=True)
    keep(
        "tiles",
        tiles.run(
            count=tiles_per_zoom, zooms=(14,), bounds=first, seeded=False, ensure=not own_data
        ),
    )
    print("[heat] grid counts", flush=True)
    keep("heat", heat.run(ensure=not own_data))
    why = cases.ready()
    if why is None:
        print(f"[intake] {calls:,} reports", flush=True)
        keep("intake", cases.run_service(lon[inside], lat[inside], calls=calls))
    print("[import] 1,000,000 points, CSV", flush=True)
    d_lon, d_lat = clustered_points(
        2_500_000, tuple(float(v) for v in shapely.total_bounds(demo.geoms)), seed=17
    )
    keep("import", components.run(demo, d_lon, d_lat, limit=1_000_000, formats=("CSV",)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM grids_grid g JOIN grids_gridlevel l "
            "ON l.id = g.level_id WHERE l.slug = 'unit' AND g.valid_to IS NULL), "
            "(SELECT count(*) FROM components_component), "
            "(SELECT count(*) FROM cases_case)"
        )
        grids, components_count, reports = cursor.fetchone()
    return {
        "results": {k: asdict(v) for k, v in keyed.items()},
        "counts": {"unit grids": grids, "components": components_count, "reports": reports},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growth")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build")
    build.add_argument("--scale", type=float, default=10)
    sub.add_parser("state")
    measure = sub.add_parser("measure")
    measure.add_argument("--calls", type=int, default=5_000)
    measure.add_argument("--tiles", type=int, default=60)
    measure.add_argument(
        "--grown",
        action="store_true",
        help="the growth database: use its own components and reports",
    )
    args = parser.parse_args(argv)
    import bench  # noqa: F401  (Django, on DATABASE_URL)

    if args.command == "build":
        result = child_build(args.scale)
    elif args.command == "state":
        result = child_state()
    else:
        result = child_measure(calls=args.calls, tiles_per_zoom=args.tiles, own_data=args.grown)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

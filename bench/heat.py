"""Report counts per grid (the command center's heatmap/choropleth) over 1,000,000 reports.

- data: 1,000,000 synthetic reports in the synthetic city (district 110105), spread over its
  16,000 unit grids and over the past 365 days, written once by one INSERT … SELECT (fixed
  seed) and kept; `--drop-synthetic` removes them with the city;
- measured: GET /api/v1/command-center/grid-counts/ from gunicorn (1 sync worker, DEBUG off,
  token auth, the dashboard cache off: every answer computed) for the whole year and for the last 30 days, median of REPEAT requests,
  alternating with the baseline call by call (a slow moment of the shared VM hits both);
- baseline, same run: the plain aggregation over the cases (PLAIN_SQL: one GROUP BY over the
  period's case rows, the covering index's index-only scan, as the endpoint first shipped) on a
  plain psycopg connection, planned for each call (prepared, its generic plan sorts the year on
  disk: 2.5× slower);
- checked: the endpoint's per-grid counts equal the baseline's, grid by grid.
"""

from __future__ import annotations

import http.client
import json
import time
from datetime import timedelta

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.common import Result
from bench.server import gunicorn
from bench.synthetic_city import DISTRICT_CODE

REPORTS = 1_000_000
REPEAT = 9
TARGETS_MS = {"365 days": 250.0, "30 days": 100.0}

GENERATE_SQL = """
WITH units AS (
    SELECT array_agg(g.id ORDER BY g.id) AS ids, array_agg(g.code ORDER BY g.id) AS codes,
           array_agg(ST_PointOnSurface(g.geom) ORDER BY g.id) AS points
    FROM grids_grid g JOIN grids_gridlevel l ON l.id = g.level_id
    WHERE g.code LIKE %(district)s AND g.valid_to IS NULL
      AND l.depth = (SELECT max(depth) FROM grids_gridlevel)
), kinds AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM cases_caseclass
    WHERE scheme = 'gbt47678' AND kind = 'event'
), picks AS (
    SELECT 1 + floor(random() * array_length(u.ids, 1))::int AS k,
           1 + floor(random() * array_length(c.ids, 1))::int AS j,
           random() AS age
    FROM generate_series(1, %(count)s), units u, kinds c
)
INSERT INTO cases_case (
    district_code, channel, case_class_id, kind, description, address, geom, submitted_point,
    grid_id, grid_code, street_code, community_code, area_class, handling_level, routed_by,
    reporter_name, reporter_phone, reporter_email, device_id, account_id, status,
    possible_duplicates, reported_at, overdue, return_count, extension_count, rework_count,
    version, updated_at)
SELECT left(u.codes[p.k], 6), 'api', c.ids[p.j], 'event', %(mark)s, '', u.points[p.k], '{}',
       u.ids[p.k], u.codes[p.k], '', '', 'B', 'unit', 'none', '', '', '', '', '', 'closed',
       '[]', now() - p.age * interval '365 days', p.age < 0.01, 0, 0, 0, 1, now()
FROM picks p, units u, kinds c
"""
MARK = "bench synthetic"
# The baseline: every report of the period counted from the cases themselves.
PLAIN_SQL = """
WITH counts AS (
    SELECT c.grid_id, count(*) AS n, count(*) FILTER (WHERE c.overdue) AS overdue
    FROM cases_case c
    WHERE c.reported_at >= %(start)s AND c.reported_at < %(end)s
    GROUP BY 1
)
SELECT g.id, g.code, g.name, counts.n, counts.overdue
FROM counts JOIN grids_grid g ON g.id = counts.grid_id
ORDER BY counts.n DESC, g.code COLLATE "C"
"""


def ensure_reports(progress=print) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case WHERE district_code = %s", [DISTRICT_CODE])
        have = cursor.fetchone()[0]
        if have >= REPORTS:
            return 0
        progress(f"  generating {REPORTS - have:,} reports in the synthetic city (once)…")
        cursor.execute("SELECT setseed(0.311)")
        cursor.execute(
            GENERATE_SQL, {"district": DISTRICT_CODE + "%", "count": REPORTS - have, "mark": MARK}
        )
        created = cursor.rowcount
        cursor.execute("VACUUM ANALYZE cases_case")
    return created


def _token() -> str:
    from geogrid.accounts.models import Role, User
    from geogrid.accounts.services import issue_token

    user, _ = User.objects.get_or_create(username="bench-viewer", defaults={"role": Role.VIEWER})
    return issue_token(user=user)[0]


def _measure(port: int, token: str, start, end) -> tuple[list[float], dict, list[float], list]:
    """Endpoint timings and its last answer, baseline timings and rows: REPEAT + 1 of each,
    alternating (in turns, which goes first), the first pair a warm-up."""
    db = settings.DATABASES["default"]
    query = (f"since={start.isoformat()}&until={end.isoformat()}").replace("+", "%2B")
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    http_ms, raw_ms, body, rows = [], [], {}, []
    with (
        psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            dbname=db["NAME"],
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            autocommit=True,
        ) as raw,
        raw.cursor() as cursor,
    ):
        for i in range(2 * (REPEAT + 1)):
            began = time.perf_counter()
            if (i + i // 2) % 2:
                rows = cursor.execute(
                    PLAIN_SQL, {"start": start, "end": end}, prepare=False
                ).fetchall()
                raw_ms.append((time.perf_counter() - began) * 1000)
                continue
            web.request(
                "GET",
                f"/api/v1/command-center/grid-counts/?{query}",
                headers={"Authorization": f"Token {token}"},
            )
            response = web.getresponse()
            payload = response.read()
            http_ms.append((time.perf_counter() - began) * 1000)
            if response.status != 200:
                raise RuntimeError(f"grid-counts: HTTP {response.status} {payload[:200]!r}")
            body = json.loads(payload)
    web.close()
    return http_ms[1:], body, raw_ms[1:], rows


def run(*, ensure: bool = True) -> list[Result]:
    """`ensure`: generate the million reports first if missing (the growth benchmark's city
    brings its own)."""
    created = ensure_reports() if ensure else 0
    token = _token()
    end = timezone.now()
    results = []
    # Each request computed: the command center keeps an answer GEOGRID_DASHBOARD_CACHE_S (30)
    # seconds, and this repeats one query; the soak measures the kept answers under load.
    with gunicorn(1, env_extra={"GEOGRID_DASHBOARD_CACHE_S": "0"}) as port:
        for label, days in (("365 days", 365), ("30 days", 30)):
            start = end - timedelta(days=days)
            measured, body, baseline, rows = _measure(port, token, start, end)
            if body.get("grids") != [list(row) for row in rows]:
                raise RuntimeError(
                    f"grid-counts, {label}: the endpoint's counts differ from a "
                    "plain count over the cases"
                )
            median = float(np.median(measured))
            results.append(
                Result(
                    f"reports per unit grid, {label} ({body.get('total', 0):,} reports, "
                    f"{len(body.get('grids', [])):,} grids)",
                    round(median, 1),
                    "ms",
                    "raw aggregation SQL median",
                    round(float(np.median(baseline)), 1),
                    target=f"≤ {TARGETS_MS[label]:g} ms",
                    passed=median <= TARGETS_MS[label],
                    details={
                        "reports_added_now": created,
                        "runs_ms": [round(t, 1) for t in measured],
                    },
                )
            )
    return results

"""Case intake: the intake service alone, and reports through the real HTTP stack.

- `submit_report` p50/p99: the service as shipped (category, locate, area class and routing
  rules, duplicates, the insert of case + event, the commit), called in-process, each report
  committed. Baseline, same run, alternating call by call: the floor of any intake — the
  prepared ST_Covers lookup of the unit grid plus one prepared INSERT of a bare case row, on a
  plain psycopg connection in autocommit.
- HTTP: gunicorn (WSGI, sync workers, DEBUG off) on loopback serving the Open311
  `POST /open311/v2/requests.json`; a bounded load (a fixed number of requests from a fixed
  number of keep-alive connections) from a second process (bench/loadgen.py). Baseline, same
  run: the same load on `GET /open311/v2/discovery.json`, which touches no database — what the
  server stack costs before any intake work.
Every case the benchmark writes is deleted afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from time import perf_counter_ns

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, transaction
from tqdm import tqdm

from bench.common import OUT_DIR, Result, deleting_benchmark_audit_rows, percentile_us
from bench.server import gunicorn
from geogrid.cases.demo import DEMO_CLASSES
from geogrid.cases.models import Case, CaseClass

MARK = "bench intake"
SERVICE = "06012"  # 道路不洁
TARGET_SERVICE_P99_US = 2_000
TARGET_RPS = 300
TARGET_HTTP_P99_MS = 50
WARM_UP = 100

RAW_LOCATE = """
SELECT g.id, g.code FROM grids_grid g
WHERE g.valid_to IS NULL
  AND g.level_id = (SELECT id FROM grids_gridlevel ORDER BY depth DESC LIMIT 1)
  AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490))
ORDER BY g.code LIMIT 1
"""
RAW_INSERT = """
INSERT INTO cases_case (district_code, channel, case_class_id, kind, description, address,
    geom, submitted_point, grid_id, grid_code, street_code, community_code, area_class,
    handling_level, routed_by, reporter_name, reporter_phone, reporter_email, device_id,
    account_id, status, possible_duplicates, reported_at, overdue, return_count,
    extension_count, rework_count, version, updated_at)
VALUES (left(%(code)s, 6), 'api', %(class_id)s, 'event', %(mark)s, '',
    ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490), '{}', %(grid)s, %(code)s, '', '', 'B',
    'unit', 'none', '', '', '', '', '', 'reported', '[]', now(), false, 0, 0, 0, 1, now())
"""


def _connect() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    )


def _cleanup() -> int:
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        deleting_benchmark_audit_rows(cursor, "cases_caseevent"),
    ):
        cursor.execute(
            "DELETE FROM cases_caseevent WHERE case_id IN (SELECT id FROM cases_case "
            "WHERE description = %s)",
            [MARK],
        )
        cursor.execute("DELETE FROM cases_case WHERE description = %s", [MARK])
        removed = cursor.rowcount
    with connection.cursor() as cursor:
        # Without this every run inserts into fuller, slower indexes than the last.
        cursor.execute("VACUUM ANALYZE cases_case, cases_caseevent")
        return removed


def ready() -> str | None:
    """Why the case benchmarks cannot run (None when they can)."""
    if not CaseClass.objects.filter(service_code=SERVICE).exists():
        return "case categories not loaded (manage.py load_demo)"
    return None


def run_service(lon: np.ndarray, lat: np.ndarray, *, calls: int) -> list[Result]:
    from geogrid.cases.intake import submit_report

    class_id = CaseClass.objects.filter(service_code=SERVICE).values_list("id", flat=True)[0]
    # A stream of reports spreads over the categories (the demo's mix: the common street
    # problems); one category for every report would make each new report compare itself with
    # thousands of same-category neighbours, which no real city produces in three days.
    codes = [c for c in DEMO_CLASSES if CaseClass.objects.filter(service_code=c).exists()]
    weights = np.array([DEMO_CLASSES[c] for c in codes], dtype=float)
    services = np.random.default_rng(41).choice(
        codes, size=calls + WARM_UP, p=weights / weights.sum()
    )
    points = list(
        zip(lon[: calls + WARM_UP].tolist(), lat[: calls + WARM_UP].tolist(), strict=True)
    )
    timings: dict[str, list[int]] = {"service": [], "raw": []}
    with _connect() as raw, raw.cursor() as cursor:

        def call(which: str, x: float, y: float, service: str) -> None:
            if which == "raw":
                row = cursor.execute(RAW_LOCATE, (x, y), prepare=True).fetchone()
                cursor.execute(
                    RAW_INSERT,
                    {
                        "code": row[1],
                        "grid": row[0],
                        "class_id": class_id,
                        "lon": x,
                        "lat": y,
                        "mark": MARK,
                    },
                    prepare=True,
                )
            else:
                submit_report(
                    actor=None, channel="api", service_code=service, x=x, y=y, description=MARK
                )

        for i, (x, y) in enumerate(points[:WARM_UP]):
            call("service", x, y, services[i])
            call("raw", x, y, services[i])
        kinds = list(timings)
        for i, (x, y) in enumerate(
            tqdm(points[WARM_UP:], desc="  submit_report vs raw", unit="report", leave=False)
        ):
            for which in kinds[i % 2 :] + kinds[: i % 2]:
                start = perf_counter_ns()
                call(which, x, y, services[WARM_UP + i])
                timings[which].append(perf_counter_ns() - start)
    removed = _cleanup()
    figures = {
        f"{kind}_p{q}_us": percentile_us(samples, q)
        for kind, samples in timings.items()
        for q in (50, 99)
    }
    details = dict(figures, calls=calls, cases_removed=removed, cases_in_table=Case.objects.count())
    return [
        Result(
            "intake submit_report p50",
            figures["service_p50_us"],
            "µs",
            "raw locate + INSERT p50",
            figures["raw_p50_us"],
            details=details,
        ),
        Result(
            "intake submit_report p99",
            figures["service_p99_us"],
            "µs",
            "raw locate + INSERT p99",
            figures["raw_p99_us"],
            target="p99 ≤ 2 ms",
            passed=figures["service_p99_us"] <= TARGET_SERVICE_P99_US,
            details=details,
        ),
    ]


def _load(
    port: int, path: str, *, requests: int, concurrency: int, bodies: Path | None = None
) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--path",
        path,
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
    ]
    if bodies is not None:
        command += ["--bodies", str(bodies)]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, cwd=settings.BASE_DIR
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_http(
    lon: np.ndarray, lat: np.ndarray, *, requests: int, concurrency: int, workers: int
) -> list[Result]:
    from geogrid.cases.models import Open311Key
    from geogrid.cases.open311_keys import create_open311_key

    Open311Key.objects.filter(name="bench-load").delete()
    _, key = create_open311_key(name="bench-load")
    OUT_DIR.mkdir(exist_ok=True)
    bodies = OUT_DIR / "open311-bodies.json"
    bodies.write_text(
        json.dumps(
            [
                {
                    "api_key": key,
                    "service_code": SERVICE,
                    "lat": f"{y:.7f}",
                    "long": f"{x:.7f}",
                    "description": MARK,
                }
                for x, y in zip(lon[:5000].tolist(), lat[:5000].tolist(), strict=True)
            ]
        ),
        encoding="utf-8",
    )
    with gunicorn(workers) as port:
        # Warm every worker (imports, connections, prepared statements).
        _load(
            port,
            "/open311/v2/requests.json",
            requests=workers * 50,
            concurrency=workers,
            bodies=bodies,
        )
        _load(port, "/open311/v2/discovery.json", requests=workers * 20, concurrency=workers)
        baseline = _load(
            port, "/open311/v2/discovery.json", requests=requests, concurrency=concurrency
        )
        measured = _load(
            port,
            "/open311/v2/requests.json",
            requests=requests,
            concurrency=concurrency,
            bodies=bodies,
        )
    removed = _cleanup()
    Open311Key.objects.filter(name="bench-load").delete()
    details = {
        "measured": measured,
        "baseline": baseline,
        "workers": workers,
        "concurrency": concurrency,
        "cases_removed": removed,
    }
    ok = measured["errors"] == 0
    return [
        Result(
            f"Open311 POST reports/s ({workers} workers, {concurrency} connections)",
            measured["rps"],
            "req/s",
            "GET discovery.json (no database)",
            baseline["rps"],
            target="≥ 300/s, 0 errors",
            passed=ok and measured["rps"] >= TARGET_RPS,
            higher_is_better=True,
            details=details,
        ),
        Result(
            "Open311 POST p99 latency",
            measured["p99_ms"],
            "ms",
            "GET discovery.json p99",
            baseline["p99_ms"],
            target="p99 ≤ 50 ms",
            passed=ok and measured["p99_ms"] <= TARGET_HTTP_P99_MS,
            details=details,
        ),
    ]

"""`python -m bench` (`make bench`): run the benchmarks, print a table, write bench/out/results.json.

Every line compares a measured figure with a raw baseline measured in the same run (the VM is
shared: absolute figures move ±30 %, ratios much less). See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import numpy as np
import shapely

import bench  # noqa: F401  (sets Django up before the imports below touch the ORM)
from bench import (
    assign,
    cases,
    components,
    division,
    growth,
    heat,
    locate,
    nearest,
    patrols,
    soak,
    tiles,
    topology,
)
from bench.common import Result, table, write_json
from bench.synthetic_city import (
    COMMUNITY_CODE,
    DISTRICT_CODE,
    clustered_points,
    drop_synthetic_city,
    ensure_synthetic_city,
)
from geogrid.grids.assignment import GridIndex

DEMO_DISTRICT = "110101"  # geogrid.grids.demo.DISTRICT_CODE; loaded by `manage.py load_demo`
BENCHMARKS = (
    "locate",
    "assign",
    "topology",
    "nearest",
    "import",
    "intake",
    "http",
    "tiles",
    "heat",
    "division",
    "patrols",
    "soak",
)
# Not part of the default run: its first run builds a database ten times the synthetic city
# (about an hour on 2 cores). `--only growth` runs it.
OPTIONAL = ("growth",)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help="comma-separated subset of: "
        + ", ".join(BENCHMARKS + OPTIONAL)
        + " (default: all but "
        + ", ".join(OPTIONAL)
        + ")",
    )
    parser.add_argument(
        "--points",
        type=int,
        default=1_000_000,
        help="points per bulk assignment (default 1,000,000)",
    )
    parser.add_argument(
        "--calls", type=int, default=5_000, help="single locate() calls measured (default 5,000)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each in-process bulk measurement; the median counts",
    )
    parser.add_argument(
        "--no-sql",
        action="store_true",
        help="skip the PostGIS baselines of the bulk and topology benchmarks",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=6_000,
        help="Open311 reports sent through gunicorn (default 6,000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="keep-alive connections of the load generator (default 8)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument(
        "--tiles", type=int, default=60, help="tiles requested per layer and zoom (default 60)"
    )
    parser.add_argument(
        "--soak-seconds",
        type=float,
        default=120,
        help="length of the soak test's mixed load (default 120 s)",
    )
    parser.add_argument(
        "--soak-rate", type=float, default=20, help="requests/s of the soak test (default 20)"
    )
    parser.add_argument(
        "--growth-scale",
        type=float,
        default=10,
        help="size of the growth benchmark's city in synthetic cities "
        "(default 10; a fraction below 1 for a smoke run)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    parser.add_argument(
        "--drop-synthetic",
        action="store_true",
        help="delete the synthetic city (district 110105) and exit",
    )
    parser.add_argument(
        "--drop-patrols",
        action="store_true",
        help="delete the benchmark inspectors' patrols (the generated day included) and exit",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(BENCHMARKS + OPTIONAL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def _vertex_sample(index: GridIndex, count: int = 20_000) -> np.ndarray:
    """Grid vertices (lon/lat), where two or three grids meet: the tie-break case, exactly."""
    return shapely.get_coordinates(index.geoms)[:count]


def _bounds(index: GridIndex) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in shapely.total_bounds(index.geoms))
    return west, south, east, north


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    if args.drop_patrols or args.drop_synthetic:
        print(f"deleted {patrols.drop_patrol_data()} patrols of the benchmark inspectors")
    if args.drop_synthetic:
        print(f"deleted {drop_synthetic_city()} grids of the synthetic city")
    if args.drop_patrols or args.drop_synthetic:
        return 0
    chosen = args.only.split(",")
    started = datetime.now(UTC)
    clock = time.perf_counter()
    results: list[Result] = []

    community_id, created = ensure_synthetic_city()
    print(
        f"synthetic city: community {COMMUNITY_CODE} (id {community_id}), "
        f"{'created now' if created else 'reused'}",
        flush=True,
    )
    synthetic = GridIndex.load(level="unit", district_code=DISTRICT_CODE)
    bounds = _bounds(synthetic)

    demo = GridIndex.load(level="unit", district_code=DEMO_DISTRICT)
    if not len(demo):
        print(
            f"demo city (district {DEMO_DISTRICT}) not loaded: `manage.py load_demo` loads "
            "it; its lines are skipped",
            flush=True,
        )

    if "locate" in chosen:
        print(f"\n[locate] {args.calls:,} single lookups per city", flush=True)
        # The demo city first: real-sized administrative polygons (its district has ~100
        # vertices); the synthetic community, street and district are the jagged union of
        # 16,000 cells (~4,200 vertices each), which every locate() call also tests.
        for label, index in (("demo", demo), ("synthetic", synthetic)):
            if not len(index):
                results.append(
                    Result(
                        f"locate() p99, {label} city",
                        None,
                        "µs",
                        skipped=f"{label} city not loaded",
                        target="p99 ≤ 2× raw p99",
                    )
                )
                continue
            lon, lat = clustered_points(4 * (args.calls + 1_000), _bounds(index), seed=7)
            inside = index.positions(lon, lat) >= 0
            results += locate.run(label, lon[inside], lat[inside], calls=args.calls)

    if "assign" in chosen:
        print(f"\n[assign] {args.points:,} clustered points per city", flush=True)
        if len(demo):
            lon, lat = clustered_points(args.points, _bounds(demo), vertices=_vertex_sample(demo))
            results += assign.run(
                "demo",
                lon,
                lat,
                district_code=DEMO_DISTRICT,
                repeat=args.repeat,
                postgis=not args.no_sql,
            )
        else:
            results.append(
                Result(
                    "assign_points → demo unit grids",
                    None,
                    "points/s",
                    skipped="demo city not loaded",
                    target="≥ 300k points/s",
                )
            )
        lon, lat = clustered_points(args.points, bounds, vertices=_vertex_sample(synthetic))
        results += assign.run(
            "synthetic",
            lon,
            lat,
            district_code=DISTRICT_CODE,
            repeat=args.repeat,
            postgis=not args.no_sql,
        )
        del lon, lat

    if "topology" in chosen:
        print("\n[topology] one report over the synthetic community", flush=True)
        results += topology.run(COMMUNITY_CODE, repeat=args.repeat, postgis=not args.no_sql)

    if "nearest" in chosen and len(demo):
        from geogrid.components.models import Component

        print(f"\n[nearest] {args.calls:,} nearest-20 lookups in the demo city", flush=True)
        lon, lat = clustered_points(args.calls + 1_000, _bounds(demo), seed=13)
        results += nearest.run(lon, lat, calls=args.calls, components=Component.objects.count())

    if "import" in chosen and len(demo):
        print(f"\n[import] {args.points:,} component points, CSV and GeoPackage", flush=True)
        # The district fills about half of its bounding box: draw enough to keep `points`.
        lon, lat = clustered_points(int(args.points * 2.5), _bounds(demo), seed=17)
        results += components.run(demo, lon, lat, limit=args.points)

    if ("intake" in chosen or "http" in chosen) and len(demo):
        why = cases.ready()
        if why:
            results.append(Result("case intake", None, "", skipped=why))
        else:
            lon, lat = clustered_points(args.calls * 3, _bounds(demo), seed=23)
            inside = demo.positions(lon, lat) >= 0
            lon, lat = lon[inside], lat[inside]
            if "intake" in chosen:
                print(f"\n[intake] {args.calls:,} reports through submit_report", flush=True)
                results += cases.run_service(lon, lat, calls=args.calls)
            if "http" in chosen:
                print(f"\n[http] {args.requests:,} Open311 reports through gunicorn", flush=True)
                results += cases.run_http(
                    lon,
                    lat,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    workers=args.workers,
                )

    if "tiles" in chosen:
        print(
            f"\n[tiles] {args.tiles} tiles per layer and zoom (12, 14, 16) through gunicorn",
            flush=True,
        )
        results += tiles.run(count=args.tiles)

    if "heat" in chosen:
        print("\n[heat] reports per unit grid over 1,000,000 reports through gunicorn", flush=True)
        results += heat.run()

    if "division" in chosen:
        print(
            "\n[division] ~40 km² of OpenStreetMap's Liechtenstein into unit grids along its roads",
            flush=True,
        )
        results += division.run(repeat=args.repeat, postgis=not args.no_sql)

    if "patrols" in chosen:
        print(
            f"\n[patrols] {patrols.INSPECTORS} inspectors' point batches through gunicorn",
            flush=True,
        )
        results += patrols.run_batches(
            synthetic,
            requests=args.requests,
            concurrency=args.concurrency,
            workers=args.workers,
        )
        print("\n[patrols] coverage of one day of 300 tracks over the synthetic city", flush=True)
        results += patrols.run_coverage(synthetic, repeat=args.repeat)

    if "soak" in chosen and len(demo):
        print(f"\n[soak] {args.soak_seconds:g} s of mixed load through gunicorn", flush=True)
        results += soak.run(
            demo,
            synthetic,
            seconds=args.soak_seconds,
            rate=args.soak_rate,
            workers=args.workers,
            concurrency=args.concurrency,
        )

    if "growth" in chosen:
        print(f"\n[growth] today's size and ×{args.growth_scale:g}", flush=True)
        results += growth.run(
            scale=args.growth_scale, calls=min(args.calls, 2_000), tiles=args.tiles
        )

    print()
    print(table(results))
    path = write_json(results, started, vars(args))
    missed = [r.name for r in results if r.passed is False]
    print(
        f"\n{len(results)} lines in {time.perf_counter() - clock:,.0f} s, "
        f"{len(missed)} target(s) missed; written to {path}"
    )
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""manage.py divide_grid CODE --method square|voronoi|features [--target-area M2 | --count N |
--inspectors N] [--balance components,reports,population] [--keep-blocks] [--replace] [--commit]
[--out FILE]

A dry run unless --commit: the division is made in a transaction that is rolled back, and the
report printed is what saving would do (docs/domain.md §2.7).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from geogrid.core.srid import STORAGE_SRID
from geogrid.core.vectorfiles import write_frame
from geogrid.grids.errors import GridError, TopologyError
from geogrid.grids.models import Grid
from geogrid.grids.services.dividing import METHODS, DivisionResult, divide_parent
from geogrid.grids.workload import available_sources, label_of

STAGES = ("reading", "dividing", "checking", "writing", "reporting")


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


class Command(BaseCommand):
    help = (
        "Divide a grid into child grids by squares, Voronoi cells or along roads, water and "
        "walls (balanced by workload); a dry run unless --commit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="the grid to divide (its code)")
        parser.add_argument("--method", choices=METHODS, default="features")
        size = parser.add_mutually_exclusive_group()
        size.add_argument("--target-area", type=float, metavar="M2", help="area per child, m²")
        size.add_argument("--count", type=int, metavar="N", help="number of children")
        size.add_argument(
            "--inspectors",
            type=int,
            metavar="N",
            help="one child per inspector; balances by every workload source unless --balance",
        )
        parser.add_argument(
            "--balance",
            metavar="SOURCES",
            help=f"comma-separated workload sources: {', '.join(available_sources())}",
        )
        parser.add_argument(
            "--tolerance", type=float, help="share of the target a child may differ by (0.25)"
        )
        parser.add_argument(
            "--keep-blocks",
            action="store_true",
            help=(
                "along features: keep each block between roads, water and walls whole unless it "
                "is larger than the level's maximum area (grids vary more in size)"
            ),
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="re-divide a grid that has children, keeping those that still fit",
        )
        parser.add_argument("--commit", action="store_true", help="save (default: dry run)")
        parser.add_argument("--out", metavar="FILE", help="write the proposal as a GeoPackage")
        parser.add_argument(
            "--no-compare", action="store_true", help="skip the square/Voronoi comparison"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"]
        parent = Grid.objects.filter(code=code).select_related("level").first()
        if parent is None:
            raise CommandError(f"There is no grid {code}.")
        count = options["count"] if options["count"] is not None else options["inspectors"]
        if count is not None and count < 1:
            raise CommandError("--count and --inspectors must be at least 1.")
        target = options["target_area"]
        if target is not None and target <= 0:
            raise CommandError("--target-area must be a positive number of square metres.")
        if target is None and count is None:
            target = 10_000.0
        balance: list[str] = []
        if options["balance"]:
            balance = [s.strip() for s in options["balance"].split(",") if s.strip()]
        elif options["inspectors"] is not None:
            balance = available_sources()
        if options["keep_blocks"] and options["method"] != "features":
            raise CommandError("--keep-blocks applies to --method features only.")
        out = Path(options["out"]) if options["out"] else None
        if out is not None and out.suffix.lower() != ".gpkg":
            raise CommandError("Name the --out file *.gpkg (a GeoPackage, for QGIS).")

        bar = tqdm(
            total=len(STAGES), file=sys.stderr, unit="step", disable=options["verbosity"] < 1
        )

        def stage(name: str) -> None:
            bar.set_description(name)
            bar.update(1)

        started = time.monotonic()
        result: DivisionResult | None = None
        try:
            with transaction.atomic():
                result = divide_parent(
                    parent=parent,
                    actor=None,
                    method=options["method"],
                    target_area_m2=target,
                    count=count,
                    balance=balance,
                    tolerance=options["tolerance"],
                    keep_blocks=options["keep_blocks"],
                    replace_existing=options["replace"],
                    compare=not options["no_compare"],
                    stage=stage,
                )
                if not options["commit"]:
                    raise _DryRun
        except _DryRun:
            pass
        except TopologyError as exc:
            bar.close()
            raise CommandError(str(exc)) from exc
        except GridError as exc:
            bar.close()
            raise CommandError(str(exc)) from exc
        bar.close()
        assert result is not None
        elapsed = time.monotonic() - started
        self._print(result, elapsed, committed=options["commit"], verbosity=options["verbosity"])
        if out is not None:
            _write_proposal(result, out)
            self.stdout.write(f"Wrote the proposal ({len(result.children)} grids) to {out}.")

    def _print(
        self, result: DivisionResult, elapsed: float, *, committed: bool, verbosity: int
    ) -> None:
        report = result.report()
        codes = report["codes"]
        verb = "Divided" if committed else "Dry run (nothing saved): would divide"
        self.stdout.write(
            f"{verb} {result.parent.code} by {result.method} into {len(result.children)} grids "
            f"in {elapsed:.1f} s: kept {codes['kept']}, changed {codes['changed']}, "
            f"retired {codes['retired']}, created {codes['created']}."
        )
        if report["balance_sources"]:
            sources = ", ".join(f"{s} ({label_of(s)})" for s in report["balance_sources"])
            self.stdout.write(f"Balanced by area and by: {sources}.")
        if report["keep_blocks"]:
            self.stdout.write(
                "Blocks kept whole: a block is cut only when larger than the level's maximum area."
            )
        self.stdout.write("")
        header = (
            f"{'method':<10}{'grids':>7}{'area mean m²':>14}{'area CV':>9}{'min m²':>10}"
            f"{'max m²':>10}{'work CV':>9}{'work min':>10}{'work max':>10}"
            f"{'on feature':>12}{'buildings cut':>15}"
        )
        self.stdout.write(header)
        for summary in [report["summary"], *report["compared"]]:
            self.stdout.write(_summary_line(summary))
        if verbosity >= 2:
            self.stdout.write("")
            for row in report["grids"]:
                extra = "  ".join(
                    f"{k}={v}" for k, v in row.items() if k not in ("code", "status", "area_m2")
                )
                self.stdout.write(
                    f"{row['code']}  {row['status']:<8}{row['area_m2']:>12,.0f} m²  {extra}"
                )


def _fmt(value: Any, pattern: str, width: int) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}{pattern}}"


def _summary_line(summary: dict[str, Any]) -> str:
    share = summary["on_feature_share"]
    return (
        f"{summary['method']:<10}{summary['grids']:>7}"
        f"{summary['area_mean_m2']:>14,.0f}{summary['area_cv']:>9.3f}"
        f"{summary['area_min_m2']:>10,.0f}{summary['area_max_m2']:>10,.0f}"
        f"{_fmt(summary['workload_cv'], '.3f', 9)}{_fmt(summary['workload_min'], '.2f', 10)}"
        f"{_fmt(summary['workload_max'], '.2f', 10)}"
        f"{_fmt(None if share is None else share * 100, '.1f', 11)}{'' if share is None else '%'}"
        f"{_fmt(summary['buildings_cut'], 'd', 15 if share is None else 14)}"
    )


def _write_proposal(result: DivisionResult, path: Path) -> None:
    rows = result.report()["grids"]
    frame = gpd.GeoDataFrame(rows, geometry=result.shapes, crs=STORAGE_SRID)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_frame(frame, path, driver="GPKG", layer="proposal")

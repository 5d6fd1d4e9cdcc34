"""`manage.py seed_tiles`: render the grids layer's tiles ahead of time (geogrid.tiles.seeding)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from geogrid.tiles.seeding import SeedingError, seed_layer


class Command(BaseCommand):
    help = (
        "Render the grids layer's vector tiles ahead of time, so the map reads stored tiles. "
        "A grid edit makes them stale at once (they are then rendered on request until the "
        "next seeding); run with --if-stale from a timer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--layer", default="grids", help="Layer to seed (default: grids).")
        parser.add_argument("--min-zoom", type=int, default=0)
        parser.add_argument(
            "--max-zoom", type=int, default=None, help="Default: GEOGRID_TILE_SEED_MAX_ZOOM (14)."
        )
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help="Do nothing when tiles are stored and all are current.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] == 0

        def progress(chunks: Iterable, total: int) -> Iterable:
            bar = tqdm(
                total=total,
                unit="tile",
                file=sys.stderr,
                disable=quiet,
                desc=f"Seeding {options['layer']}",
            )
            for chunk in chunks:
                yield chunk
                bar.update(len(chunk))
            bar.close()

        try:
            report = seed_layer(
                layer=options["layer"],
                min_zoom=options["min_zoom"],
                max_zoom=options["max_zoom"],
                if_stale=options["if_stale"],
                progress=progress,
            )
        except SeedingError as exc:
            raise CommandError(str(exc)) from exc
        if report.skipped:
            self.stdout.write(
                f"{report.layer}: every seeded tile is current "
                f"(version {report.version}); nothing to do."
            )
        else:
            self.stdout.write(
                f"{report.layer}: {report.stored:,} tiles stored of "
                f"{report.considered:,} considered (version {report.version}), "
                f"{report.removed:,} stale ones removed, in {report.seconds} s."
            )

"""manage.py import_layer FILE [--kind K]… [--name N] [--crs EPSG] [--name-field F]
[--class-field F] [--date YYYY-MM-DD] [--attribution TEXT] [--clip FILE|W,S,E,N | --no-clip]
[--dry-run] [--actor USER]"""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from geogrid.accounts.actors import actor_from_option
from geogrid.core.commands import import_refusals
from geogrid.reference.importing import KINDS, format_report, plan_import, write_plan


class Command(BaseCommand):
    help = (
        "Import a reference layer (roads, water, walls, buildings, green) from a GeoPackage, "
        "GeoJSON or Shapefile, or every kind from an OpenStreetMap extract (.osm.pbf, .osm). "
        "Replaces a layer of the same name; clipped to GEOGRID_CITY_BBOX unless --clip or "
        "--no-clip."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--kind",
            action="append",
            help=f"{' | '.join(KINDS)}; exactly one for a GeoPackage/GeoJSON/Shapefile, any "
            "(repeat the option) for OpenStreetMap, where all five are the default",
        )
        parser.add_argument(
            "--name",
            help="the layer's name (default: the file's name; for OpenStreetMap "
            "'<name> <kind>' per kind)",
        )
        parser.add_argument(
            "--crs",
            help="source CRS if the file does not say it, or says it wrongly: 4326, 4490, "
            "4513–4554, gcj02, bd09",
        )
        parser.add_argument("--name-field", help="field holding each feature's name")
        parser.add_argument(
            "--class-field",
            help="field holding each feature's class (main, secondary, street, lane, river, "
            "stream, wall, railway… or an OSM value such as primary); without it every "
            "feature gets the kind's default class",
        )
        parser.add_argument("--date", help="the data's date, YYYY-MM-DD")
        parser.add_argument("--attribution", help="copyright and licence of the data")
        parser.add_argument(
            "--clip",
            help="clip to the polygons of this file, or to a box west,south,east,north "
            "(default: GEOGRID_CITY_BBOX)",
        )
        parser.add_argument("--no-clip", action="store_true", help="import without clipping")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report; write nothing"
        )
        parser.add_argument("--actor", help="username recorded in the audit trail")

    def handle(self, *args, **options) -> None:
        actor = actor_from_option(options["actor"])
        source_date = None
        if options["date"]:
            try:
                source_date = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date {options['date']}: give the date as YYYY-MM-DD."
                ) from None
        if options["clip"] and options["no_clip"]:
            raise CommandError("Give --clip or --no-clip, not both.")
        with import_refusals():
            plan = plan_import(
                path=options["file"],
                kinds=options["kind"],
                name=options["name"],
                crs=options["crs"],
                name_field=options["name_field"],
                class_field=options["class_field"],
                source_date=source_date,
                attribution=options["attribution"],
                clip=options["clip"],
                no_clip=options["no_clip"],
            )
            if not options["dry_run"]:
                with tqdm(
                    total=plan.total,
                    desc="Writing features",
                    unit="feature",
                    file=sys.stderr,
                    disable=options["verbosity"] == 0,
                ) as bar:
                    write_plan(plan, actor=actor, progress=bar.update)
        self.stdout.write(format_report(plan))

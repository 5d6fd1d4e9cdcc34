"""manage.py import_components FILE [--class-field F | --class CODE] [--crs EPSG] [--code-field F]
[--name-field F] [--lon-field F --lat-field F] [--commit] [--actor USER] [--report-json OUT]"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from geogrid.accounts.actors import actor_from_option
from geogrid.components.importing import ImportFileError, format_report, import_components

# Problem rows printed; the JSON report (--report-json) lists them all.
PRINTED_ROWS = 200


class Command(BaseCommand):
    help = (
        "Import components (城市部件) from GeoJSON, GeoPackage, Shapefile, zipped Shapefile or "
        "CSV with lon/lat columns. Dry run unless --commit; prints a per-row report."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--class-field",
            help="field holding each row's class code "
            "(default: LBDM / class_code if present, else from --code-field)",
        )
        which.add_argument("--class", dest="class_code", help="class code of every row, e.g. 01001")
        parser.add_argument(
            "--crs",
            help="source CRS if the file does not say it, or says it "
            "wrongly: 4326, 4490, 4513–4554, gcj02, bd09 (CSV default: 4490)",
        )
        parser.add_argument(
            "--code-field",
            help="field holding each component's code "
            "(GLBJBSM); rows without one get the next serial",
        )
        parser.add_argument(
            "--name-field",
            help="field holding each component's name "
            "(default: GLBJMC / name; else the class name)",
        )
        parser.add_argument("--lon-field", help="CSV: longitude (or x) column")
        parser.add_argument("--lat-field", help="CSV: latitude (or y) column")
        parser.add_argument(
            "--commit",
            action="store_true",
            help="create the accepted components (all in one transaction)",
        )
        parser.add_argument("--actor", help="username recorded in the audit trail")
        parser.add_argument("--report-json", help="also write the full report as JSON here")

    def handle(self, *args, **options) -> None:
        actor = actor_from_option(options["actor"])
        if bool(options["lon_field"]) != bool(options["lat_field"]):
            raise CommandError("Give --lon-field and --lat-field together.")

        def progress(steps):
            return tqdm(
                steps,
                desc="Importing",
                unit="step",
                file=sys.stderr,
                disable=options["verbosity"] == 0,
            )

        try:
            report = import_components(
                path=options["file"],
                actor=actor,
                class_field=options["class_field"],
                class_code=options["class_code"],
                crs=options["crs"],
                code_field=options["code_field"],
                name_field=options["name_field"],
                lon_field=options["lon_field"],
                lat_field=options["lat_field"],
                commit=options["commit"],
                progress=progress,
            )
        except (ImportFileError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_report(report, limit=PRINTED_ROWS))
        if options["report_json"]:
            with open(options["report_json"], "w", encoding="utf-8") as handle:
                json.dump(report.as_dict(), handle, ensure_ascii=False, indent=1)
        rejected = report.counts["rejected"]
        if options["commit"] and rejected:
            self.stderr.write(
                self.style.WARNING(f"{rejected:,} rows were rejected and not imported.")
            )

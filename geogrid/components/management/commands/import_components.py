"""manage.py import_components FILE [--class-field F | --class CODE] [--crs EPSG] [--code-field F]
[--name-field F] [--lon-field F --lat-field F] [--commit] [--actor USER] [--report-json OUT]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from geogrid.accounts.actors import actor_from_option
from geogrid.components.importing import format_report, import_components
from geogrid.core.commands import import_refusals, progress_bar, write_import_report

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

        with import_refusals():
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
                progress=progress_bar(
                    desc="Importing", unit="step", verbosity=options["verbosity"]
                ),
            )
        rejected = report.counts["rejected"]
        write_import_report(
            self,
            text=format_report(report, limit=PRINTED_ROWS),
            report=report.as_dict(),
            report_json=options["report_json"],
            indent=1,
            committed_rejects=(
                f"{rejected:,} rows were rejected and not imported."
                if options["commit"] and rejected
                else None
            ),
        )

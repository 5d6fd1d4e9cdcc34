"""manage.py import_grids FILE --level L [--parent CODE] [--crs EPSG] [--code-field F]
[--name-field F] [--commit] [--report-json OUT]"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from geogrid.accounts.actors import actor_from_option
from geogrid.core.commands import import_refusals, progress_bar, write_import_report
from geogrid.grids.importing import format_report, import_grids


class Command(BaseCommand):
    help = (
        "Import grids from GeoJSON, GeoPackage, Shapefile or zipped Shapefile. Dry run "
        "unless --commit; prints a per-feature report."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--level", required=True, help="district, street, community or unit (see GridLevel)"
        )
        parser.add_argument("--parent", help="code of the parent grid of every feature")
        parser.add_argument(
            "--crs",
            help="source CRS if the file does not say it, or says it "
            "wrongly: 4326, 4490, 4513–4554, gcj02, bd09",
        )
        parser.add_argument("--code-field", help="field holding each grid's code")
        parser.add_argument("--name-field", help="field holding each grid's name")
        parser.add_argument(
            "--commit",
            action="store_true",
            help="create the accepted grids (all in one transaction)",
        )
        parser.add_argument("--actor", help="username recorded in the audit trail")
        parser.add_argument("--report-json", help="also write the report as JSON to this path")

    def handle(self, *args, **options) -> None:
        actor = actor_from_option(options["actor"])

        with import_refusals():
            report = import_grids(
                path=options["file"],
                level=options["level"],
                actor=actor,
                parent_code=options["parent"],
                crs=options["crs"],
                code_field=options["code_field"],
                name_field=options["name_field"],
                commit=options["commit"],
                progress=progress_bar(
                    desc="Checking features", unit="feature", verbosity=options["verbosity"]
                ),
            )
        rejected = report.counts["rejected"]
        write_import_report(
            self,
            text=format_report(report),
            report=report.as_dict(),
            report_json=options["report_json"],
            indent=2,
            committed_rejects=(
                f"{rejected} features were rejected and not imported."
                if options["commit"] and rejected
                else None
            ),
        )

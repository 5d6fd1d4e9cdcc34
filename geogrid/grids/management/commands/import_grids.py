"""manage.py import_grids FILE --level L [--parent CODE] [--crs EPSG] [--code-field F]
[--name-field F] [--commit] [--report-json OUT]"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from geogrid.accounts.actors import actor_from_option
from geogrid.core.vectorfiles import ImportFileError
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

        def progress(rows):
            return tqdm(
                rows,
                desc="Checking features",
                unit="feature",
                file=sys.stderr,
                disable=options["verbosity"] == 0,
            )

        try:
            report = import_grids(
                path=options["file"],
                level=options["level"],
                actor=actor,
                parent_code=options["parent"],
                crs=options["crs"],
                code_field=options["code_field"],
                name_field=options["name_field"],
                commit=options["commit"],
                progress=progress,
            )
        except (ImportFileError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_report(report))
        if options["report_json"]:
            with open(options["report_json"], "w", encoding="utf-8") as handle:
                json.dump(report.as_dict(), handle, ensure_ascii=False, indent=2)
        if options["commit"] and report.counts["rejected"]:
            self.stderr.write(
                self.style.WARNING(
                    f"{report.counts['rejected']} features were rejected and not imported."
                )
            )

"""manage.py export_grids OUT [--format geojson|gpkg] [--level L] [--within CODE]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geogrid.grids.importing import EXPORT_FORMATS, export_grids
from geogrid.grids.models import Grid


class Command(BaseCommand):
    help = "Export grids to GeoJSON (WGS84 lon/lat) or GeoPackage (EPSG:4490) for QGIS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("output")
        parser.add_argument(
            "--format", choices=sorted(EXPORT_FORMATS), help="default: from the output's extension"
        )
        parser.add_argument("--level", help="only this level (slug)")
        parser.add_argument("--within", help="only this grid's subtree (code)")
        parser.add_argument("--include-retired", action="store_true")

    def handle(self, *args, **options) -> None:
        output = Path(options["output"])
        fmt = options["format"] or {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}.get(
            output.suffix.lower()
        )
        if fmt is None:
            raise CommandError("Name the output *.geojson or *.gpkg, or pass --format.")
        queryset = Grid.objects.all()
        if not options["include_retired"]:
            queryset = queryset.active()
        if options["level"]:
            queryset = queryset.filter(level__slug=options["level"])
        if options["within"]:
            queryset = queryset.subtree(options["within"])
        count = export_grids(queryset=queryset, path=output, fmt=fmt)
        self.stdout.write(f"Wrote {count} grids to {output} ({fmt}).")

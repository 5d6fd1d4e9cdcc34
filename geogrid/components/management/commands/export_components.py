"""manage.py export_components OUT [--format gpkg|geojson|csv] [--class CODE] [--within GRIDCODE]
[--status S] [--include-void]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geogrid.components.importing.export import EXPORT_FORMATS, export_components
from geogrid.components.importing.fields import STATUS_INPUT
from geogrid.components.models import Component, ComponentClass, Currency
from geogrid.components.schemes import active_scheme

SUFFIX_FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".csv": "csv"}


class Command(BaseCommand):
    help = (
        "Export components with the GB/T 47678.5 table 2 attributes (GLBJBSM, GLBJMC, ZGBMDM, "
        "…, plus LBDM) to GeoPackage (EPSG:4490), GeoJSON (WGS84) or CSV (lon/lat + WKT)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("output")
        parser.add_argument(
            "--format", choices=sorted(EXPORT_FORMATS), help="default: from the output's extension"
        )
        parser.add_argument("--class", dest="class_code", help="only this class (e.g. 01001)")
        parser.add_argument("--within", help="only components in this grid's subtree (code)")
        parser.add_argument(
            "--status",
            help="only this status: intact/damaged/lost/occupied/"
            "abandoned or 完好/破损/丢失/占用/废弃",
        )
        parser.add_argument(
            "--include-void",
            action="store_true",
            help="also components taken out of use (现势性 作废)",
        )

    def handle(self, *args, **options) -> None:
        output = Path(options["output"])
        fmt = options["format"] or SUFFIX_FORMATS.get(output.suffix.lower())
        if fmt is None:
            raise CommandError("Name the output *.gpkg, *.geojson or *.csv, or pass --format.")
        queryset = Component.objects.all()
        if not options["include_void"]:
            queryset = queryset.filter(currency=Currency.IN_USE)
        if options["class_code"]:
            klass = ComponentClass.objects.filter(
                scheme=active_scheme(), code=options["class_code"]
            ).first()
            if klass is None:
                raise CommandError(f"--class {options['class_code']}: no class has this code.")
            queryset = queryset.filter(component_class=klass)
        if options["within"]:
            queryset = queryset.filter(grid__code__startswith=options["within"])
        if options["status"]:
            status = STATUS_INPUT.get(options["status"].strip().lower())
            if status is None:
                raise CommandError(
                    f"--status {options['status']}: use one of "
                    "intact/damaged/lost/occupied/abandoned (完好/破损/丢失/占用/废弃)."
                )
            queryset = queryset.filter(status=status)
        count = export_components(queryset=queryset, path=output, fmt=fmt)
        self.stdout.write(f"Wrote {count:,} components to {output} ({fmt}).")

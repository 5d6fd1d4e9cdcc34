"""manage.py load_taxonomy [--scheme cjt214|gbt47678|all] [--departments FILE] [--update]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geogrid.components.models import CodeScheme
from geogrid.components.taxonomy import load_component_classes, load_departments, load_schemes


class Command(BaseCommand):
    help = (
        "Load the component taxonomies (CJ/T 214 legacy and GB/T 47678.5-2026) from "
        "gis_data/taxonomy/, and optionally departments from a CSV "
        "(key,code,name,name_en,contact). Existing rows are kept unless --update."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scheme", default="all", choices=["all", *CodeScheme.values])
        parser.add_argument("--departments", help="CSV of departments to load first")
        parser.add_argument(
            "--update", action="store_true", help="overwrite existing rows with the shipped values"
        )

    def handle(self, *args, **options) -> None:
        if options["departments"]:
            path = Path(options["departments"])
            if not path.exists():
                raise CommandError(f"File not found: {path}")
            try:
                result = load_departments(path, update=options["update"])
            except KeyError as exc:
                raise CommandError(
                    f"{path.name} lacks the column {exc}; expected key,code,name,name_en,contact"
                ) from exc
            self.stdout.write(f"Departments: {result.summary()}")
        for line in load_schemes(
            load_component_classes, options["scheme"], update=options["update"], things="classes"
        ):
            self.stdout.write(line)

"""manage.py load_case_taxonomy [--scheme cjt214|gbt47678|all] [--update]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from geogrid.cases.taxonomy import load_case_classes
from geogrid.components.models import CodeScheme, ComponentClass
from geogrid.components.taxonomy import load_schemes


class Command(BaseCommand):
    help = (
        "Load the case categories (GB/T 47678.5 matters; legacy events and component "
        "cases) with their departments, filing/closing conditions and time limits from "
        "gis_data/taxonomy/. Load the component taxonomy first (load_taxonomy). Existing "
        "rows are kept unless --update."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scheme", default="all", choices=["all", *CodeScheme.values])
        parser.add_argument(
            "--update", action="store_true", help="overwrite existing rows with the shipped values"
        )

    def handle(self, *args, **options) -> None:
        if not ComponentClass.objects.exists():
            raise CommandError(
                "Load the component taxonomy and departments first: manage.py load_taxonomy"
            )
        for line in load_schemes(
            load_case_classes, options["scheme"], update=options["update"], things="case categories"
        ):
            self.stdout.write(line)

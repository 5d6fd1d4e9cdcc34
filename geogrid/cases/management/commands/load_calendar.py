"""manage.py load_calendar [FILE]"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geogrid.cases.services import load_calendar

DEFAULT = Path(settings.BASE_DIR) / "gis_data" / "calendar" / "cn-holidays.csv"


class Command(BaseCommand):
    help = ("Load public holidays and make-up working days (date,kind,name,source; kind = "
            "holiday or workday) for deadlines in working time. Default: the shipped "
            "State Council arrangements (gis_data/calendar/cn-holidays.csv).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", default=str(DEFAULT))

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"File not found: {path}")
        try:
            holidays, workdays = load_calendar(path=path)
        except (ValueError, KeyError) as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        self.stdout.write(f"Calendar: {holidays} holidays and {workdays} make-up working days "
                          f"from {path.name}.")

"""manage.py load_calendar [FILE]"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from geogrid.cases.calendar import load_calendar
from geogrid.core.worktime import CalendarFileError

DEFAULT = Path(settings.BASE_DIR) / "gis_data" / "calendar" / "cn-holidays.csv"

FORMAT = """\
The file: CSV in UTF-8 (a byte-order mark is fine), one row per day the State Council's notice
(国务院办公厅关于<year>年部分节假日安排的通知) names, with the header

  date,kind,name,source
  2026-10-01,holiday,国庆节,https://www.gov.cn/zhengce/content/202511/content_7047090.htm
  2026-10-10,workday,国庆节调休上班,https://www.gov.cn/zhengce/content/202511/content_7047090.htm

  date    YYYY-MM-DD, the local date
  kind    holiday = a day off (放假), also when it falls on a weekend inside the break;
          workday = a make-up working day (调休上班), always a Saturday or Sunday
  name    the holiday as the notice names it (at most 50 characters)
  source  where the row comes from (the notice's address); not stored

Ordinary weekends are not listed. Every row is checked before anything is written: a bad row
is reported with its line and nothing changes. The file is the authority for each year it
holds: that year's days are replaced by the file's; other years stay as they are.
See docs/operations.md, "The holiday calendar"."""


class Command(BaseCommand):
    help = (
        "Load public holidays and make-up working days for deadlines in working time. "
        "Default: the shipped State Council arrangements "
        "(gis_data/calendar/cn-holidays.csv).\n\n" + FORMAT
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Keep the format's line breaks in --help.
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            nargs="?",
            default=str(DEFAULT),
            help="the holiday file (default: the shipped one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"File not found: {path}")
        try:
            holidays, workdays = load_calendar(path=path)
        except CalendarFileError as exc:
            raise CommandError(
                f"{path.name}: {len(exc.errors)} bad row(s), nothing was loaded:\n"
                + "\n".join(f"  {error}" for error in exc.errors)
                + "\nSee `manage.py load_calendar --help` for the format."
            ) from exc
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        self.stdout.write(
            f"Calendar: {holidays} holidays and {workdays} make-up working days from {path.name}."
        )

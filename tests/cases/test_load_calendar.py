"""manage.py load_calendar: the documented file format, every bad row reported by line, all or
nothing, and the file as the authority for the years it holds.

The rows of the test files are made up for the year 2099 (no notice exists for it); real rows
come only from the State Council's notices (gis_data/calendar/README.md)."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from geogrid.cases.management.commands.load_calendar import Command
from geogrid.cases.models import CalendarDay

SHIPPED = Path(settings.BASE_DIR) / "gis_data" / "calendar" / "cn-holidays.csv"
HEADER = "date,kind,name,source\n"


def _saturday(year: int, month: int) -> date:
    day = date(year, month, 1)
    return day + timedelta(days=(5 - day.weekday()) % 7)


def _file(tmp_path: Path, body: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "calendar.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def _load(path: Path) -> str:
    out = StringIO()
    call_command("load_calendar", str(path), stdout=out)
    return out.getvalue()


def _days() -> dict[date, tuple[str, str]]:
    return {d.date: (d.kind, d.name) for d in CalendarDay.objects.all()}


def test_help_documents_the_file_format():
    text = Command().create_parser("manage.py", "load_calendar").format_help()
    for part in (
        "date,kind,name,source",
        "YYYY-MM-DD",
        "holiday",
        "workday",
        "调休上班",
        "UTF-8",
        "Saturday or Sunday",
        "docs/operations.md",
    ):
        assert part in text


def test_a_good_file_is_loaded(tmp_path, empty_calendar):
    saturday = _saturday(2099, 2)
    path = _file(
        tmp_path,
        f"2099-01-01,holiday,元旦,test\n2099-01-02,holiday,元旦,test\n"
        f"{saturday.isoformat()},workday,春节调休上班,test\n",
    )
    assert _load(path) == "Calendar: 2 holidays and 1 make-up working days from calendar.csv.\n"
    assert _days() == {
        date(2099, 1, 1): ("holiday", "元旦"),
        date(2099, 1, 2): ("holiday", "元旦"),
        saturday: ("workday", "春节调休上班"),
    }


def test_a_file_saved_by_a_spreadsheet_with_a_byte_order_mark_is_read(tmp_path, empty_calendar):
    _load(_file(tmp_path, "2099-01-01,holiday,元旦,test\n", encoding="utf-8-sig"))
    assert _days() == {date(2099, 1, 1): ("holiday", "元旦")}


def test_every_bad_row_is_reported_by_line_and_nothing_is_loaded(tmp_path, empty_calendar):
    call_command("load_calendar", str(SHIPPED), stdout=StringIO())
    before = _days()
    weekday = _saturday(2099, 3) + timedelta(days=2)  # a Monday
    path = _file(
        tmp_path,
        (
            "2099-01-01,holiday,元旦,test\n"  # line 2: good, but must not be written
            "2099-13-01,holiday,元旦,test\n"  # 3: no such month
            "2099/01/02,holiday,元旦,test\n"  # 4: wrong separator
            f"{weekday.isoformat()},workday,调休,test\n"  # 5: a make-up day on a weekday
            "2099-01-01,holiday,元旦,test\n"  # 6: listed twice
            "2099-05-01,day off,劳动节,test\n"  # 7: unknown kind
            f"2099-05-02,holiday,{'长' * 51},test\n"
        ),
    )  # 8: name too long
    with pytest.raises(CommandError) as refused:
        _load(path)
    message = str(refused.value)
    assert "6 bad row(s), nothing was loaded" in message
    for line, reason in (
        (3, "'2099-13-01' is not a YYYY-MM-DD date"),
        (4, "'2099/01/02' is not a YYYY-MM-DD date"),
        (
            5,
            f"{weekday.isoformat()} is a weekday; a make-up working day (workday) is "
            "a Saturday or Sunday",
        ),
        (6, "2099-01-01 is listed twice (also on line 2)"),
        (7, "kind must be holiday or workday, not 'day off'"),
        (8, "the name is longer than 50 characters"),
    ):
        assert f"calendar.csv:{line}: {reason}" in message
    assert "load_calendar --help" in message
    assert _days() == before


def test_a_file_that_is_not_utf8_or_lacks_the_columns_is_refused_plainly(tmp_path, empty_calendar):
    with pytest.raises(CommandError, match="not UTF-8 text.*save the file as CSV UTF-8"):
        _load(_file(tmp_path, "2099-01-01,holiday,元旦,test\n", encoding="gbk"))
    path = tmp_path / "no-kind.csv"
    path.write_text("date,name\n2099-01-01,元旦\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column.*kind.*date,kind,name,source"):
        _load(path)
    with pytest.raises(CommandError, match="File not found"):
        _load(tmp_path / "missing.csv")
    assert not CalendarDay.objects.exists()


def test_a_file_replaces_the_years_it_holds_and_leaves_the_others(tmp_path, empty_calendar):
    call_command("load_calendar", str(SHIPPED), stdout=StringIO())
    shipped_2026 = {d: v for d, v in _days().items() if d.year == 2026}
    _load(_file(tmp_path, "2099-01-01,holiday,元旦,test\n2099-01-02,holiday,元旦,test\n"))
    # A corrected notice for 2099 drops 01-02 and adds 01-03.
    _load(_file(tmp_path, "2099-01-01,holiday,元旦,test\n2099-01-03,holiday,元旦,test\n"))
    days = _days()
    assert sorted(d for d in days if d.year == 2099) == [date(2099, 1, 1), date(2099, 1, 3)]
    assert {d: v for d, v in days.items() if d.year == 2026} == shipped_2026

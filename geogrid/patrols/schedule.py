"""Visit schedules (巡查计划, docs/domain.md §8.5): which unit grids are overdue for a visit, and
which of an inspector's grids are still to be visited today. Only grids some active inspector
answers for (their grid scope) are due at all.

A grid with a schedule of N days (counting working days only, by default) must be visited
at least once in every N such days. Read as a deadline: at a moment of day T the grid is
**overdue** when its last visit was before the start of the N-th counted day before T (for
N = 1 on working days: on Monday, a grid not visited since Friday began is overdue on Tuesday
morning, not on Monday while the inspector still has the day). It is **to visit today** when
it would be overdue tomorrow if nobody went. Weekends, public holidays and 调休 working days
come from the jurisdiction's calendar (core.worktime.current_calendar).

Last visits come from the points' (grid, time) index: one backward index probe per grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from geogrid.core.db import raw_cursor
from geogrid.core.worktime import WorkCalendar, current_calendar
from geogrid.patrols.coverage import leaf_level_id

# The schedule of a grid that has none and no default row: daily on working days.
FALLBACK = (1, True, True)


@dataclass(frozen=True)
class GridVisitState:
    grid_id: int
    code: str
    name: str
    every_days: int
    working_days_only: bool
    last_visit: datetime | None
    # Visits from this moment on count; none since then means overdue.
    due_since: datetime
    overdue: bool
    to_visit_today: bool


def window_start(day: date, every_days: int, working_days_only: bool, cal: WorkCalendar) -> date:
    """The N-th counted day before `day` (N = every_days): visits from its start count."""
    found = 0
    current = day
    for _ in range(every_days * 7 + 60):  # weeks of holidays in a row are still covered
        current -= timedelta(days=1)
        if not working_days_only or cal.is_working_day(current):
            found += 1
            if found == every_days:
                return current
    return current


_STATE_SQL = """
SELECT g.id, g.code, g.name,
       COALESCE(own.every_days, dflt.every_days, %(every)s),
       COALESCE(own.working_days_only, dflt.working_days_only, %(working)s),
       COALESCE(own.required, dflt.required, %(required)s),
       (SELECT max(p.recorded_at) FROM patrols_trackpoint p
        WHERE p.grid_id = g.id AND p.status = 'ok') AS last_visit
FROM grids_grid g
LEFT JOIN patrols_visitschedule own ON own.grid_id = g.id
LEFT JOIN patrols_visitschedule dflt ON dflt.grid_id IS NULL
WHERE g.valid_to IS NULL AND g.level_id = %(level)s
  -- A grid no inspector answers for is unassigned, not overdue: nobody could have gone.
  AND EXISTS (
        SELECT 1 FROM grids_gridscope s
        JOIN grids_grid sg ON sg.id = s.grid_id
        JOIN accounts_user u ON u.id = s.user_id
        WHERE u.role = 'inspector' AND u.is_active AND g.code LIKE sg.code || '%%')
  AND (%(prefixes)s::text[] IS NULL OR EXISTS (
        SELECT 1 FROM unnest(%(prefixes)s::text[]) AS s(prefix)
        WHERE g.code LIKE s.prefix || '%%'))
ORDER BY g.code
"""


def visit_states(
    *, prefixes: Sequence[str] | None = None, now: datetime | None = None
) -> list[GridVisitState]:
    """Every active unit grid under `prefixes` (all when None) that must be visited, with its
    last visit and whether it is overdue or due today, in code order."""
    level = leaf_level_id()
    if level is None:
        return []
    now = now or timezone.now()
    cal = current_calendar()
    today = timezone.localtime(now).date()
    zone = timezone.get_current_timezone()
    with raw_cursor() as cursor:
        rows = cursor.execute(
            _STATE_SQL,
            {
                "level": level,
                "prefixes": sorted(set(prefixes)) if prefixes is not None else None,
                "every": FALLBACK[0],
                "working": FALLBACK[1],
                "required": FALLBACK[2],
            },
        ).fetchall()
    starts: dict[tuple[int, bool, date], datetime] = {}

    def start_of(day: date, every: int, working: bool) -> datetime:
        key = (every, working, day)
        if key not in starts:
            first = window_start(day, every, working, cal)
            starts[key] = datetime.combine(first, time.min, tzinfo=zone)
        return starts[key]

    states = []
    for grid_id, code, name, every, working, required, last in rows:
        if not required:
            continue
        due_since = start_of(today, every, working)
        tomorrow_since = start_of(today + timedelta(days=1), every, working)
        states.append(
            GridVisitState(
                grid_id=grid_id,
                code=code,
                name=name,
                every_days=every,
                working_days_only=working,
                last_visit=last,
                due_since=due_since,
                overdue=last is None or last < due_since,
                to_visit_today=last is None or last < tomorrow_since,
            )
        )
    return states

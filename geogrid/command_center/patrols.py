"""Patrol indicators for the command center (巡查监管): per inspector and per unit grid, for a
period, the figures that judge field work next to the case indicators (docs/domain.md §8.6):

| figure | per inspector | per grid |
| --- | --- | --- |
| distance | metres between consecutive accepted points of their patrols | the same, for the steps that start in the grid |
| time on patrol | seconds between consecutive accepted points, silences longer than GEOGRID_PATROL_GAP_S left out | the same, in the grid (coverage's "time") |
| coverage | the mean share walked of the unit grids of their scope | the grid's share walked |
| reports | their own reports (channel 监督员上报) in the period | the inspectors' reports in the grid |
| reports per hour | reports / hours on patrol (empty without time on patrol) | |
| flagged | reports whose path check is 偏离轨迹 or 无巡查轨迹 | |

Distance and time come from the points within the period, so a patrol crossing midnight counts
on both days for the part it walked on each; a step belongs to the grid of its first point, as
coverage's time does (`patrols/coverage.py`). Read-only, like the rest of the app
(docs/architecture.md §2.2); also the day's replay of one inspector (tracks and reports).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q

from geogrid.accounts.models import Role, User
from geogrid.cases.models import Case, Channel
from geogrid.core.db import raw_cursor
from geogrid.grids.models import GridScope
from geogrid.patrols.coverage import GridCoverage, coverage, patrols_of
from geogrid.patrols.models import PathCheck, Patrol

FLAGGED = (PathCheck.OFF_TRACK.value, PathCheck.NO_TRACK.value)

# Steps between consecutive accepted points of the period's patrols (found through the
# (patrol, time) index), summed per inspector or per grid of the step's first point. A step
# across a silence longer than the gap was not walked on record (docs/domain.md §8.2).
_STEPS_SQL = """
WITH pts AS (
    SELECT pa.inspector_id, p.grid_id, p.recorded_at, p.geom,
           lead(p.recorded_at) OVER w AS next_at,
           lead(p.geom) OVER w AS next_geom
    FROM patrols_trackpoint p
    JOIN patrols_patrol pa ON pa.id = p.patrol_id
    WHERE p.patrol_id = ANY(%(patrols)s) AND p.status = 'ok'
      AND p.recorded_at >= %(since)s AND p.recorded_at < %(until)s
    WINDOW w AS (PARTITION BY p.patrol_id ORDER BY p.recorded_at)
)
SELECT {key},
       coalesce(sum(extract(epoch FROM next_at - recorded_at))
                FILTER (WHERE next_at - recorded_at <= %(gap)s), 0)::float8,
       coalesce(sum(ST_DistanceSphere(geom, next_geom))
                FILTER (WHERE next_at - recorded_at <= %(gap)s), 0)::float8
FROM pts
WHERE {key} IS NOT NULL
GROUP BY {key}
"""
STEPS_BY_INSPECTOR_SQL = _STEPS_SQL.format(key="inspector_id")
STEPS_BY_GRID_SQL = _STEPS_SQL.format(key="grid_id")

# The inspectors' own reports written in the period and their path checks (an inspector
# reports on the inspector channel only: cases/api.py INTAKE_CHANNELS). A report counts when it
# was written, as its path check does: `observed_at` when the phone queued it offline. Intake
# accepts an observed_at at most GEOGRID_PATROL_MAX_POINT_AGE_DAYS before arrival and the
# clock skew after it, which bounds reported_at for the index.
_REPORTS_SQL = """
SELECT {key}, count(*),
       count(*) FILTER (WHERE c.path_check = 'off_track'),
       count(*) FILTER (WHERE c.path_check = 'no_track')
FROM cases_case c
WHERE c.channel = %(channel)s AND c.reporter_id IS NOT NULL
  AND c.reported_at >= %(arrived_from)s AND c.reported_at < %(arrived_until)s
  AND coalesce(c.observed_at, c.reported_at) >= %(since)s
  AND coalesce(c.observed_at, c.reported_at) < %(until)s
GROUP BY {key}
"""
REPORTS_BY_INSPECTOR_SQL = _REPORTS_SQL.format(key="c.reporter_id")
REPORTS_BY_GRID_SQL = _REPORTS_SQL.format(key="c.grid_id")

_PATROL_COUNT_SQL = """
SELECT inspector_id, count(*) FROM patrols_patrol WHERE id = ANY(%(patrols)s) GROUP BY 1
"""


def display_name(user: Any) -> str:
    """How the command center names a person: the full name, never the username (a log-in
    name is a credential's half); an account without a name shows its number."""
    return user.get_full_name() or f"#{user.pk}"


def _per_hour(reports: int, seconds: float) -> float | None:
    return None if seconds <= 0 else round(reports / (seconds / 3600.0), 2)


@dataclass(frozen=True)
class InspectorPatrols:
    inspector_id: int
    name: str
    patrols: int
    distance_m: float
    seconds: float
    grids: int  # unit grids of their scope
    mean_share: float | None  # empty without grids
    reports: int
    off_track: int
    no_track: int

    @property
    def flagged(self) -> int:
        return self.off_track + self.no_track

    @property
    def reports_per_hour(self) -> float | None:
        return _per_hour(self.reports, self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "distance_m": round(self.distance_m, 1),
            "seconds": round(self.seconds),
            "mean_share": None if self.mean_share is None else round(self.mean_share, 4),
            "flagged": self.flagged,
            "reports_per_hour": self.reports_per_hour,
        }


@dataclass(frozen=True)
class GridPatrols:
    grid_id: int
    code: str
    name: str
    share: float
    seconds: float
    visits: int
    last_visit: datetime | None
    distance_m: float
    reports: int
    off_track: int
    no_track: int

    @property
    def flagged(self) -> int:
        return self.off_track + self.no_track

    @property
    def reports_per_hour(self) -> float | None:
        return _per_hour(self.reports, self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "share": round(self.share, 4),
            "seconds": round(self.seconds),
            "distance_m": round(self.distance_m, 1),
            "last_visit": None if self.last_visit is None else self.last_visit.isoformat(),
            "flagged": self.flagged,
            "reports_per_hour": self.reports_per_hour,
        }


def _check(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must carry a time zone.")
    if until <= since:
        raise ValueError("The period must end after it starts.")


def _gap() -> timedelta:
    return timedelta(seconds=int(settings.GEOGRID_PATROL_GAP_S))


def _steps(
    sql: str, patrols: list[int], since: datetime, until: datetime
) -> dict[int, tuple[float, float]]:
    if not patrols:
        return {}
    with raw_cursor() as cursor:
        rows = cursor.execute(
            sql, {"patrols": patrols, "since": since, "until": until, "gap": _gap()}
        ).fetchall()
    return {key: (seconds, metres) for key, seconds, metres in rows}


def _arrival(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """When reports written in [since, until) can have arrived (see _REPORTS_SQL)."""
    skew = timedelta(seconds=int(settings.GEOGRID_PATROL_CLOCK_SKEW_S))
    queued = timedelta(days=int(settings.GEOGRID_PATROL_MAX_POINT_AGE_DAYS))
    return since - skew, until + queued


def _reports(sql: str, since: datetime, until: datetime) -> dict[int, tuple[int, int, int]]:
    arrived_from, arrived_until = _arrival(since, until)
    with raw_cursor() as cursor:
        rows = cursor.execute(
            sql,
            {
                "channel": Channel.INSPECTOR.value,
                "since": since,
                "until": until,
                "arrived_from": arrived_from,
                "arrived_until": arrived_until,
            },
        ).fetchall()
    return {key: (n, off, none) for key, n, off, none in rows}


def _mean_share(
    codes: list[str], shares: list[float], prefixes: Sequence[str]
) -> tuple[int, float]:
    """(unit grids under the prefixes, their summed share); `codes` sorted, as coverage gives
    them, so each prefix is one range found by bisection."""
    seen: set[int] = set()
    for prefix in prefixes:
        start = bisect_left(codes, prefix)
        end = bisect_left(codes, prefix + "\uffff")
        seen.update(range(start, end))
    return len(seen), sum(shares[i] for i in seen)


def inspector_patrols(*, since: datetime, until: datetime) -> list[InspectorPatrols]:
    """Every active inspector (and anyone else who walked or reported as one in the period),
    most distance first, then by name."""
    _check(since, until)
    whole, partial = patrols_of(since, until)
    patrols = whole + partial
    steps = _steps(STEPS_BY_INSPECTOR_SQL, patrols, since, until)
    reports = _reports(REPORTS_BY_INSPECTOR_SQL, since, until)
    counts: dict[int, int] = {}
    if patrols:
        with raw_cursor() as cursor:
            counts = dict(cursor.execute(_PATROL_COUNT_SQL, {"patrols": patrols}).fetchall())
    ids = set(steps) | set(counts) | set(reports)
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=ids)
        | User.objects.filter(role=Role.INSPECTOR, is_active=True)
    }
    scopes: dict[int, list[str]] = {}
    for user_id, code in GridScope.objects.filter(user_id__in=users).values_list(
        "user_id", "grid__code"
    ):
        scopes.setdefault(user_id, []).append(code)
    cover: list[GridCoverage] = coverage(since=since, until=until) if scopes else []
    codes = [row.code for row in cover]
    shares = [row.share for row in cover]
    rows = []
    for user_id, user in users.items():
        grids, total = _mean_share(codes, shares, scopes.get(user_id, []))
        seconds, metres = steps.get(user_id, (0.0, 0.0))
        n, off, none = reports.get(user_id, (0, 0, 0))
        rows.append(
            InspectorPatrols(
                inspector_id=user_id,
                name=display_name(user),
                patrols=counts.get(user_id, 0),
                distance_m=metres,
                seconds=seconds,
                grids=grids,
                mean_share=total / grids if grids else None,
                reports=n,
                off_track=off,
                no_track=none,
            )
        )
    return sorted(rows, key=lambda r: (-r.distance_m, r.name, r.inspector_id))


def grid_patrols(*, since: datetime, until: datetime) -> list[GridPatrols]:
    """The unit grids that were walked or reported in during the period, most walked first."""
    _check(since, until)
    whole, partial = patrols_of(since, until)
    steps = _steps(STEPS_BY_GRID_SQL, whole + partial, since, until)
    reports = _reports(REPORTS_BY_GRID_SQL, since, until)
    rows = []
    for row in coverage(since=since, until=until):
        seconds, metres = steps.get(row.grid_id, (0.0, 0.0))
        n, off, none = reports.get(row.grid_id, (0, 0, 0))
        if not (row.share > 0 or row.seconds > 0 or n):
            continue
        rows.append(
            GridPatrols(
                grid_id=row.grid_id,
                code=row.code,
                name=row.name,
                share=row.share,
                seconds=row.seconds,
                visits=row.visits,
                last_visit=row.last_visit,
                distance_m=metres,
                reports=n,
                off_track=off,
                no_track=none,
            )
        )
    # Shares to a tenth of a percent: a float's last digits should not order two grids that
    # were walked alike.
    return sorted(rows, key=lambda r: (-round(r.share, 3), -r.seconds, r.code))


# --- One inspector's day, for the replay ----------------------------------------------------
_REPLAY_POINTS_SQL = """
SELECT p.patrol_id, extract(epoch FROM p.recorded_at)::float8, ST_X(p.geom), ST_Y(p.geom)
FROM patrols_trackpoint p
WHERE p.patrol_id = ANY(%(patrols)s) AND p.status = 'ok'
  AND p.recorded_at >= %(since)s AND p.recorded_at < %(until)s
ORDER BY p.patrol_id, p.recorded_at
"""


@dataclass(frozen=True)
class ReplayPatrol:
    patrol_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    distance_m: float
    rejected: int  # points cleaning rejected (jumps, poor accuracy), not replayed
    points: list[tuple[float, float, float]]  # (epoch seconds, lon, lat), accepted, in order


def replay_patrols(*, inspector_id: int, since: datetime, until: datetime) -> list[ReplayPatrol]:
    """The inspector's patrols overlapping the period with their accepted points within it."""
    _check(since, until)
    whole, partial = patrols_of(since, until, [inspector_id])
    patrols = {
        p.pk: p for p in Patrol.objects.filter(pk__in=whole + partial).order_by("started_at")
    }
    points: dict[int, list[tuple[float, float, float]]] = {pk: [] for pk in patrols}
    if patrols:
        with raw_cursor() as cursor:
            for patrol_id, t, lon, lat in cursor.execute(
                _REPLAY_POINTS_SQL, {"patrols": list(patrols), "since": since, "until": until}
            ):
                points[patrol_id].append((t, round(lon, 7), round(lat, 7)))
    return [
        ReplayPatrol(
            patrol_id=p.pk,
            status=p.status,
            started_at=p.started_at,
            ended_at=p.ended_at,
            distance_m=p.distance_m,
            rejected=p.points_jump + p.points_inaccurate,
            points=points[p.pk],
        )
        for p in patrols.values()
    ]


@dataclass(frozen=True)
class ReplayReport:
    case_id: int
    at: datetime  # when it was written: observed_at (queued offline) or reported_at
    lon: float
    lat: float
    class_name: str
    class_name_en: str
    status_label: str
    path_check: str
    path_check_label: str
    path_distance_m: float | None


def replay_reports(*, inspector_id: int, since: datetime, until: datetime) -> list[ReplayReport]:
    """The inspector's own reports written in the period, in time order, with their path
    check (the time a report was written is the time the path check used)."""
    _check(since, until)
    rows = []
    for case in (
        Case.objects.filter(reporter_id=inspector_id, channel=Channel.INSPECTOR)
        .filter(reported_at__range=_arrival(since, until))
        .filter(
            Q(observed_at__gte=since, observed_at__lt=until)
            | Q(observed_at__isnull=True, reported_at__gte=since, reported_at__lt=until)
        )
        .select_related("case_class")
    ):
        rows.append(
            ReplayReport(
                case_id=case.pk,
                at=case.observed_at or case.reported_at,
                lon=round(case.geom.x, 7),
                lat=round(case.geom.y, 7),
                class_name=case.case_class.name,
                class_name_en=case.case_class.name_en,
                status_label=str(case.get_status_display()),
                path_check=case.path_check,
                path_check_label=str(case.get_path_check_display()),
                path_distance_m=None
                if case.path_distance_m is None
                else round(case.path_distance_m, 1),
            )
        )
    return sorted(rows, key=lambda r: (r.at, r.case_id))

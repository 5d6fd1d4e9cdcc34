"""Path checks (核查采集员的采集路径, docs/domain.md §8.4): where was the inspector's track when
they reported something, and how far from there is what they reported?

Read-only; intake and the component services call `check_path` and store its answer with the
case or the component event. A report is flagged, never refused: the inspector may have
walked with the phone's GPS off, and the desk decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from geogrid.core.db import raw_cursor
from geogrid.patrols.cleaning import haversine_m
from geogrid.patrols.models import PathCheck

# The accepted point of the inspector's patrols nearest before and nearest after the moment,
# each within the window: the patrols overlapping the window first (a handful), then one
# index probe per patrol and side.
_BRACKET_SQL = """
SELECT side, extract(epoch FROM t)::float8, lon, lat FROM (
    SELECT 'before' AS side, b.* FROM patrols_patrol pa CROSS JOIN LATERAL (
        SELECT p.recorded_at AS t, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM patrols_trackpoint p
        WHERE p.patrol_id = pa.id AND p.status = 'ok'
          AND p.recorded_at <= %(at)s AND p.recorded_at >= %(lo)s
        ORDER BY p.recorded_at DESC LIMIT 1) b
    WHERE pa.inspector_id = %(inspector)s AND pa.started_at <= %(hi)s
      AND (pa.ended_at IS NULL OR pa.ended_at >= %(lo)s)
    UNION ALL
    SELECT 'after', a.* FROM patrols_patrol pa CROSS JOIN LATERAL (
        SELECT p.recorded_at, ST_X(p.geom), ST_Y(p.geom)
        FROM patrols_trackpoint p
        WHERE p.patrol_id = pa.id AND p.status = 'ok'
          AND p.recorded_at > %(at)s AND p.recorded_at <= %(hi)s
        ORDER BY p.recorded_at LIMIT 1) a
    WHERE pa.inspector_id = %(inspector)s AND pa.started_at <= %(hi)s
      AND (pa.ended_at IS NULL OR pa.ended_at >= %(lo)s)
) s
"""
_BRACKET_SQL = " ".join(_BRACKET_SQL.split())  # parsed once per process (docs/architecture.md §4.2)


@dataclass(frozen=True)
class PathResult:
    check: str  # a PathCheck value
    distance_m: float | None = None
    # Where the track was at the moment (storage lon/lat), when it was anywhere.
    track_position: tuple[float, float] | None = None

    def as_details(self) -> dict[str, object]:
        return {
            "path_check": self.check,
            "path_distance_m": None if self.distance_m is None else round(self.distance_m, 1),
        }


def track_position(inspector_id: int, at: datetime) -> tuple[float, float] | None:
    """Where the inspector's track was at `at`: interpolated in time between the accepted
    points around it, or the nearer one when only one side lies within the window; None when
    no accepted point lies within GEOGRID_PATH_CHECK_WINDOW_S."""
    window = timedelta(seconds=int(settings.GEOGRID_PATH_CHECK_WINDOW_S))
    with raw_cursor() as cursor:
        rows = cursor.execute(
            _BRACKET_SQL,
            {"inspector": inspector_id, "at": at, "lo": at - window, "hi": at + window},
            prepare=True,
        ).fetchall()
    moment = at.timestamp()
    befores = [r for r in rows if r[0] == "before"]
    afters = [r for r in rows if r[0] == "after"]
    before = max(befores, key=lambda r: r[1]) if befores else None
    after = min(afters, key=lambda r: r[1]) if afters else None
    if before and after:
        span = after[1] - before[1]
        share = 0.0 if span <= 0 else (moment - before[1]) / span
        return (
            before[2] + (after[2] - before[2]) * share,
            before[3] + (after[3] - before[3]) * share,
        )
    nearest = before or after
    return None if nearest is None else (nearest[2], nearest[3])


def check_path(*, inspector_id: int, lon: float, lat: float, at: datetime) -> PathResult:
    """The path check of something reported at (lon, lat) in storage coordinates at `at`."""
    position = track_position(inspector_id, at)
    if position is None:
        return PathResult(PathCheck.NO_TRACK)
    distance = float(haversine_m(position[0], position[1], lon, lat))
    limit = float(settings.GEOGRID_PATH_CHECK_DISTANCE_M)
    return PathResult(
        PathCheck.OFF_TRACK if distance > limit else PathCheck.ON_TRACK, distance, position
    )

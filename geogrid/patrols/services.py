"""The patrol use cases: start, record points, end, import a track file, set a visit schedule
(docs/domain.md §8, docs/architecture.md §11).

Recording points is a hot path (every inspector's phone, every ten seconds): the patrol row is
locked, the last accepted point read, the batch cleaned in numpy (`cleaning.py`) and written
by one prepared INSERT that also finds each point's unit grid and skips the points already
stored (a batch resent after a lost answer). The batch needs no event row of its own: its
points are the record, each with the time it arrived.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.accounts.models import Role
from geogrid.core.crs import to_storage
from geogrid.core.db import raw_cursor
from geogrid.core.logs import log_on_commit
from geogrid.core.permissions import user_role
from geogrid.core.srid import metric_srid
from geogrid.grids.models import Grid
from geogrid.patrols.cleaning import NOISE_M, Fix, Limits, clean, haversine_m
from geogrid.patrols.coverage import CHUNK, WALKED_CTES
from geogrid.patrols.errors import PatrolError, PatrolNotFound
from geogrid.patrols.models import (
    Patrol,
    PatrolAction,
    PatrolEvent,
    PatrolSource,
    PatrolStatus,
    PointStatus,
    VisitSchedule,
)
from geogrid.patrols.tracks import RawPoint, TrackFile

logger = logging.getLogger(__name__)

# A patrol's client id for an imported file: the same file for the same inspector is the same
# patrol, so importing it twice is recognised.
FILE_PATROLS = uuid.UUID("1d3f9b27-8c6e-5a04-b2d1-7e9a0c4f6b35")


def limits() -> Limits:
    return Limits(
        max_speed_mps=float(settings.GEOGRID_PATROL_MAX_SPEED_KMH) / 3.6,
        max_accuracy_m=float(settings.GEOGRID_PATROL_MAX_ACCURACY_M),
        gap_s=float(settings.GEOGRID_PATROL_GAP_S),
    )


def _require_inspector(actor: Actor | None, inspector: Actor) -> None:
    """Only the inspector records their own track; an admin may import one for them."""
    if actor is None:
        return  # a system job (an import run from the shell names the inspector)
    if actor.pk == inspector.pk:
        return
    if user_role(actor) == Role.ADMIN:
        return
    raise PermissionError("Only the inspector who walks a patrol records its track.")


def _check_moment(moment: datetime, *, field: str, now: datetime, from_phone: bool) -> None:
    skew = timedelta(seconds=int(settings.GEOGRID_PATROL_CLOCK_SKEW_S))
    if moment > now + skew:
        raise PatrolError(
            f"{field}: {timezone.localtime(moment):%Y-%m-%d %H:%M:%S} is in the future "
            f"(the server's time is {timezone.localtime(now):%H:%M:%S}). Check the phone's "
            "clock and time zone.",
            field=field,
        )
    days = int(settings.GEOGRID_PATROL_MAX_POINT_AGE_DAYS)
    if from_phone and moment < now - timedelta(days=days):
        raise PatrolError(
            f"{field}: {timezone.localtime(moment):%Y-%m-%d %H:%M} is more than {days} days "
            "ago; a phone's queue does not wait that long. Import an old track as a GPX "
            "file instead.",
            field=field,
        )


def _district_of(inspector: Actor) -> str:
    code = inspector.grid_scopes.order_by("grid__code").values_list("grid__code", flat=True).first()
    return (code or "")[:6]


@transaction.atomic
def start_patrol(
    *,
    actor: Actor,
    client_id: uuid.UUID,
    started_at: datetime | None = None,
    inspector: Actor | None = None,
    source: str = PatrolSource.APP,
) -> tuple[Patrol, bool]:
    """Start a patrol, or return the one this client id already started (created False). An
    earlier patrol of the inspector still open (a phone that died) is ended first, at its
    last point, when the new one starts on the phone."""
    inspector = inspector or actor
    _require_inspector(actor, inspector)
    if user_role(inspector) not in (Role.INSPECTOR, Role.ADMIN):
        raise PatrolError("Only inspectors (监督员) walk patrols.", field="inspector")
    existing = Patrol.objects.filter(inspector=inspector, client_id=client_id).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    started_at = started_at or now
    _check_moment(started_at, field="started_at", now=now, from_phone=source == PatrolSource.APP)
    if source == PatrolSource.APP:
        # Only a phone's start ends the walk left open: an imported track of another day
        # must not end the inspector's patrol of today.
        for open_patrol in Patrol.objects.select_for_update().filter(
            inspector=inspector, status=PatrolStatus.ACTIVE
        ):
            _end(open_patrol, actor=actor, ended_at=None, reason="superseded")
    patrol = Patrol.objects.create(
        client_id=client_id,
        inspector=inspector,
        district_code=_district_of(inspector),
        source=source,
        started_at=started_at,
    )
    PatrolEvent.objects.create(
        patrol=patrol, action=PatrolAction.STARTED, actor=actor, details={"source": source}
    )
    log_on_commit(logger, "patrol started", patrol_id=patrol.pk, source=source)
    return patrol, True


@dataclass
class BatchResult:
    """What became of a batch: counts by verdict, and how many were already stored."""

    accepted: int = 0
    jump: int = 0
    inaccurate: int = 0
    repeated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "accepted": self.accepted,
            "jump": self.jump,
            "inaccurate": self.inaccurate,
            "repeated": self.repeated,
        }


_LOCK_SQL = (
    "SELECT inspector_id, status, started_at, ended_at, district_code "
    "FROM patrols_patrol WHERE id = %s FOR UPDATE"
)
_PREVIOUS_SQL = (
    "SELECT extract(epoch FROM recorded_at)::float8, ST_X(geom), ST_Y(geom) "
    "FROM patrols_trackpoint WHERE patrol_id = %s AND status = 'ok' AND recorded_at < %s "
    "ORDER BY recorded_at DESC LIMIT 1"
)
# The batch's points already stored and the last accepted point before the batch, in one
# round trip (each costs a context switch on a busy server: bench/README.md, "Patrols"). Run
# after the lock, so a concurrent resend of the same batch has committed and is seen.
_STATE_SQL = (
    "SELECT ARRAY(SELECT client_id FROM patrols_trackpoint "
    "WHERE patrol_id = %(patrol)s AND client_id = ANY(%(ids)s)), "
    "(SELECT ARRAY[extract(epoch FROM recorded_at)::float8, ST_X(geom), ST_Y(geom)] "
    "FROM patrols_trackpoint WHERE patrol_id = %(patrol)s AND status = 'ok' "
    "AND recorded_at < %(first)s ORDER BY recorded_at DESC LIMIT 1)"
)
# Each point with its unit grid (finest level, ST_Covers, lowest code: docs/domain.md §2.4);
# a point already stored (same patrol and client id) is skipped, not an error.
_INSERT_SQL = """
INSERT INTO patrols_trackpoint (district_code, patrol_id, client_id, recorded_at, received_at,
                                geom, accuracy_m, status, grid_id)
SELECT %(district)s, %(patrol)s, p.client_id, p.t, %(now)s,
       ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4490), p.accuracy, p.status,
       (SELECT g.id FROM grids_grid g
        WHERE g.valid_to IS NULL
          AND g.level_id = (SELECT id FROM grids_gridlevel ORDER BY depth DESC LIMIT 1)
          AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4490))
        ORDER BY g.code LIMIT 1)
FROM unnest(%(ids)s::uuid[], %(times)s::timestamptz[], %(lons)s::float8[],
            %(lats)s::float8[], %(accuracies)s::float8[], %(statuses)s::text[])
     AS p(client_id, t, lon, lat, accuracy, status)
ON CONFLICT (patrol_id, client_id, district_code) DO NOTHING
"""
_INSERT_SQL = " ".join(_INSERT_SQL.split())  # parsed once per process (docs/architecture.md §4.2)
# The INSERT and the patrol's counters in one statement, the counters from the rows the
# INSERT really wrote.
_RECORD_SQL = (
    f"WITH written AS ({_INSERT_SQL} RETURNING status) "
    "UPDATE patrols_patrol SET "
    "points_accepted = points_accepted + (SELECT count(*) FROM written WHERE status = 'ok'), "
    "points_jump = points_jump + (SELECT count(*) FROM written WHERE status = 'jump'), "
    "points_inaccurate = points_inaccurate "
    "+ (SELECT count(*) FROM written WHERE status = 'inaccurate'), "
    "distance_m = distance_m + %(walked)s WHERE id = %(patrol)s"
)


def record_points(
    *,
    actor: Actor,
    patrol: Patrol | int,
    points: Sequence[RawPoint],
    crs: Any = None,
    from_phone: bool = True,
) -> BatchResult:
    """Store a batch of points of a patrol, each with its cleaning verdict and unit grid.
    Points already stored (by client id) are counted as repeated and left as they are, so a
    resent batch changes nothing. Bad input stores nothing."""
    patrol_id = patrol if isinstance(patrol, int) else patrol.pk
    if not points:
        raise PatrolError("A batch needs at least one point.", field="points")
    most = int(settings.GEOGRID_PATROL_BATCH_MAX_POINTS)
    if len(points) > most:
        raise PatrolError(
            f"A batch holds at most {most} points, not {len(points)}: send them in parts.",
            field="points",
        )
    lons, lats = to_storage([p.x for p in points], [p.y for p in points], crs)
    now = timezone.now()
    for index, point in enumerate(points):
        _check_moment(point.recorded_at, field=f"points[{index}].t", now=now, from_phone=from_phone)
    with transaction.atomic(), raw_cursor(for_write=True) as cursor:
        row = cursor.execute(_LOCK_SQL, (patrol_id,), prepare=True).fetchone()
        # The scope check happens here, under the lock, not in a query of its own before:
        # one statement fewer on the hot path (bench/README.md, "Patrols").
        inspector_id = row[0] if row else None
        if row is None or (
            actor is not None and actor.pk != inspector_id and user_role(actor) != Role.ADMIN
        ):
            raise PatrolNotFound(
                f"Not found: patrol {patrol_id} does not exist, or it is another inspector's.",
                field="patrol",
            )
        inspector_id, status, started_at, ended_at, district = row
        skew = timedelta(seconds=int(settings.GEOGRID_PATROL_CLOCK_SKEW_S))
        if points[0].recorded_at < started_at - skew:
            raise PatrolError(
                f"points[0].t: {timezone.localtime(points[0].recorded_at):%H:%M:%S} is before "
                f"the patrol started ({timezone.localtime(started_at):%H:%M:%S}).",
                field="points[0].t",
            )
        if status == PatrolStatus.ENDED and points[-1].recorded_at > ended_at + skew:
            raise PatrolError(
                f"The patrol ended at {timezone.localtime(ended_at):%H:%M:%S}; points after "
                "that belong to a new patrol.",
                field="points",
            )
        ids = [p.client_id for p in points]
        stored, before = cursor.execute(
            _STATE_SQL,
            {"patrol": patrol_id, "ids": ids, "first": points[0].recorded_at},
            prepare=True,
        ).fetchone() or ([], None)  # a SELECT without FROM: always one row
        known = set(stored)
        fresh = [i for i, p in enumerate(points) if p.client_id not in known]
        result = BatchResult(repeated=len(points) - len(fresh))
        if not fresh:
            return result
        times = np.array([points[i].recorded_at.timestamp() for i in fresh])
        batch_lons, batch_lats = lons[fresh], lats[fresh]
        accuracy = np.array(
            [np.nan if points[i].accuracy_m is None else points[i].accuracy_m for i in fresh]
        )
        if fresh[0] != 0:
            # Part of the batch was stored before (a resend after a partial failure): the
            # reference point is the last accepted one before its first new point.
            before = cursor.execute(
                _PREVIOUS_SQL, (patrol_id, points[fresh[0]].recorded_at), prepare=True
            ).fetchone()
        previous = Fix(*before) if before else None
        verdicts = clean(
            times, batch_lons, batch_lats, accuracy, previous=previous, limits=limits()
        )
        result.accepted = verdicts.count(PointStatus.ACCEPTED)
        result.jump = verdicts.count(PointStatus.JUMP)
        result.inaccurate = verdicts.count(PointStatus.INACCURATE)
        cursor.execute(
            _RECORD_SQL,
            {
                "walked": _walked(previous, times, batch_lons, batch_lats, verdicts),
                "district": district,
                "patrol": patrol_id,
                "now": now,
                "ids": [points[i].client_id for i in fresh],
                "times": [points[i].recorded_at for i in fresh],
                "lons": batch_lons.tolist(),
                "lats": batch_lats.tolist(),
                "accuracies": [None if np.isnan(a) else float(a) for a in accuracy],
                "statuses": verdicts,
            },
            prepare=True,
        )
        if status == PatrolStatus.ENDED:
            # Late points of an ended patrol (a queue sent after the end): redraw its line.
            _build_line(patrol_id)
    return result


def _walked(
    previous: Fix | None,
    times: np.ndarray,
    lons: np.ndarray,
    lats: np.ndarray,
    verdicts: list[str],
) -> float:
    """Metres between consecutive accepted points of the batch (from the last accepted one
    before it), leaving out the stretches across a gap, which were not walked on record."""
    keep = np.array([v == PointStatus.ACCEPTED for v in verdicts])
    t, x, y = times[keep], lons[keep], lats[keep]
    if previous is not None:
        t = np.concatenate([[previous.t], t])
        x = np.concatenate([[previous.lon], x])
        y = np.concatenate([[previous.lat], y])
    if len(t) < 2:
        return 0.0
    steps = haversine_m(x[:-1], y[:-1], x[1:], y[1:])
    seconds = np.diff(t)
    # Not walked: across a silence, or the step to a track that recovered from a jump.
    speed = limits().max_speed_mps
    walked = (seconds <= float(settings.GEOGRID_PATROL_GAP_S)) & (
        steps <= speed * seconds + NOISE_M
    )
    return float(steps[walked].sum())


# The accepted points as lines, a new line after each silence longer than the gap and at the
# step to a track that recovered from a jump (cleaning.py: not walked); repeated positions
# removed (a line needs two distinct points to be valid).
_LINE_SQL = """
WITH steps AS (
    SELECT geom, recorded_at,
           extract(epoch FROM recorded_at - lag(recorded_at) OVER w) AS seconds,
           ST_Distance(geom::geography, (lag(geom) OVER w)::geography) AS metres
    FROM patrols_trackpoint WHERE patrol_id = %(patrol)s AND status = 'ok'
    WINDOW w AS (ORDER BY recorded_at)
), pts AS (
    SELECT geom, recorded_at,
           CASE WHEN seconds > %(gap)s OR metres > %(speed)s * seconds + %(noise)s
                THEN 1 ELSE 0 END AS brk
    FROM steps
), pieces AS (
    SELECT geom, recorded_at, sum(brk) OVER (ORDER BY recorded_at) AS piece FROM pts
), lines AS (
    SELECT ST_RemoveRepeatedPoints(ST_MakeLine(geom ORDER BY recorded_at)) AS line
    FROM pieces GROUP BY piece
), walked AS (
    SELECT ST_Multi(ST_Collect(line)) AS geom,
           COALESCE(sum(ST_Length(line::geography)), 0) AS metres
    FROM lines WHERE ST_NPoints(line) >= 2
)
UPDATE patrols_patrol p SET geom = walked.geom, distance_m = walked.metres
FROM walked WHERE p.id = %(patrol)s
"""
_LINE_SQL = " ".join(_LINE_SQL.split())  # parsed once per process (docs/architecture.md §4.2)


def _build_line(patrol_id: int) -> None:
    with raw_cursor(for_write=True) as cursor:
        cursor.execute(
            _LINE_SQL,
            {
                "patrol": patrol_id,
                "gap": float(settings.GEOGRID_PATROL_GAP_S),
                "speed": limits().max_speed_mps,
                "noise": NOISE_M,
            },
        )
    draw_walked_areas([patrol_id])


_WALKED_SQL = (
    """
WITH lines AS (
    SELECT id AS patrol_id, 0::bigint AS piece, geom
    FROM patrols_patrol WHERE id = ANY(%(patrols)s) AND geom IS NOT NULL
), """
    + WALKED_CTES
    + """
INSERT INTO patrols_walkedarea (patrol_id, district_code, distance_m, geom)
SELECT w.patrol_id, p.district_code, %(distance)s, w.geom
FROM walked w JOIN patrols_patrol p ON p.id = w.patrol_id
WHERE NOT ST_IsEmpty(w.geom)
"""
)


def draw_walked_areas(patrol_ids: Sequence[int]) -> None:
    """Draw (again) the ground these patrols covered, from their lines, for coverage
    (models.WalkedArea). Part of ending a patrol; the demo and the benchmark call it for many
    patrols at once. Set-based: one statement whatever the number of patrols."""
    ids = list(patrol_ids)
    with raw_cursor(for_write=True) as cursor:
        cursor.execute("DELETE FROM patrols_walkedarea WHERE patrol_id = ANY(%s)", (ids,))
        cursor.execute(
            _WALKED_SQL,
            {
                "patrols": ids,
                "metric": metric_srid(),
                "distance": float(settings.GEOGRID_COVERAGE_DISTANCE_M),
                "chunk": CHUNK,
            },
        )


def _end(patrol: Patrol, *, actor: Actor | None, ended_at: datetime | None, reason: str) -> None:
    last = patrol.points.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
    if ended_at is None:
        ended_at = last or patrol.started_at
    if ended_at < patrol.started_at:
        raise PatrolError(
            "ended_at is before the patrol started "
            f"({timezone.localtime(patrol.started_at):%Y-%m-%d %H:%M:%S}).",
            field="ended_at",
        )
    if last is not None and ended_at < last:
        ended_at = last  # the end is never before a point already recorded
    Patrol.objects.filter(pk=patrol.pk).update(status=PatrolStatus.ENDED, ended_at=ended_at)
    _build_line(patrol.pk)
    PatrolEvent.objects.create(
        patrol=patrol,
        action=PatrolAction.ENDED,
        actor=actor,
        details={"reason": reason} if reason else {},
    )
    log_on_commit(logger, "patrol ended", patrol_id=patrol.pk, reason=reason)


@transaction.atomic
def end_patrol(*, actor: Actor, patrol: Patrol, ended_at: datetime | None = None) -> Patrol:
    """End a patrol (at `ended_at`, the phone's time, or now) and draw its line. Ending it
    again returns it unchanged."""
    patrol = Patrol.objects.select_for_update().get(pk=patrol.pk)
    _require_inspector(actor, patrol.inspector)
    if patrol.status == PatrolStatus.ENDED:
        return patrol
    now = timezone.now()
    if ended_at is not None:
        _check_moment(ended_at, field="ended_at", now=now, from_phone=True)
    _end(patrol, actor=actor, ended_at=ended_at or now, reason="")
    patrol.refresh_from_db()
    return patrol


@dataclass
class ImportResult:
    patrol: Patrol
    created: bool
    batch: BatchResult


@transaction.atomic
def import_track(
    *, actor: Actor | None, inspector: Actor, track: TrackFile, crs: Any = None
) -> ImportResult:
    """Store a track file (`tracks.read_track_file`) as one ended patrol of `inspector`. The
    same file for the same inspector is recognised and not stored twice."""
    if user_role(inspector) != Role.INSPECTOR:
        raise PatrolError(
            f"{inspector} is not an inspector (监督员): tracks belong to inspectors.",
            field="inspector",
        )
    client_id = uuid.uuid5(FILE_PATROLS, f"{inspector.pk}:{track.digest}")
    existing = Patrol.objects.filter(inspector=inspector, client_id=client_id).first()
    if existing is not None:
        return ImportResult(existing, False, BatchResult(repeated=len(track.points)))
    # Checked before anything is written: a file with a future time stores nothing.
    now = timezone.now()
    for index, point in enumerate(track.points):
        _check_moment(point.recorded_at, field=f"point {index + 1}", now=now, from_phone=False)
    patrol, _ = start_patrol(
        actor=actor or inspector,
        inspector=inspector,
        client_id=client_id,
        started_at=track.points[0].recorded_at,
        source=track.kind,
    )
    total = BatchResult()
    step = int(settings.GEOGRID_PATROL_BATCH_MAX_POINTS)
    for first in range(0, len(track.points), step):
        part = record_points(
            actor=actor or inspector,
            patrol=patrol.pk,
            points=track.points[first : first + step],
            crs=crs,
            from_phone=False,
        )
        total.accepted += part.accepted
        total.jump += part.jump
        total.inaccurate += part.inaccurate
        total.repeated += part.repeated
    _end(patrol, actor=actor, ended_at=track.points[-1].recorded_at, reason="")
    PatrolEvent.objects.create(
        patrol=patrol,
        action=PatrolAction.IMPORTED,
        actor=actor,
        details={"kind": track.kind, "sha256": track.digest, **total.as_dict()},
    )
    patrol.refresh_from_db()
    return ImportResult(patrol, True, total)


@transaction.atomic
def set_visit_schedule(
    *,
    actor: Actor | None,
    grid: Grid | None,
    every_days: int,
    working_days_only: bool = True,
    required: bool = True,
) -> VisitSchedule:
    """Set how often a grid (or, with no grid, every finest-level grid) must be visited."""
    if not 1 <= every_days <= 366:
        raise PatrolError("every_days is a number of days from 1 to 366.", field="every_days")
    schedule, _ = VisitSchedule.objects.update_or_create(
        grid=grid,
        defaults={
            "every_days": every_days,
            "working_days_only": working_days_only,
            "required": required,
        },
    )
    PatrolEvent.objects.create(
        patrol=None,
        action=PatrolAction.SCHEDULE_CHANGED,
        actor=actor,
        details={
            "grid": grid.code if grid else None,
            "every_days": every_days,
            "working_days_only": working_days_only,
            "required": required,
        },
    )
    return schedule

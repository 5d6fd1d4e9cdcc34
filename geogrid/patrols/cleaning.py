"""Cleaning a track: which GPS fixes to keep (docs/domain.md §8.2).

Pure functions over numpy arrays, no database: `record_points` hands them a batch and the last
accepted point before it, and stores every point with its verdict, so nothing is thrown away
and the rejected points are counted.

- A fix whose reported accuracy is worse than the limit is **inaccurate**.
- A fix that could only be reached from the last accepted one faster than the speed limit is
  a **jump** (a GPS multipath error, a fix from a cell tower). It is judged against the last
  *accepted* point, so one wild fix does not drag the next good one with it. The distance
  first loses the fix's own error (its accuracy, or `NOISE_M` when the phone gives none):
  fixes one second apart wobble by metres, which is not speed.
- If the last accepted fix was itself the wild one (a phone's first fix is often a cell
  tower's), every true fix after it would look like a jump. So when `RECOVER_AFTER` jumps in a
  row agree with each other (each reachable from the one before within the speed limit),
  they are the track: they are accepted, and later fixes are judged against them.
- After a silence longer than the gap (the phone in a pocket, a tunnel, a lunch break) the
  next accurate fix starts a new piece of track and is accepted whatever the distance: an
  inspector who took the bus is somewhere else, not jumping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geogrid.patrols.models import PointStatus

EARTH_RADIUS_M = 6_371_008.8
# The error assumed for a fix that comes without an accuracy.
NOISE_M = 10.0
# This many jumps in a row that agree with each other are the track, not jumps.
RECOVER_AFTER = 3


@dataclass(frozen=True)
class Limits:
    max_speed_mps: float
    max_accuracy_m: float
    gap_s: float


@dataclass(frozen=True)
class Fix:
    """A point already stored: the last accepted one before a batch."""

    t: float  # POSIX seconds
    lon: float
    lat: float


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres (mean Earth radius): ample for walking speeds."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))), dtype=float)


def clean(
    t: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    accuracy: npt.NDArray[np.float64],
    *,
    previous: Fix | None,
    limits: Limits,
) -> list[str]:
    """The PointStatus of each point of a batch in time order (`t` strictly increasing;
    `accuracy` NaN where the phone gave none). The walk is sequential by nature (each verdict
    moves the reference point), but a batch is at most a few hundred points. A run of
    agreeing jumps is recognised within one batch."""
    inaccurate = np.nan_to_num(accuracy, nan=0.0) > limits.max_accuracy_m
    verdicts: list[str] = []
    last = previous
    run: list[int] = []  # the indices of the jumps in a row that agree with each other

    def fix_at(j: int) -> Fix:
        return Fix(float(t[j]), float(lon[j]), float(lat[j]))

    for i in range(len(t)):
        if inaccurate[i]:
            verdicts.append(PointStatus.INACCURATE)
            continue
        if last is not None and _too_fast(last, t[i], lon[i], lat[i], accuracy[i], limits):
            agrees = bool(run) and not _too_fast(
                fix_at(run[-1]), t[i], lon[i], lat[i], accuracy[i], limits
            )
            run = [*run, i] if agrees else [i]
            if len(run) < RECOVER_AFTER:
                verdicts.append(PointStatus.JUMP)
                continue
            for j in run[:-1]:
                verdicts[j] = PointStatus.ACCEPTED
        run = []
        verdicts.append(PointStatus.ACCEPTED)
        last = fix_at(i)
    return verdicts


def _too_fast(last: Fix, t: float, lon: float, lat: float, accuracy: float, limits: Limits) -> bool:
    """Whether reaching this fix from `last` needs more than the speed limit (after the fix's
    own error); never after a silence longer than the gap."""
    seconds = t - last.t
    if seconds > limits.gap_s:
        return False
    error = NOISE_M if np.isnan(accuracy) else float(accuracy)
    metres = float(haversine_m(last.lon, last.lat, lon, lat)) - error
    return metres / max(seconds, 1e-3) > limits.max_speed_mps

"""Track cleaning as pure functions: jumps judged against the last accepted fix, poor fixes
dropped, a long silence starting a new piece; and a seeded property over random walks."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from geogrid.patrols.cleaning import NOISE_M, RECOVER_AFTER, Fix, Limits, clean, haversine_m

LIMITS = Limits(max_speed_mps=25 / 3.6, max_accuracy_m=50, gap_s=300)
LAT = 39.9
M_PER_DEG_LON = 111_320 * np.cos(np.radians(LAT))


def east(metres: float) -> float:
    return 116.4 + metres / M_PER_DEG_LON


def _clean(times, xs, accuracy=None, previous=None):
    t = np.asarray(times, dtype=float)
    lon = np.array([east(x) for x in xs])
    lat = np.full(len(xs), LAT)
    acc = np.full(len(xs), np.nan) if accuracy is None else np.asarray(accuracy, dtype=float)
    return clean(t, lon, lat, acc, previous=previous, limits=LIMITS)


def test_a_walk_is_kept_whole():
    assert _clean([0, 10, 20, 30], [0, 12, 25, 36]) == ["ok"] * 4


def test_one_wild_fix_is_a_jump_and_the_next_good_one_is_kept():
    assert _clean([0, 10, 20, 30], [0, 10, 900, 30]) == ["ok", "ok", "jump", "ok"]


def test_a_wild_first_fix_gives_way_to_the_track_that_agrees_with_itself():
    # The first fix is 2 km off (a cell tower); the walk that follows agrees with itself.
    verdicts = _clean([0, 10, 20, 30, 40], [2000, 0, 10, 20, 30])
    assert verdicts == ["ok"] * 5
    # Two agreeing jumps are not yet a track: they stay jumps.
    assert _clean([0, 10, 20, 30], [0, 900, 910, 30]) == ["ok", "jump", "jump", "ok"]


def test_a_poor_fix_is_dropped_whatever_its_position():
    assert _clean([0, 10, 20], [0, 10, 20], accuracy=[5, 80, 5]) == ["ok", "inaccurate", "ok"]


def test_a_fix_after_a_long_silence_starts_afresh():
    assert _clean([0, 10, 1000], [0, 10, 5000]) == ["ok", "ok", "ok"]


def test_the_batch_is_judged_against_the_last_stored_fix():
    previous = Fix(t=-10.0, lon=east(-2000), lat=LAT)
    assert _clean([0, 10], [0, 10], previous=previous) == ["jump", "jump"]


def test_gps_wobble_between_fixes_a_second_apart_is_not_speed():
    # 12 m in one second looks like 43 km/h; within the fix's error it is standing still.
    assert _clean([0, 1], [0, 12]) == ["ok", "ok"]
    assert NOISE_M >= 10


def test_haversine_is_metres_on_the_ground():
    assert abs(float(haversine_m(east(0), LAT, east(1000), LAT)) - 1000) < 2


PROPERTIES = hypothesis_settings(max_examples=200, derandomize=True, deadline=None, database=None)


@PROPERTIES
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=1, max_value=400),  # seconds since the previous fix
            st.floats(min_value=-3000, max_value=3000),  # metres east of the previous fix
            st.one_of(st.none(), st.floats(min_value=0, max_value=100)),  # accuracy
        ),
        min_size=1,
        max_size=60,
    )
)
def test_consecutive_kept_fixes_never_imply_more_than_the_speed_limit(steps):
    times = np.cumsum([s[0] for s in steps])
    xs = np.cumsum([s[1] for s in steps])
    accuracy = [np.nan if s[2] is None else s[2] for s in steps]
    verdicts = _clean(times, xs, accuracy=accuracy)
    kept = [i for i, v in enumerate(verdicts) if v == "ok"]

    def too_fast(a: int, b: int) -> bool:
        seconds = times[b] - times[a]
        if seconds > LIMITS.gap_s:
            return False
        error = NOISE_M if np.isnan(accuracy[b]) else accuracy[b]
        return float(haversine_m(east(xs[a]), LAT, east(xs[b]), LAT)) - error > (
            LIMITS.max_speed_mps * seconds + 1e-6
        )

    for n in range(1, len(kept)):
        if too_fast(kept[n - 1], kept[n]):
            # Only where the track moved on: a run of RECOVER_AFTER fixes that agree.
            run = kept[n : n + RECOVER_AFTER]
            assert len(run) == RECOVER_AFTER
            assert not any(too_fast(a, b) for a, b in zip(run, run[1:], strict=False))
    for i, verdict in enumerate(verdicts):
        if not np.isnan(accuracy[i]) and accuracy[i] > LIMITS.max_accuracy_m:
            assert verdict == "inaccurate"

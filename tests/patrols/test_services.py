"""Patrol services on the real PostGIS: starting, recording and cleaning points, ending,
importing track files, and every bad input refused with nothing stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from geogrid.accounts.models import Role
from geogrid.patrols.errors import PatrolError, PatrolNotFound, TrackFileError
from geogrid.patrols.models import Patrol, PatrolEvent, PatrolStatus, PointStatus, TrackPoint
from geogrid.patrols.services import end_patrol, import_track, record_points, start_patrol
from geogrid.patrols.tracks import RawPoint, check_order, read_track_file
from tests import factories
from tests.geometry import point
from tests.patrols.factories import east_along, recent_start, walk

pytestmark = pytest.mark.django_db

UNIT_NW = "110101001001001"
UNIT_NE = "110101001001002"


@pytest.fixture
def patrol(inspector):
    patrol, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=recent_start())
    return patrol


def test_start_patrol_with_the_same_client_id_returns_the_first_patrol(inspector):
    client_id = uuid.uuid4()
    first, created = start_patrol(actor=inspector, client_id=client_id)
    again, created_again = start_patrol(actor=inspector, client_id=client_id)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Patrol.objects.filter(inspector=inspector).count() == 1
    assert first.district_code == "110101"
    assert PatrolEvent.objects.filter(patrol=first, action="started").count() == 1


def test_starting_a_new_patrol_ends_the_one_left_open(inspector):
    old, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=recent_start())
    record_points(
        actor=inspector, patrol=old, points=walk(east_along(150, 10, 50), start=recent_start())
    )
    start_patrol(actor=inspector, client_id=uuid.uuid4())
    old.refresh_from_db()
    assert old.status == PatrolStatus.ENDED
    # Ended at its last point, not at the moment the new one started.
    assert old.ended_at == recent_start() + timedelta(seconds=40)
    assert PatrolEvent.objects.get(patrol=old, action="ended").details == {"reason": "superseded"}


def test_only_inspectors_walk_patrols(city):
    viewer = factories.user("watcher", Role.VIEWER)
    with pytest.raises(PatrolError, match="Only inspectors"):
        start_patrol(actor=viewer, client_id=uuid.uuid4())
    assert not Patrol.objects.exists()


def test_record_points_places_each_point_in_its_unit_grid(inspector, patrol, city):
    points = walk([(50, 150), (150, 150), (50, 50), (500, 500)], start=recent_start(), step_s=200)
    result = record_points(actor=inspector, patrol=patrol, points=points, crs=4490)
    assert result.accepted == 4
    grids = list(
        TrackPoint.objects.filter(patrol=patrol)
        .order_by("recorded_at")
        .values_list("grid__code", flat=True)
    )
    assert grids == [UNIT_NW, UNIT_NE, "110101001001003", None]


def test_a_resent_batch_stores_nothing_twice(inspector, patrol):
    points = walk(east_along(150, 10, 100), start=recent_start())
    first = record_points(actor=inspector, patrol=patrol, points=points)
    again = record_points(actor=inspector, patrol=patrol, points=points)
    assert first.as_dict() == {"accepted": 10, "jump": 0, "inaccurate": 0, "repeated": 0}
    assert again.as_dict() == {"accepted": 0, "jump": 0, "inaccurate": 0, "repeated": 10}
    assert TrackPoint.objects.filter(patrol=patrol).count() == 10
    patrol.refresh_from_db()
    assert patrol.points_accepted == 10
    assert patrol.distance_m == pytest.approx(90, abs=0.5)


def test_a_batch_overlapping_a_stored_one_adds_only_the_new_points(inspector, patrol):
    points = walk(east_along(150, 10, 100), start=recent_start())
    record_points(actor=inspector, patrol=patrol, points=points[:6])
    result = record_points(actor=inspector, patrol=patrol, points=points[4:])
    assert (result.accepted, result.repeated) == (4, 2)
    assert TrackPoint.objects.filter(patrol=patrol).count() == 10


def test_cleaning_drops_gps_jumps_and_poor_fixes_and_counts_them(inspector, patrol):
    start = recent_start()
    good = walk(east_along(150, 10, 60), start=start)  # 6 points, 10 s apart
    # A fix 1 km away 10 s later: 100 m/s, a jump. Then back on the line: accepted.
    jump = walk([(1060, 150)], start=start + timedelta(seconds=60), tag="jump")
    back = walk([(80, 150), (90, 150)], start=start + timedelta(seconds=70), tag="back")
    poor = walk([(100, 150)], start=start + timedelta(seconds=90), tag="poor", accuracy=120)
    result = record_points(actor=inspector, patrol=patrol, points=good + jump + back + poor)
    assert result.as_dict() == {"accepted": 8, "jump": 1, "inaccurate": 1, "repeated": 0}
    statuses = dict(TrackPoint.objects.filter(patrol=patrol).values_list("client_id", "status"))
    assert statuses[jump[0].client_id] == PointStatus.JUMP
    assert statuses[poor[0].client_id] == PointStatus.INACCURATE
    patrol.refresh_from_db()
    assert (patrol.points_accepted, patrol.points_jump, patrol.points_inaccurate) == (8, 1, 1)
    # The distance runs along the accepted points only: 10 → 90 m, not out to the jump.
    assert patrol.distance_m == pytest.approx(80, abs=0.5)


def test_a_wild_first_fix_is_left_behind_and_not_counted_as_walked(inspector, patrol):
    start = recent_start()
    wild = walk([(2010, 150)], start=start, tag="wild")
    track = walk(east_along(150, 10, 60), start=start + timedelta(seconds=10))
    result = record_points(actor=inspector, patrol=patrol, points=wild + track)
    assert result.as_dict() == {"accepted": 7, "jump": 0, "inaccurate": 0, "repeated": 0}
    patrol.refresh_from_db()
    assert patrol.distance_m == pytest.approx(50, abs=0.5)  # not the 2 km to the wild fix
    ended = end_patrol(actor=inspector, patrol=patrol)
    assert ended.distance_m == pytest.approx(50, abs=0.5)
    assert ended.geom.num_geom == 1  # the wild fix alone is no line


def test_after_a_long_silence_a_far_point_starts_a_new_piece_not_a_jump(inspector, patrol):
    start = recent_start()
    before = walk([(10, 150), (20, 150)], start=start)
    # 20 minutes later, 1.5 km away (a bus ride): far beyond walking speed, but after a gap.
    after = walk([(1520, 150), (1530, 150)], start=start + timedelta(minutes=20), tag="after")
    result = record_points(actor=inspector, patrol=patrol, points=before + after)
    assert result.accepted == 4
    ended = end_patrol(actor=inspector, patrol=patrol)
    assert len(ended.geom) == 2  # two pieces: the ride between them is not drawn
    assert ended.distance_m == pytest.approx(20, abs=0.5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: list(reversed(walk(east_along(150, 10, 40), start=s))), "out of order"),
        (lambda s: walk([(10, 150)], start=timezone.now() + timedelta(hours=1)), "future"),
        (lambda s: walk([(10, 150)], start=s - timedelta(days=30)), "days ago"),
        (lambda s: walk([(10, 150)], start=s - timedelta(hours=2)), "before the patrol"),
        (lambda s: walk([(10, 150)], start=s) * 2, "repeats the id"),
    ],
    ids=["wrong-order", "future", "too-old", "before-start", "duplicate-id"],
)
def test_bad_batches_are_refused_with_nothing_stored(inspector, patrol, make, message):
    with pytest.raises(PatrolError, match=message):
        points = make(recent_start())
        check_order(points)  # what the API does first with a posted batch
        record_points(actor=inspector, patrol=patrol, points=points)
    assert not TrackPoint.objects.filter(patrol=patrol).exists()
    patrol.refresh_from_db()
    assert patrol.points_accepted == 0


def test_coordinates_out_of_range_are_refused_with_nothing_stored(inspector, patrol):
    bad = [RawPoint(uuid.uuid4(), recent_start(), 200.0, 39.9, 5.0)]
    with pytest.raises(ValueError, match="200"):
        record_points(actor=inspector, patrol=patrol, points=bad)
    assert not TrackPoint.objects.exists()


def test_another_inspector_cannot_add_to_a_track(inspector, patrol, city):
    other = factories.user("inspector-b", Role.INSPECTOR, scope=[city["110101001001002"]])
    with pytest.raises(PatrolNotFound):
        record_points(actor=other, patrol=patrol, points=walk([(10, 150)], start=recent_start()))
    assert not TrackPoint.objects.exists()


def test_batches_are_limited_before_any_work(inspector, patrol, settings):
    settings.GEOGRID_PATROL_BATCH_MAX_POINTS = 5
    with pytest.raises(PatrolError, match="at most 5 points"):
        record_points(
            actor=inspector,
            patrol=patrol,
            points=walk(east_along(150, 0, 100), start=recent_start()),
        )


def test_end_patrol_draws_the_line_of_the_accepted_points(inspector, patrol):
    record_points(
        actor=inspector, patrol=patrol, points=walk(east_along(150, 10, 190), start=recent_start())
    )
    ended = end_patrol(actor=inspector, patrol=patrol)
    assert ended.status == PatrolStatus.ENDED
    assert ended.geom.geom_type == "MultiLineString"
    assert ended.geom[0].num_points == 19
    assert ended.distance_m == pytest.approx(180, abs=0.5)
    assert end_patrol(actor=inspector, patrol=ended).ended_at == ended.ended_at  # harmless again


def test_late_points_of_an_ended_patrol_redraw_its_line(inspector, patrol):
    start = recent_start()
    points = walk(east_along(150, 10, 100), start=start)
    record_points(actor=inspector, patrol=patrol, points=points[:5])
    end_patrol(actor=inspector, patrol=patrol, ended_at=start + timedelta(seconds=95))
    record_points(actor=inspector, patrol=patrol, points=points[5:])  # the queue, sent late
    patrol.refresh_from_db()
    assert patrol.geom[0].num_points == 10
    after = walk([(10, 50)], start=start + timedelta(minutes=10), tag="after-end")
    with pytest.raises(PatrolError, match="new patrol"):
        record_points(actor=inspector, patrol=patrol, points=after)


def test_the_database_refuses_a_second_point_with_the_same_client_id(inspector, patrol):
    record_points(actor=inspector, patrol=patrol, points=walk([(10, 150)], start=recent_start()))
    stored = TrackPoint.objects.get(patrol=patrol)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrackPoint.objects.create(
            patrol=patrol,
            district_code=stored.district_code,
            client_id=stored.client_id,
            recorded_at=stored.recorded_at,
            received_at=stored.received_at,
            geom=stored.geom,
            status="ok",
        )


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><name>巡查</name><trkseg>
{points}
 </trkseg></trk>
</gpx>"""


def gpx_bytes(path, start, step_s=10):
    rows = []
    for index, (x, y) in enumerate(path):
        at = point(x, y)
        moment = (start + timedelta(seconds=step_s * index)).astimezone(UTC)
        rows.append(
            f'  <trkpt lat="{at.y:.8f}" lon="{at.x:.8f}"><time>'
            f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        )
    return GPX.format(points="\n".join(rows)).encode()


def test_import_a_gpx_track_as_an_ended_patrol_once(inspector, admin_user):
    start = (timezone.now() - timedelta(days=30)).replace(microsecond=0)
    data = gpx_bytes(east_along(150, 10, 190), start)
    track = read_track_file(data, name="walk.gpx")
    result = import_track(actor=admin_user, inspector=inspector, track=track)
    assert result.created
    patrol = result.patrol
    assert (patrol.source, patrol.status, patrol.points_accepted) == ("gpx", "ended", 19)
    assert patrol.started_at == start and patrol.ended_at == start + timedelta(seconds=180)
    assert patrol.distance_m == pytest.approx(180, abs=1)
    again = import_track(actor=admin_user, inspector=inspector, track=read_track_file(data))
    assert not again.created and again.patrol.pk == patrol.pk
    assert Patrol.objects.count() == 1 and TrackPoint.objects.count() == 19


def test_import_a_geojson_line_with_coordinate_times(inspector):
    start = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    path = east_along(150, 10, 60)
    coords = [[point(x, y).x, point(x, y).y] for x, y in path]
    times = [(start + timedelta(seconds=10 * i)).isoformat() for i in range(len(path))]
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {"coordTimes": times},
            }
        ],
    }
    track = read_track_file(json.dumps(document).encode(), name="walk.geojson")
    result = import_track(actor=None, inspector=inspector, track=track)
    assert (result.patrol.source, result.patrol.points_accepted) == ("geojson", 6)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"lon,lat,time\n116.4,39.9,2026-01-01T00:00:00Z\n", "neither GPX"),
        (b"<gpx><trk><trkseg><trkpt lat='39.9' lon='116.4'></trkpt>", "not well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]>'
            b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">&a;</gpx>',
            "not well-formed|DTD",
        ),
        (
            b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            b'<trkpt lat="39.9" lon="116.4"></trkpt></trkseg></trk></gpx>',
            "no time",
        ),
        (b'{"type": "FeatureCollection", "features": []}', "no points"),
        (b'{"type": "Feature", "geometry": {"type": "Polygon"}}', "Polygon"),
        (b"{not json", "not valid JSON"),
    ],
    ids=["csv", "broken-xml", "xml-entities", "gpx-without-times", "empty", "polygon", "bad-json"],
)
def test_files_that_are_not_tracks_are_refused(data, message):
    with pytest.raises(TrackFileError, match=message):
        read_track_file(data, name="upload")


def test_a_track_file_with_a_future_time_stores_nothing(inspector):
    start = timezone.now() + timedelta(days=1)
    track = read_track_file(gpx_bytes(east_along(150, 10, 40), start))
    with pytest.raises(PatrolError, match="future"):
        import_track(actor=None, inspector=inspector, track=track)
    assert not Patrol.objects.exists() and not TrackPoint.objects.exists()


def test_tracks_belong_to_inspectors_only(city):
    planner = factories.user("planner-x", Role.PLANNER)
    start = timezone.now() - timedelta(days=1)
    track = read_track_file(gpx_bytes(east_along(150, 10, 40), start))
    with pytest.raises(PatrolError, match="not an inspector"):
        import_track(actor=None, inspector=planner, track=track)


def test_importing_an_old_track_leaves_todays_patrol_walking(inspector, patrol):
    start = (timezone.now() - timedelta(days=5)).replace(microsecond=0)
    track = read_track_file(gpx_bytes(east_along(150, 10, 60), start))
    import_track(actor=None, inspector=inspector, track=track)
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.ACTIVE

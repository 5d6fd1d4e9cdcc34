"""manage.py import_tracks as an office runs it: GPX and GeoJSON files, a file seen before,
a file that is not a track, a dry run."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.utils import timezone

from geogrid.patrols.models import Patrol, TrackPoint
from tests.geometry import point
from tests.patrols.factories import east_along
from tests.patrols.test_services import gpx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def gpx(tmp_path):
    start = (timezone.now() - timedelta(days=3)).replace(microsecond=0)
    path = tmp_path / "monday.gpx"
    path.write_bytes(gpx_bytes(east_along(150, 10, 190), start))
    return path


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_tracks", *args, stdout=out, stderr=err, verbosity=0)
    return out.getvalue()


def test_import_tracks_stores_a_patrol_and_says_what_it_kept(inspector, gpx):
    output = _run(str(gpx), "--inspector", inspector.username)
    assert "imported as patrol" in output and "19 kept" in output and "0.18 km" in output
    patrol = Patrol.objects.get()
    assert (patrol.inspector, patrol.source, patrol.points_accepted) == (inspector, "gpx", 19)
    again = _run(str(gpx), "--inspector", inspector.username)
    assert "already imported" in again and "19 kept" in again
    assert Patrol.objects.count() == 1


def test_a_bad_file_is_refused_and_the_good_ones_imported(inspector, gpx, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a track")
    with pytest.raises(CommandError, match="1 of 2 files were refused"):
        call_command(
            "import_tracks",
            str(bad),
            str(gpx),
            "--inspector",
            inspector.username,
            stdout=StringIO(),
            verbosity=0,
        )
    assert Patrol.objects.count() == 1


def test_a_dry_run_stores_nothing(inspector, gpx, tmp_path):
    report = tmp_path / "report.json"
    output = _run(
        str(gpx), "--inspector", inspector.username, "--dry-run", "--report-json", str(report)
    )
    assert "dry run" in output
    assert not Patrol.objects.exists() and not TrackPoint.objects.exists()
    assert json.loads(report.read_text())[0]["accepted"] == 19


def test_an_unknown_inspector_or_missing_file_is_a_plain_error(inspector, gpx, tmp_path):
    with pytest.raises(CommandError, match="no such user"):
        _run(str(gpx), "--inspector", "nobody")
    with pytest.raises(CommandError, match="refused"):
        _run(str(tmp_path / "missing.gpx"), "--inspector", inspector.username)


def test_geojson_points_with_times_in_gcj02(inspector, tmp_path):
    start = timezone.now() - timedelta(days=1)
    features = []
    for index, (x, y) in enumerate(east_along(150, 10, 60)):
        at = point(x, y)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [at.x, at.y]},
                "properties": {"time": (start + timedelta(seconds=10 * index)).isoformat()},
            }
        )
    path = tmp_path / "walk.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    _run(str(path), "--inspector", inspector.username, "--crs", "gcj02")
    patrol = Patrol.objects.get()
    # GCJ-02 input is moved back to WGS84: a few hundred metres in Beijing.
    first = TrackPoint.objects.filter(patrol=patrol).order_by("recorded_at").first()
    assert first.geom.distance(point_geos(10, 150)) > 0.001
    assert patrol.source == "geojson" and patrol.points_accepted == 6


def point_geos(x: float, y: float) -> Point:
    at = point(x, y)
    return Point(at.x, at.y, srid=4490)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(inspector, gpx, settings):
    settings.GEOGRID_TRACK_FILE_MAX_MB = 0
    with pytest.raises(CommandError, match="refused"):
        call_command(
            "import_tracks",
            str(gpx),
            "--inspector",
            inspector.username,
            stdout=StringIO(),
            verbosity=0,
        )
    assert not Patrol.objects.exists()

"""Vector tiles: decoded MVT features (ids and properties), filters, thinning, heat bins, patrol
tracks, access, ETags that follow the data, TileJSON, and plain errors."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

import mapbox_vector_tile
import pytest
from django.test import Client
from django.utils import timezone

from geogrid.accounts.models import Role
from geogrid.cases.models import Case
from geogrid.components.services import change_component_status, create_component
from geogrid.patrols.models import Patrol
from geogrid.patrols.services import end_patrol, record_points, start_patrol
from geogrid.tiles.layers import LAYERS
from geogrid.tiles.views import data_version
from tests import factories
from tests.geometry import point
from tests.patrols.factories import east_along, recent_start, walk


def tile_of(x_m: float, y_m: float, z: int) -> tuple[int, int, int]:
    """The z/x/y tile holding the point (x_m, y_m) metres of the small city."""
    at = point(x_m, y_m)
    n = 2**z
    x = int((at.x + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(at.y))) / math.pi) / 2 * n)
    return z, x, y


def features(response, layer: str) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content).get(layer, {}).get("features", [])


def get(
    client: Client, layer: str, zxy: tuple[int, int, int], headers: dict | None = None, **params
):
    z, x, y = zxy
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", params, headers=headers or {})


@pytest.fixture
def covers(city, manhole_class, admin_user):
    """Three water covers in the NW unit grid, the middle one damaged."""
    made = [
        create_component(actor=admin_user, component_class=manhole_class, geom=point(x, 150))
        for x in (20, 50, 80)
    ]
    change_component_status(component=made[1], actor=admin_user, status="damaged")
    return made


def test_grid_tiles_carry_the_grids_ids_codes_and_levels(city):
    units = {g.code: g.pk for g in city["west_c"].children.all()}
    centres = {
        "110101001001001": (50, 150),
        "110101001001002": (150, 150),
        "110101001001003": (50, 50),
        "110101001001004": (150, 50),
    }
    for code, (x, y) in centres.items():  # each unit grid is in the tile of its centre
        found = features(get(Client(), "grids", tile_of(x, y, 16)), "grids")
        by_code = {f["properties"]["code"]: f for f in found}
        assert by_code[code]["id"] == units[code]
        assert by_code[code]["properties"]["level"] == "unit"
        assert set(by_code) <= set(units)  # only unit grids unless asked
    streets = features(get(Client(), "grids", tile_of(50, 150, 16), level="street"), "grids")
    assert "110101001" in {f["properties"]["code"] for f in streets}
    assert {f["properties"]["level"] for f in streets} == {"street"}


def test_component_tiles_and_their_filters(covers, taxonomy):
    zxy = tile_of(50, 150, 18)
    found = features(get(Client(), "components", zxy), "components")
    assert sorted(f["id"] for f in found) == sorted(c.pk for c in covers)
    by_id = {f["id"]: f["properties"] for f in found}
    assert by_id[covers[1].pk] == {
        "code": covers[1].code,
        "class_code": "01001",
        "status": "damaged",
        "n": 1,
    }
    assert [
        f["id"] for f in features(get(Client(), "components", zxy, status="damaged"), "components")
    ] == [covers[1].pk]
    assert features(get(Client(), "components", zxy, **{"class": "01002"}), "components") == []


def test_zoomed_out_component_tiles_are_thinned_and_count_what_they_stand_for(covers):
    # At zoom 12 a 4-pixel cell is ~150 m: the three covers (60 m apart) fold into one or two.
    found = features(get(Client(), "components", tile_of(50, 150, 12)), "components")
    assert len(found) < 3
    assert sum(f["properties"]["n"] for f in found) == 3
    assert {f["id"] for f in found} <= {c.pk for c in covers}


def test_case_tiles_are_for_the_command_center_and_filter_by_time(report, operator, inspector):
    first = report(50, 150).case
    second = report(60, 160, service_code="06012").case
    Case.objects.filter(pk=second.pk).update(reported_at="2026-01-05T10:00:00+08:00")
    zxy = tile_of(50, 150, 18)
    assert get(Client(), "cases", zxy).status_code == 403
    client = Client()
    client.force_login(inspector)
    assert get(client, "cases", zxy).status_code == 403  # a city-wide layer
    client.force_login(operator)
    found = features(get(client, "cases", zxy), "cases")
    assert {f["id"] for f in found} == {first.pk, second.pk}
    # An open-ended period runs to now (and must stay within GEOGRID_MAX_PERIOD_DAYS of it).
    since = (timezone.now() - timedelta(days=100)).isoformat()
    recent = features(get(client, "cases", zxy, since=since), "cases")
    assert [f["id"] for f in recent] == [first.pk]
    assert recent[0]["properties"]["service_code"] == "06010"
    assert features(get(client, "cases", zxy, **{"class": "06012"}), "cases")[0]["id"] == second.pk


def test_heat_bins_count_every_report_in_the_tile(report, inspector):
    for x, y in ((20, 150), (25, 150), (80, 40), (150, 150)):
        report(x, y)
    client = Client()
    client.force_login(inspector)
    bins = features(get(client, "heat", tile_of(50, 100, 15)), "heat")
    assert sum(b["properties"]["n"] for b in bins) == 4
    assert max(b["properties"]["n"] for b in bins) >= 2  # the two 5 m apart share a bin


def test_the_etag_follows_the_data_and_unchanged_tiles_answer_304(covers, admin_user):
    client = Client()
    zxy = tile_of(50, 150, 18)
    first = get(client, "components", zxy)
    assert first["Cache-Control"].endswith("no-cache")
    again = get(client, "components", zxy, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    change_component_status(component=covers[0], actor=admin_user, status="lost")
    changed = get(client, "components", zxy, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    statuses = {f["id"]: f["properties"]["status"] for f in features(changed, "components")}
    assert statuses[covers[0].pk] == "lost"
    filtered = get(client, "components", zxy, status="lost")
    assert filtered["ETag"] != changed["ETag"]  # the filters are part of the key


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/tiles/roads/14/1/1.pbf", 404, "no tile layer 'roads'"),
        ("/tiles/components/14/16384/1.pbf", 404, "There is no tile 14/16384/1"),
        ("/tiles/components/23/1/1.pbf", 404, "zoom runs 0…22"),
        ("/tiles/components/14/1/1.pbf?colour=red", 400, "Unknown parameter 'colour'"),
        ("/tiles/components/14/1/1.pbf?status=broken", 400, "Unknown status 'broken'"),
        ("/tiles/grids/14/1/1.pbf?level=galaxy", 400, "Unknown level 'galaxy'"),
        ("/tiles/components/14/1/1.pbf?class=01%27;--", 400, "'class' must be a class code"),
    ],
)
def test_bad_tile_requests_say_what_is_wrong(city, path, status, message):
    response = Client().get(path)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_bad_dates_are_400(report, operator):
    client = Client()
    client.force_login(operator)
    response = client.get("/tiles/cases/14/1/1.pbf", {"since": "last week"})
    assert response.status_code == 400 and "ISO 8601" in response.json()["detail"]


def test_tilejson_describes_the_layer(city):
    body = Client().get("/tiles/grids.json", {"level": "community"}).json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"] == ["http://testserver/tiles/grids/{z}/{x}/{y}.pbf?level=community"]
    assert body["vector_layers"][0]["id"] == "grids"
    west, south, east, north = body["bounds"]
    inside = point(10, 10)
    assert west < inside.x < east and south < inside.y < north


def _grid_features(client: Client, zxy: tuple[int, int, int], **headers: str):
    response = get(client, "grids", zxy, headers=headers)
    return response, {f["properties"]["code"]: f for f in features(response, "grids")}


def test_grid_tiles_follow_an_edit_on_the_next_request(city, admin_user):
    """Grid tiles read `tiles_grid`, a trigger-kept EPSG:3857 copy of the active grids: a
    rename, a new boundary and a retirement are all in the very next tile, under a new ETag."""
    from geogrid.grids.models import Grid
    from geogrid.grids.services.editing import reshape_grid, retire_grid, update_grid_attributes
    from tests.geometry import square

    client = Client()
    zxy = tile_of(50, 150, 16)
    first, before = _grid_features(client, zxy)
    code = "110101001001001"
    grid = Grid.objects.get(code=code)
    update_grid_attributes(grid=grid, actor=admin_user, name="新名字")
    renamed, after = _grid_features(client, zxy, If_None_Match=first["ETag"])
    assert renamed.status_code == 200 and renamed["ETag"] != first["ETag"]
    assert after[code]["properties"]["name"] == "新名字"
    assert after[code]["id"] == before[code]["id"]

    grid.refresh_from_db()
    reshape_grid(
        grid=grid, geom=square(0, 100, 90), expected_version=grid.version, actor=admin_user
    )
    _, reshaped = _grid_features(client, zxy)
    assert reshaped[code]["geometry"] != after[code]["geometry"]

    grid.refresh_from_db()
    retire_grid(grid=grid, expected_version=grid.version, actor=admin_user)
    _, retired = _grid_features(client, zxy)
    assert code not in retired and set(retired) == set(before) - {code}


def test_the_3857_copy_holds_exactly_the_active_grids(city, admin_user):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FILTER (WHERE t.id IS NULL OR g.id IS NULL
                                    OR NOT ST_Equals(t.geom, ST_Transform(g.geom, 3857))
                                    OR t.code <> g.code OR t.level_id <> g.level_id),
                   count(*)
            FROM tiles_grid t
            FULL JOIN (SELECT * FROM grids_grid WHERE valid_to IS NULL) g ON g.id = t.id""")
        wrong, total = cursor.fetchone()
    assert total > 0 and wrong == 0


def test_public_tiles_are_the_same_for_every_visitor(city, inspector):
    client = Client()
    client.force_login(inspector)  # a session cookie that a public tile must not vary by
    response = get(client, "grids", tile_of(50, 150, 16))
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")


def test_an_uncommitted_edit_does_not_change_the_version_others_see(city, admin_user):
    """A tile read during someone's unfinished write must not carry the new version with the
    old data (a client would then be answered 304 with stale data)."""
    import psycopg
    from django.db import connection

    from geogrid.grids.models import Grid

    params = connection.settings_dict
    before = data_version(LAYERS["grids"])
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        host=params["HOST"],
        port=params["PORT"],
        password=params["PASSWORD"],
        autocommit=True,
    ) as other:
        # This test's transaction writes and has not committed: only it sees the new version.
        Grid.objects.filter(code=city["west"].code).update(name="改名中")
        assert data_version(LAYERS["grids"]) > before
        seen = other.execute(
            "SELECT version FROM tiles_layer_version WHERE layer = 'grids'"
        ).fetchone()[0]
        # The test database's committed row predates this test's writes.
        assert seen <= before


@pytest.mark.parametrize("z", [14, 16, 17, 18])
def test_grids_inside_a_tile_skip_the_clip_and_come_out_as_st_asmvtgeom_makes_them(city, z):
    """From z14 a grid wholly inside the tile is transformed without ST_AsMVTGeom: the decoded
    features must be the same polygons, oriented the same way, and grids crossing the tile's
    edge must still be clipped to the buffer."""
    import shapely
    from django.db import connection
    from shapely.geometry import shape

    from geogrid.tiles.layers import GRIDS_TILE, GRIDS_TILE_FAST

    _, x, y = tile_of(150, 150, z)
    decoded = {}
    for name, sql in (("clipped", GRIDS_TILE), ("fast", GRIDS_TILE_FAST)):
        with connection.cursor() as cursor:
            cursor.execute(
                sql, {"layer": "grids", "z": z, "x": x, "y": y, "level": "unit", "cap": 1000}
            )
            body, _count = cursor.fetchone()
        decoded[name] = mapbox_vector_tile.decode(bytes(body))["grids"]["features"]
    clipped, fast = decoded["clipped"], decoded["fast"]
    assert [f["id"] for f in fast] == [f["id"] for f in clipped] and len(fast) == 4
    assert [f["properties"] for f in fast] == [f["properties"] for f in clipped]
    for a, b in zip(clipped, fast, strict=True):
        first, second = shape(a["geometry"]), shape(b["geometry"])
        assert first.equals(second)
        assert first.exterior.is_ccw == second.exterior.is_ccw
        coords = shapely.get_coordinates(second)
        assert coords.min() >= -64 and coords.max() <= 4096 + 64


def test_heat_counts_only_the_reports_in_the_readers_scope(report, inspector, operator, city):
    """A bin at z22 is under a metre: an inspector must not map the city's reports through it.
    They count their own grid's (and own) reports; city-wide roles count every report."""
    report(20, 150)  # NW: the inspector's grid
    report(150, 150, actor=operator, channel="hotline")  # NE: outside it
    report(150, 40, actor=operator, channel="hotline")  # SE: outside it
    zxy = tile_of(50, 100, 15)
    scoped, city_wide = Client(), Client()
    scoped.force_login(inspector)
    city_wide.force_login(operator)
    mine = get(scoped, "heat", zxy)
    assert sum(b["properties"]["n"] for b in features(mine, "heat")) == 1
    everything = get(city_wide, "heat", zxy)
    assert sum(b["properties"]["n"] for b in features(everything, "heat")) == 3
    # One reader's tile is never another's cached answer.
    assert mine["ETag"] != everything["ETag"]
    assert get(city_wide, "heat", zxy, headers={"If-None-Match": mine["ETag"]}).status_code == 200


def test_heat_needs_a_role(report, django_user_model):
    report(20, 150)
    newcomer = Client()
    newcomer.force_login(django_user_model.objects.create_user("newcomer", password="pw-x"))
    response = get(newcomer, "heat", tile_of(50, 100, 15))
    assert response.status_code == 403 and "no role" in response.json()["detail"]
    assert get(Client(), "heat", tile_of(50, 100, 15)).status_code == 403


# --- Odd input (issue 10) --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "params", "field"),
    [
        ("grids", {"level": "\x00"}, "level"),
        ("cases", {"since": "2026-02-30T00:00:00+08:00"}, "since"),
        ("cases", {"until": "0001-01-01T00:00:00+08:00"}, "until"),
        ("components", {"status": "\x00"}, "status"),
    ],
)
def test_tile_parameters_with_nul_bytes_or_impossible_dates_are_400(
    city, operator, layer, params, field
):
    client = Client()
    client.force_login(operator)
    response = get(client, layer, tile_of(50, 150, 18), **params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"since": "2024-01-01T00:00:00+08:00", "until": "2026-01-02T00:00:00+08:00"},
            "since",
            "at most 731 days",
        ),
        ({"until": "2026-01-02T00:00:00+08:00"}, "since", "needs a 'since'"),
        (
            {"since": "2026-01-02T00:00:00+08:00", "until": "2026-01-01T00:00:00+08:00"},
            "until",
            "after 'since'",
        ),
    ],
)
def test_case_tile_periods_are_bounded_and_say_how(city, operator, params, field, message):
    client = Client()
    client.force_login(operator)
    for layer in ("cases", "heat"):
        response = get(client, layer, tile_of(50, 150, 18), **params)
        assert response.status_code == 400, response.content
        assert response.json()["field"] == field
        assert message in response.json()["detail"]
    # Two years exactly is served.
    ok = get(
        client,
        "cases",
        tile_of(50, 150, 18),
        since="2024-01-01T00:00:00+08:00",
        until="2026-01-01T00:00:00+08:00",
    )
    assert ok.status_code == 200, ok.content


# --- Patrol tracks (issue 13) ----------------------------------------------------------------------
@pytest.fixture
def tracks(inspector, city, settings):
    """Two walks through the NW grid: the inspector's along y = 150, ended (a stored line),
    and another inspector's along y = 140, still walking (drawn from its points)."""
    start = recent_start()
    other = factories.user("inspector-b", Role.INSPECTOR, scope=[city["110101001001002"]])
    ended, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=start)
    record_points(actor=inspector, patrol=ended, points=walk(east_along(150, 5, 95), start=start))
    end_patrol(actor=inspector, patrol=ended)
    walking, _ = start_patrol(actor=other, client_id=uuid.uuid4(), started_at=start)
    record_points(
        actor=other, patrol=walking, points=walk(east_along(140, 5, 95), start=start, tag="b")
    )
    return {
        "ended": ended,
        "walking": walking,
        "other": other,
        "start": start,
        "day": timezone.localtime(start).date().isoformat(),
    }


def test_track_tiles_draw_ended_and_walking_patrols_of_the_day(tracks, operator):
    client = Client()
    client.force_login(operator)
    zxy = tile_of(50, 150, 16)
    found = {f["id"]: f for f in features(get(client, "tracks", zxy, day=tracks["day"]), "tracks")}
    assert set(found) == {tracks["ended"].pk, tracks["walking"].pk}
    ended = found[tracks["ended"].pk]
    assert ended["geometry"]["type"] in ("LineString", "MultiLineString")
    assert ended["properties"]["status"] == "ended"
    assert ended["properties"]["inspector"] == tracks["ended"].inspector_id
    assert ended["properties"]["started"] == int(tracks["start"].timestamp())
    assert ended["properties"]["distance_m"] == 90
    walking = found[tracks["walking"].pk]
    assert walking["properties"]["status"] == "active"
    assert "ended" not in walking["properties"]  # still walking: no end yet
    # Another day has none; one inspector's filter keeps theirs.
    other_day = (timezone.localtime(tracks["start"]) - timedelta(days=3)).date().isoformat()
    assert features(get(client, "tracks", zxy, day=other_day), "tracks") == []
    mine = get(client, "tracks", zxy, day=tracks["day"], inspector=tracks["other"].pk)
    assert [f["id"] for f in features(mine, "tracks")] == [tracks["walking"].pk]
    # A tile away from the walks is empty.
    assert features(get(client, "tracks", tile_of(350, 40, 18), day=tracks["day"]), "tracks") == []


def test_track_tiles_show_an_inspector_only_their_own(tracks, inspector, planner, viewer):
    zxy = tile_of(50, 150, 16)
    own = Client()
    own.force_login(inspector)
    mine = get(own, "tracks", zxy, day=tracks["day"])
    assert [f["id"] for f in features(mine, "tracks")] == [tracks["ended"].pk]
    # Asking for another inspector's tracks gives nothing, not theirs.
    theirs = get(own, "tracks", zxy, day=tracks["day"], inspector=tracks["other"].pk)
    assert features(theirs, "tracks") == []
    city_wide = Client()
    city_wide.force_login(viewer)
    everyone = get(city_wide, "tracks", zxy, day=tracks["day"])
    assert len(features(everyone, "tracks")) == 2
    assert mine["ETag"] != everyone["ETag"]  # one reader's tile is never another's
    assert mine["Cache-Control"] == "private, no-cache"
    others = Client()
    others.force_login(planner)
    refused = get(others, "tracks", zxy, day=tracks["day"])
    assert refused.status_code == 403 and "inspectors" in refused.json()["detail"]
    assert get(Client(), "tracks", zxy).status_code == 403


def test_track_tiles_follow_new_points_on_the_next_request(tracks, operator):

    client = Client()
    client.force_login(operator)
    zxy = tile_of(50, 150, 16)
    first = get(client, "tracks", zxy, day=tracks["day"])
    again = get(client, "tracks", zxy, day=tracks["day"], headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    # Ten more points of the walking patrol: a new version, a longer line.
    more = walk(east_along(140, 105, 195), start=tracks["start"] + timedelta(seconds=100), tag="c")
    record_points(actor=tracks["other"], patrol=tracks["walking"], points=more)
    moved = get(client, "tracks", zxy, day=tracks["day"], headers={"If-None-Match": first["ETag"]})
    assert moved.status_code == 200 and moved["ETag"] != first["ETag"]
    # Ending it changes the version again (the patrol row), and it is drawn from its line.
    end_patrol(actor=tracks["other"], patrol=tracks["walking"])
    ended = get(client, "tracks", zxy, day=tracks["day"], headers={"If-None-Match": moved["ETag"]})
    assert ended.status_code == 200
    statuses = {f["id"]: f["properties"]["status"] for f in features(ended, "tracks")}
    assert statuses == {tracks["ended"].pk: "ended", tracks["walking"].pk: "ended"}


def test_the_track_version_rises_with_every_write_and_only_then(tracks, admin_user):

    layer = LAYERS["tracks"]
    before = data_version(layer)
    assert data_version(layer) == before  # reading changes nothing
    # Counters change only together with points, whose insert raises the version: alone,
    # they change nothing a tile shows the layer's version for.
    Patrol.objects.filter(pk=tracks["ended"].pk).update(points_accepted=7)
    assert data_version(layer) == before
    Patrol.objects.filter(pk=tracks["ended"].pk).update(status="active", ended_at=None)
    after_update = data_version(layer)
    assert after_update > before
    Patrol.objects.filter(pk=-1).update(distance_m=1)  # a statement that changed no row
    assert data_version(layer) == after_update
    Patrol.objects.filter(pk=tracks["ended"].pk).delete()  # the patrol and its points
    assert data_version(layer) > after_update


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"day": "2026-02-30"}, "day"),
        ({"day": "yesterday"}, "day"),
        ({"inspector": "me"}, "whole number"),
        ({"since": "2026-01-01T00:00:00+08:00"}, "Unknown parameter 'since'"),
    ],
)
def test_bad_track_tile_requests_are_400(city, operator, params, message):
    client = Client()
    client.force_login(operator)
    response = get(client, "tracks", tile_of(50, 150, 16), **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]

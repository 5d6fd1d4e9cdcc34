"""POST /api/v1/grids/edits/ (check or save an edit) and GET /api/v1/grids/<code>/history/."""

from __future__ import annotations

import pytest
import shapely
from rest_framework.test import APIClient

from geogrid.grids.models import Grid
from geogrid.grids.services.editing import reshape_grid
from tests.geometry import rect, to_lonlat

EDITS = "/api/v1/grids/edits/"


@pytest.fixture
def as_planner(planner):
    client = APIClient()
    client.force_authenticate(planner)
    return client


def geojson(shape) -> dict:
    return shapely.geometry.mapping(shape)


def cut(x: float) -> dict:
    return geojson(to_lonlat(shapely.LineString([(x, 90), (x, 210)])))


def test_a_check_answers_what_saving_would_do_and_writes_nothing(as_planner, city):
    code = city["west_c"].code + "001"
    response = as_planner.post(
        EDITS, {"action": "split", "grid": code, "version": 1, "line": cut(50)}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and not body["committed"]
    assert body["codes"] == {
        "created": [city["west_c"].code + "005", city["west_c"].code + "006"],
        "changed": [],
        "retired": [code],
    }
    assert [f["properties"]["area_m2"] for f in body["grids"]["features"]] == [5000.0, 5000.0]
    assert body["impact"]["components_moved"] == 0 and body["impact"]["open_cases_moved"] == 0
    assert Grid.objects.get(code=code).is_active


def test_saving_a_drawn_grid_stores_it_and_answers_201(as_planner, city):
    drawn = rect(220, 20, 320, 120)
    response = as_planner.post(
        EDITS,
        {
            "action": "create",
            "grid": city["east_c"].code,
            "geometry": geojson(drawn.geoms[0]),
            "commit": True,
            "name": "新网格",
            "grid_type": "park",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    (code,) = response.json()["codes"]["created"]
    stored = Grid.objects.get(code=code)
    assert stored.name == "新网格" and stored.grid_type == "park"
    assert shapely.from_wkb(bytes(stored.geom.wkb)).equals_exact(drawn, 1e-9)


def test_an_overlapping_save_is_refused_with_the_overlap_shapes(as_planner, city):
    response = as_planner.post(
        EDITS,
        {
            "action": "create",
            "grid": city["west_c"].code,
            "geometry": geojson(rect(60, 120, 140, 180)),
            "commit": True,
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "topology" and not body["ok"]
    assert [p["kind"] for p in body["problems"]] == ["overlap", "overlap"]
    assert body["problems"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert "overlap by 2,400.0 m²" in body["detail"]
    assert city["west_c"].children.count() == 4


def test_a_stale_version_answers_409_with_who_saved_and_the_current_boundary(
    as_planner, city, admin_user
):
    code = city["west_c"].code + "001"
    reshape_grid(
        grid=Grid.objects.get(code=code),
        geom=rect(0, 100, 100, 200),
        expected_version=1,
        actor=admin_user,
    )
    response = as_planner.post(
        EDITS,
        {
            "action": "reshape",
            "grid": code,
            "version": 1,
            "geometry": geojson(rect(0, 100, 95, 200)),
            "commit": True,
        },
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["changed_by"] == "root-admin" and body["current_version"] == 2
    assert body["current_geometry"]["type"] == "MultiPolygon"
    assert "Reload it" in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": "teleport"}, "action"),
        (
            {"action": "split", "grid": "110101001001001", "version": 1, "line": {"type": "Line"}},
            "line",
        ),
        (
            {"action": "split", "grid": "110101001001001", "version": "one", "line": None},
            "versions",
        ),
        ({"action": "merge", "grids": ["110101001001001"], "versions": {}}, "grids"),
        (
            {
                "action": "create",
                "grid": "110101002001",
                "geometry": {"type": "Polygon", "coordinates": "x"},
            },
            "geometry",
        ),
        ({"action": "divide", "grid": "110101001001", "target_area_m2": -5}, "target_area_m2"),
        ({"action": "divide", "grid": "110101001001", "tolerance": 0.01}, "tolerance"),
        ({"action": "divide", "grid": "110101001001", "tolerance": 1.5}, "tolerance"),
        ({"action": "divide", "grid": "110101001001", "tolerance": "25%"}, "tolerance"),
        ({"action": "divide", "grid": "110101001001", "tolerance": True}, "tolerance"),
        ({"action": "divide", "grid": "110101001001", "count": 0}, "count"),
        (
            {
                "action": "divide",
                "grid": "110101001001",
                "method": "features",
                "keep_blocks": "yes",
            },
            "keep_blocks",
        ),
        # Whole blocks are a way of dividing along features; squares have no blocks.
        (
            {"action": "divide", "grid": "110101001001", "method": "square", "keep_blocks": True},
            "keep_blocks",
        ),
        ({"action": "create", "grid": "abc"}, "grid"),
    ],
)
def test_bad_edits_answer_400_naming_the_field(as_planner, city, payload, field):
    response = as_planner.post(EDITS, payload, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_coordinates_in_metres_are_refused_with_a_hint(as_planner, city):
    projected = {
        "type": "Polygon",
        "coordinates": [
            [[450000, 4416000], [450100, 4416000], [450100, 4416100], [450000, 4416000]]
        ],
    }
    body = as_planner.post(
        EDITS,
        {"action": "create", "grid": city["east_c"].code, "geometry": projected},
        format="json",
    ).json()
    assert not body["ok"] or body.get("error")
    assert "longitude" in (body.get("detail") or body["message"]).lower()


def test_only_planners_edit_and_only_inside_their_scope(city, inspector, outsider):
    payload = {"action": "retire", "grid": city["west_c"].code + "004", "version": 1}
    client = APIClient()
    client.force_authenticate(inspector)
    assert client.post(EDITS, payload, format="json").status_code == 403
    client.force_authenticate(outsider)
    assert client.post(EDITS, payload, format="json").status_code == 404
    assert APIClient().post(EDITS, payload, format="json").status_code in (401, 403)


def test_divide_preview_lists_the_new_cells_without_writing(as_planner, city):
    response = as_planner.post(
        EDITS,
        {"action": "divide", "grid": city["east_c"].code, "target_area_m2": 10_000},
        format="json",
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"]
    assert len(body["codes"]["created"]) == 4
    assert not city["east_c"].children.exists()


def test_history_lists_every_boundary_with_author_and_the_split_lineage(as_planner, city):
    code = city["west_c"].code + "001"
    as_planner.post(
        EDITS,
        {
            "action": "reshape",
            "grid": code,
            "version": 1,
            "geometry": geojson(rect(0, 101, 100, 200)),
            "commit": True,
            "reason": "河道改线",
        },
        format="json",
    )
    as_planner.post(
        EDITS,
        {"action": "split", "grid": code, "version": 2, "line": cut(50), "commit": True},
        format="json",
    )
    history = as_planner.get(f"/api/v1/grids/{code}/history/").json()
    assert [b["version"] for b in history["boundaries"]] == [2, 1]
    assert history["boundaries"][0]["changed_by"] == "planner-a"
    assert history["boundaries"][0]["reason"] == "河道改线"
    assert history["boundaries"][0]["valid_to"] is not None and not history["active"]
    assert history["replaced_by"] == [city["west_c"].code + "005", city["west_c"].code + "006"]
    piece = as_planner.get(f"/api/v1/grids/{city['west_c'].code}005/history/").json()
    assert piece["replaces"] == [code]


def test_a_refused_edit_names_its_reason(as_planner, city):
    inside = geojson(to_lonlat(shapely.LineString([(50, 120), (50, 180)])))
    response = as_planner.post(
        EDITS,
        {"action": "split", "grid": city["west_c"].code + "001", "version": 1, "line": inside},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "line_does_not_cut"


def test_a_planner_changes_a_grids_attributes_and_the_change_is_audited(as_planner, city):
    from geogrid.grids.models import GridEvent

    code = city["west_c"].code + "001"
    response = as_planner.patch(
        f"/api/v1/grids/{code}/",
        {
            "name": "东华门1号网格",
            "grid_type": "residential",
            "area_class": "A",
            "officer_name": "王芳",
            "officer_phone": "010-12345678",
            "households": 320,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    properties = response.json()["properties"]
    assert properties["name"] == "东华门1号网格" and properties["area_class"] == "A"
    assert properties["officer_phone"] == "010-12345678"
    grid = Grid.objects.get(code=code)
    assert (grid.households, grid.version) == (320, 1)  # attributes are not boundary versions
    event = GridEvent.objects.get(grid=grid, action="updated")
    assert event.details["changes"]["officer_name"] == ["", "王芳"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grid_type": "castle"}, "grid_type"),
        ({"households": -1}, "households"),
        ({"name": ""}, "name"),
        ({"code": "110101001001099"}, "code"),
        ({"area_class": "D"}, "area_class"),
        ({"name": "东\x00城"}, "name"),
        ({"officer_name": ["王芳"]}, "officer_name"),
    ],
)
def test_bad_attributes_answer_400_naming_the_field(as_planner, city, body, field):
    response = as_planner.patch(f"/api/v1/grids/{city['west_c'].code}001/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field


def test_anonymous_readers_do_not_see_the_officers_phone(city):
    properties = APIClient().get(f"/api/v1/grids/{city['west_c'].code}001/").json()["properties"]
    assert "officer_phone" not in properties and "officer_name" in properties


def street(*coords):
    return to_lonlat(shapely.LineString(coords))


@pytest.fixture
def west_crossroads(city):
    """Streets along the lines between the west community's four cells (x = 100, y = 100)."""
    from tests import factories

    factories.reference_features(
        "roads", "street", street((100, -50), (100, 250)), street((-50, 100), (250, 100))
    )
    return city["west_c"]


def divide(client, parent, **fields) -> dict:
    body = {"action": "divide", "grid": parent.code, "method": "features", **fields}
    response = client.post(EDITS, {"replace_existing": True, **body}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_division_preview_shows_the_kept_grids_and_says_what_it_used(as_planner, west_crossroads):
    body = divide(as_planner, west_crossroads, target_area_m2=10_000, tolerance=0.2)

    statuses = {f["id"]: f["properties"]["status"] for f in body["grids"]["features"]}
    assert statuses == {west_crossroads.code + s: "kept" for s in ("001", "002", "003", "004")}
    division = body["division"]
    assert division["codes"] == {"kept": 4, "changed": 0, "retired": 0, "created": 0}
    assert (division["target_area_m2"], division["count"], division["tolerance"]) == (
        10_000,
        None,
        0.2,
    )


def test_a_division_by_count_shows_changed_and_retired_grids_with_their_boundaries(
    as_planner, west_crossroads
):
    body = divide(as_planner, west_crossroads, count=2, tolerance=0.1)

    by_status: dict[str, list[str]] = {}
    for feature in body["grids"]["features"]:
        by_status.setdefault(feature["properties"]["status"], []).append(feature["id"])
    assert sorted(by_status) == ["changed", "retired"]
    assert len(by_status["changed"]) == 2 and len(by_status["retired"]) == 2
    assert sorted(by_status["retired"]) == body["codes"]["retired"]
    retired = next(f for f in body["grids"]["features"] if f["properties"]["status"] == "retired")
    assert retired["properties"]["area_m2"] == 10_000.0  # the boundary it had
    division = body["division"]
    assert (division["target_area_m2"], division["count"]) == (None, 2)
    assert division["tolerance"] == 0.1
    assert west_crossroads.children.active().count() == 4  # a preview writes nothing


def test_without_a_tolerance_the_division_uses_the_settings_default(
    as_planner, west_crossroads, settings
):
    settings.GEOGRID_DIVISION_TOLERANCE = 0.3
    body = divide(as_planner, west_crossroads, target_area_m2=10_000)
    assert body["division"]["tolerance"] == 0.3


def test_kept_whole_blocks_are_bounded_by_the_street_alone_and_the_answer_says_so(as_planner, city):
    from tests import factories

    # One street at x = 100: two blocks of 20,000 m², twice the target.
    factories.reference_features("roads", "street", street((100, -50), (100, 250)))
    balanced = divide(as_planner, city["west_c"], target_area_m2=10_000)
    whole = divide(as_planner, city["west_c"], target_area_m2=10_000, keep_blocks=True)

    def areas(body):
        return sorted(
            f["properties"]["area_m2"]
            for f in body["grids"]["features"]
            if f["properties"]["status"] != "retired"
        )

    assert balanced["division"]["keep_blocks"] is False
    assert areas(balanced) == pytest.approx([10_000] * 4, rel=1e-3)
    assert whole["division"]["keep_blocks"] is True
    assert areas(whole) == pytest.approx([20_000] * 2, rel=1e-3)
    assert whole["division"]["summary"]["on_feature_share"] == 1.0


def test_the_new_grids_of_a_first_division_are_marked_new(as_planner, city):
    response = as_planner.post(
        EDITS,
        {"action": "divide", "grid": city["east_c"].code, "target_area_m2": 10_000},
        format="json",
    )
    statuses = [f["properties"]["status"] for f in response.json()["grids"]["features"]]
    assert statuses == ["new"] * 4

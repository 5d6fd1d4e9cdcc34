"""Component API: filters (incl. near), details, create/update/status with access rules."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from geogrid.accounts.models import Role
from geogrid.components.models import Component, ComponentClass, Department, DepartmentMember
from geogrid.components.services import create_component
from tests import factories
from tests.geometry import point
from tests.photos import image_bytes, upload


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def inventory(city, taxonomy, admin_user):
    """Five components: three water covers along y = 150 (x = 10, 60, 150), a street light at
    (50, 50) marked damaged, a bench at (150, 50)."""
    water = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    light = ComponentClass.objects.filter(scheme="gbt47678", name="路灯").first()
    bench = ComponentClass.objects.filter(scheme="gbt47678", name__contains="座椅").first()
    made = [
        create_component(actor=admin_user, component_class=water, geom=point(x, 150))
        for x in (10, 60, 150)
    ]
    made.append(
        create_component(
            actor=admin_user, component_class=light, geom=point(50, 50), status="damaged"
        )
    )
    made.append(
        create_component(actor=admin_user, component_class=bench or water, geom=point(150, 50))
    )
    return made


def test_list_is_geojson_with_decoded_attributes(inventory):
    body = _client().get("/api/v1/components/").json()
    assert body["type"] == "FeatureCollection" and body["count"] == 5
    first = body["features"][0]
    assert first["id"] == inventory[0].code
    assert first["properties"]["class_name"] == "供水井盖"
    assert first["properties"]["grid"]["code"].startswith("110101001001")
    assert first["properties"]["competent_department"]["name"]


def test_filters_by_class_major_status_department_and_grid(inventory, city):
    client = _client()
    assert client.get("/api/v1/components/", {"class": "01001"}).json()["count"] == 3
    assert client.get("/api/v1/components/", {"status": "damaged"}).json()["count"] == 1
    water_dept = Department.objects.get(key="自来水").code
    assert client.get("/api/v1/components/", {"department": water_dept}).json()["count"] == 3
    north_east = city["west_c"].code + "002"
    codes = [
        f["id"] for f in client.get("/api/v1/components/", {"grid": north_east}).json()["features"]
    ]
    assert codes == [inventory[2].code]
    assert client.get("/api/v1/components/", {"grid": "110101001"}).json()["count"] == 5
    assert client.get("/api/v1/components/", {"major": "01"}).json()["count"] >= 3


def test_near_orders_by_distance_within_the_radius(inventory):
    here = point(0, 150)
    body = (
        _client().get("/api/v1/components/", {"near": f"{here.x},{here.y}", "radius": 100}).json()
    )
    assert [f["id"] for f in body["features"]] == [inventory[0].code, inventory[1].code]
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances[0] == pytest.approx(10, abs=0.5) and distances[1] == pytest.approx(60, abs=1)


@pytest.mark.parametrize(
    "params",
    [
        {"near": "116.4"},
        {"near": "a,b"},
        {"near": "116.4,39.9", "radius": "0"},
        {"near": "116.4,39.9", "radius": "99999"},
        {"near": "116.4,39.9", "crs": "mars"},
        {"class": "abc"},
        {"status": "broken"},
        {"grid": "12"},
        {"major": "1"},
    ],
)
def test_bad_filters_are_400(inventory, params):
    response = _client().get("/api/v1/components/", params)
    assert response.status_code == 400 and response.json()["detail"]


def test_detail_by_code_and_404s(inventory):
    code = inventory[3].code
    body = _client().get(f"/api/v1/components/{code}/").json()
    assert body["properties"]["status_label"] == "破损"
    assert _client().get("/api/v1/components/11010101001999999/").status_code == 404
    assert _client().get("/api/v1/components/abc/").status_code == 400


def test_planner_creates_a_component_in_scope_and_gcj02_is_converted(planner, taxonomy, city):
    from geogrid.core.gcj02 import wgs84_to_gcj02

    here = point(60, 60)
    glon, glat = wgs84_to_gcj02(here.x, here.y)
    response = _client(planner).post(
        "/api/v1/components/",
        {
            "class": "01001",
            "crs": "gcj02",
            "name": "测试井盖",
            "geometry": {"type": "Point", "coordinates": [float(glon), float(glat)]},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["properties"]["grid"]["code"] == city["west_c"].code + "003"
    assert body["geometry"]["coordinates"][0] == pytest.approx(here.x, abs=1e-6)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"class": "99999", "geometry": {"type": "Point", "coordinates": [116.4, 39.9]}}, "class"),
        ({"class": "01001", "geometry": "POINT(1 2)"}, "geometry"),
        ({"class": "01001", "geometry": {"type": "Point", "coordinates": ["x"]}}, "geometry"),
    ],
)
def test_create_refuses_bad_payloads(planner, taxonomy, payload, field):
    response = _client(planner).post("/api/v1/components/", payload, format="json")
    assert response.status_code == 400 and response.json()["field"] == field


def test_create_outside_every_grid_and_wrong_kind_are_400(planner, taxonomy):
    far = point(5000, 5000)
    response = _client(planner).post(
        "/api/v1/components/",
        {"class": "01001", "geometry": {"type": "Point", "coordinates": [far.x, far.y]}},
        format="json",
    )
    assert response.status_code == 400 and "outside every unit grid" in response.json()["detail"]
    line = {"type": "LineString", "coordinates": [[116.40, 39.90], [116.41, 39.91]]}
    response = _client(planner).post(
        "/api/v1/components/", {"class": "01001", "geometry": line}, format="json"
    )
    assert response.status_code == 400 and "captured as a point" in response.json()["detail"]


def test_roles_and_scopes_for_writes(inventory, inspector, outsider, viewer):
    code = inventory[0].code  # in the inspector's grid (…001)
    other = inventory[2].code  # in grid …002: outside the inspector's scope
    assert (
        _client(viewer).post(f"/api/v1/components/{code}/status/", {"status": "lost"}).status_code
        == 403
    )
    assert _client(inspector).post("/api/v1/components/", {}, format="json").status_code == 403
    assert (
        _client(inspector)
        .post(f"/api/v1/components/{other}/status/", {"status": "lost"})
        .status_code
        == 404
    )
    response = _client(inspector).post(
        f"/api/v1/components/{code}/status/", {"status": "lost", "note": "cover missing"}
    )
    assert response.status_code == 200 and response.json()["properties"]["status"] == "lost"
    assert (
        _client(outsider)
        .patch(f"/api/v1/components/{code}/", {"version": 1, "notes": "x"}, format="json")
        .status_code
        == 404
    )


def test_department_handler_acts_on_its_departments_components(inventory):
    handler = factories.user("water-handler", Role.DEPARTMENT)
    DepartmentMember.objects.create(user=handler, department=Department.objects.get(key="自来水"))
    water, light = inventory[0].code, inventory[3].code
    assert (
        _client(handler)
        .post(f"/api/v1/components/{water}/status/", {"status": "damaged"})
        .status_code
        == 200
    )
    assert (
        _client(handler)
        .post(f"/api/v1/components/{light}/status/", {"status": "intact"})
        .status_code
        == 404
    )


def test_patch_needs_the_version_and_detects_conflicts(inventory, planner):
    code = inventory[1].code
    client = _client(planner)
    assert (
        client.patch(f"/api/v1/components/{code}/", {"notes": "x"}, format="json").status_code
        == 400
    )
    ok = client.patch(
        f"/api/v1/components/{code}/", {"version": 1, "notes": "re-painted"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["properties"]["version"] == 2
    stale = client.patch(
        f"/api/v1/components/{code}/", {"version": 1, "notes": "again"}, format="json"
    )
    assert stale.status_code == 409
    assert Component.objects.get(code=code).notes == "re-painted"


# --- Photos ----------------------------------------------------------------------------------
@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_inspector_adds_a_photo_and_the_card_lists_it(inventory, inspector, media):
    code = inventory[0].code
    response = _client(inspector).post(
        f"/api/v1/components/{code}/photos/",
        {
            "image": upload(image_bytes("JPEG", (1600, 1200)), name="cover.jpg"),
            "caption": "井盖破损",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    photo = response.json()
    assert photo["caption"] == "井盖破损" and photo["uploaded_by"] == inspector.username
    assert (photo["width"], photo["height"]) == (1600, 1200)
    assert photo["url"].startswith("http://testserver/media/components/")
    stored = list(media.rglob("*.*"))
    assert len(stored) == 2  # the photo as sent and its preview
    detail = _client().get(f"/api/v1/components/{code}/").json()
    assert [p["id"] for p in detail["properties"]["photos"]] == [photo["id"]]
    assert detail["properties"]["photos"][0]["preview_url"].endswith(".jpg")
    event = Component.objects.get(code=code).events.get(action="photo_added")
    assert event.actor == inspector and event.details["photo"] == photo["id"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "Attach a photo"),
        ({"image": "not a file"}, "Attach a photo"),
        ({"image": ("notes.jpg", b"hello, not an image")}, "not a photo this system can read"),
        ({"image": ("photo.jpg", b"x" * (1024 * 1024 + 10))}, "the limit is 1 MB"),
    ],
)
def test_bad_photos_are_400_and_store_nothing(
    inventory, inspector, media, settings, payload, message
):
    settings.GEOGRID_MAX_PHOTO_MB = 1
    data = {
        key: upload(value[1], name=value[0]) if isinstance(value, tuple) else value
        for key, value in payload.items()
    }
    code = inventory[0].code
    response = _client(inspector).post(
        f"/api/v1/components/{code}/photos/", data, format="multipart"
    )
    assert response.status_code == 400
    assert message in response.json()["detail"] and response.json()["field"] == "image"
    assert not list(media.rglob("*.*"))
    assert not Component.objects.get(code=code).photos.exists()


def test_photo_uploads_follow_roles_and_scopes(inventory, inspector, viewer, media):
    other = inventory[2].code  # outside the inspector's grid
    body = {"image": upload(image_bytes()), "caption": ""}
    assert _client().post(
        f"/api/v1/components/{other}/photos/", body, format="multipart"
    ).status_code in (401, 403)
    body = {"image": upload(image_bytes())}
    assert (
        _client(viewer)
        .post(f"/api/v1/components/{other}/photos/", body, format="multipart")
        .status_code
        == 403
    )
    body = {"image": upload(image_bytes())}
    assert (
        _client(inspector)
        .post(f"/api/v1/components/{other}/photos/", body, format="multipart")
        .status_code
        == 404
    )
    assert not list(media.rglob("*.*"))


def test_a_too_long_caption_is_400_and_stores_nothing(inventory, inspector, media):
    code = inventory[0].code
    response = _client(inspector).post(
        f"/api/v1/components/{code}/photos/",
        {"image": upload(image_bytes()), "caption": "x" * 201},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["field"] == "caption"
    assert not list(media.rglob("*.*"))


def test_patch_may_not_move_a_component_out_of_the_planners_scope(inventory, planner, outsider):
    """The new location is checked like a new component's: a planner of district 110101 may
    not move a component into district 110102 (planner-b's), though it starts in scope."""
    code = inventory[1].code
    client = _client(planner)
    away = point(5050, 150)  # the NW unit grid of the other district
    moved = client.patch(
        f"/api/v1/components/{code}/",
        {"version": 1, "geometry": {"type": "Point", "coordinates": [away.x, away.y]}},
        format="json",
    )
    assert moved.status_code == 403, moved.content
    assert "outside the grids you are responsible for" in moved.json()["detail"]
    component = Component.objects.get(code=code)
    assert component.version == 1 and component.grid.code.startswith("110101")
    near = point(70, 150)  # still in 110101: allowed
    ok = client.patch(
        f"/api/v1/components/{code}/",
        {"version": 1, "geometry": {"type": "Point", "coordinates": [near.x, near.y]}},
        format="json",
    )
    assert ok.status_code == 200, ok.content


def test_the_public_sees_no_photographer_and_no_department_phone(
    inventory, inspector, media, planner
):
    code = inventory[0].code
    department = inventory[0].competent_department
    department.contact = "010-65551234"
    department.save()
    added = _client(inspector).post(
        f"/api/v1/components/{code}/photos/", {"image": upload(image_bytes())}, format="multipart"
    )
    assert added.status_code == 201 and added.json()["uploaded_by"] == inspector.username
    public = _client().get(f"/api/v1/components/{code}/").json()["properties"]
    assert "uploaded_by" not in public["photos"][0]
    assert "contact" not in public["competent_department"]
    assert "uploaded_by" not in _client().get(f"/api/v1/components/{code}/photos/").json()[0]
    staff = _client(planner).get(f"/api/v1/components/{code}/").json()["properties"]
    assert staff["photos"][0]["uploaded_by"] == inspector.username
    assert staff["competent_department"]["contact"] == "010-65551234"
    # The photo itself is served to whoever may read the component (public read API on).
    path = added.json()["url"].split("/media/", 1)[1]
    assert Client().get(f"/media/{path}").status_code == 200


def test_component_photos_are_not_public_when_the_read_api_is_not(
    inventory, inspector, media, outsider, settings
):
    code = inventory[0].code
    added = _client(inspector).post(
        f"/api/v1/components/{code}/photos/", {"image": upload(image_bytes())}, format="multipart"
    )
    path = added.json()["url"].split("/media/", 1)[1]
    settings.GEOGRID_PUBLIC_READ_API = False
    assert _session().get(f"/media/{path}").status_code == 404
    assert _session(outsider).get(f"/media/{path}").status_code == 404
    assert _session(inspector).get(f"/media/{path}").status_code == 200


def _session(user=None) -> Client:
    """/media/ is a plain Django view: a session login, not DRF's force_authenticate."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- Odd input (issue 10): never a 500, always a 400 naming the field ------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00"},
        {"department": "\x00"},
        {"grid": "1\x00"},
        {"bbox": "\x00"},
        {"include_void": "perhaps"},
        {"page": "99999999999999999999"},
    ],
)
def test_list_refuses_nul_bytes_and_out_of_range_parameters_with_400(inventory, params):
    response = _client().get("/api/v1/components/", params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == next(iter(params))


@pytest.mark.parametrize("url", ["/api/v1/components/", "/api/v1/components/{code}/status/"])
def test_json_array_body_is_400_not_a_crash(inventory, planner, url):
    response = _client(planner).post(url.format(code=inventory[1].code), [1, 2], format="json")
    assert response.status_code == 400, response.content
    assert "JSON object" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data_source": "bogus"}, "data_source"),
        ({"name": ["a", "b"]}, "name"),
        ({"notes": {"x": 1}}, "notes"),
        ({"name": "井" * 101}, "name"),
        ({"material": "m" * 51}, "material"),
        ({"location_description": "a\x00b"}, "location_description"),
        ({"owner_department": "x" * 300}, "owner_department"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_patch_checks_type_length_and_choices_of_every_field(inventory, planner, change, field):
    component = inventory[1]
    response = _client(planner).patch(
        f"/api/v1/components/{component.code}/", {"version": 1, **change}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    component.refresh_from_db()
    assert component.version == 1 and component.data_source != "bogus"


def test_create_checks_text_fields_against_their_columns(planner, taxonomy):
    response = _client(planner).post(
        "/api/v1/components/",
        {
            "class": "01001",
            "name": "井" * 101,
            "geometry": {"type": "Point", "coordinates": [point(60, 60).x, point(60, 60).y]},
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["field"] == "name"
    assert not Component.objects.exists()


def test_photo_post_takes_one_photo_and_counts_before_decoding(inventory, planner):
    code = inventory[1].code
    response = _client(planner).post(
        f"/api/v1/components/{code}/photos/",
        {"image": [upload(b"junk", name=f"{n}.jpg") for n in range(2)]},
        format="multipart",
    )
    assert response.status_code == 400 and "at most 1" in response.json()["detail"]

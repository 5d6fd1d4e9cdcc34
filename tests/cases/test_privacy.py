"""The privacy model (cases/privacy.py with core/privacy.py): what the public — anonymous
visitors, Open311 readers, accounts without a role — may see of grids, components, cases and
their photos. The table test reads every public output and looks for the private values of
the fixture."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from geogrid.cases.intake import submit_report
from geogrid.cases.models import CasePhoto
from geogrid.components.models import ComponentClass
from geogrid.components.services import add_component_photo, create_component
from geogrid.core.photos import check_photo
from geogrid.core.privacy import coarsen
from geogrid.grids.services.editing import update_grid_attributes
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.photos import image_bytes, upload

OFFICER_PHONE = "13800009999"
DEPARTMENT_PHONE = "010-65559999"
REPORTER = {
    "reporter_name": "欧阳锋",
    "reporter_phone": "13911112222",
    "reporter_email": "ouyang.feng@example.com",
}
INTERNAL_DESCRIPTION = "监督员内部描述：东门第三个垃圾桶"


@dataclass
class World:
    grid_code: str
    component_code: str
    component_photo: str
    public_case: int
    public_photo: str
    internal_case: int
    internal_photo: str
    private_values: tuple[str, ...]


def _photo():
    return check_photo(upload(image_bytes()))


@pytest.fixture
def world(settings, tmp_path, city, planner, inspector, case_taxonomy, sanitation) -> World:
    """Every kind of private value: an officer's phone (and the planner who set it, in the
    grid's history), a department's phone, a component photo by an inspector, a citizen's
    report with the reporter's contact and a photo, an inspector's internal report."""
    settings.MEDIA_ROOT = tmp_path
    unit = city["west_c"].children.order_by("code").first()
    update_grid_attributes(
        grid=unit, actor=planner, officer_name="王网格", officer_phone=OFFICER_PHONE
    )
    water = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    component = create_component(actor=planner, component_class=water, geom=point(30, 170))
    component.competent_department.contact = DEPARTMENT_PHONE
    component.competent_department.save()
    component_photo = add_component_photo(component=component, actor=inspector, photo=_photo())
    at = point(50, 150)
    public = submit_report(
        actor=None,
        channel="citizen",
        service_code=GARBAGE,
        x=at.x,
        y=at.y,
        description="路边垃圾",
        photos=[_photo()],
        device_id="dev-77aa",
        **REPORTER,
    ).case
    internal = submit_report(
        actor=inspector,
        channel="inspector",
        service_code=GARBAGE,
        x=at.x,
        y=at.y,
        description=INTERNAL_DESCRIPTION,
        photos=[_photo()],
    ).case
    return World(
        grid_code=unit.code,
        component_code=component.code,
        component_photo=component_photo.image.name,
        public_case=public.pk,
        public_photo=CasePhoto.objects.get(case=public).image.name,
        internal_case=internal.pk,
        internal_photo=CasePhoto.objects.get(case=internal).image.name,
        private_values=(
            OFFICER_PHONE,
            DEPARTMENT_PHONE,
            *REPORTER.values(),
            "dev-77aa",
            planner.username,
            inspector.username,
            "root-admin",
        ),
    )


def _public_outputs(client: Client, w: World) -> dict[str, object]:
    from tests.tiles.test_tiles import tile_of

    z, x, y = tile_of(50, 150, 16)
    at = point(50, 150)
    urls = [
        f"/api/v1/grids/{w.grid_code}/",
        "/api/v1/grids/?level=unit",
        f"/api/v1/grids/{w.grid_code}/history/",
        "/api/v1/components/",
        f"/api/v1/components/{w.component_code}/",
        f"/api/v1/components/{w.component_code}/photos/",
        f"/api/v1/locate?lon={at.x}&lat={at.y}",
        f"/api/v1/codes/explain/{w.grid_code}",
        f"/api/v1/codes/explain/{w.component_code}",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        f"/open311/v2/requests/{w.public_case}.json",
        f"/open311/v2/requests/{w.internal_case}.xml",
        f"/media/{w.component_photo}",
        f"/media/{w.public_photo}",
        f"/media/{w.internal_photo}",
        f"/tiles/components/{z}/{x}/{y}.pbf",
        f"/tiles/grids/{z}/{x}/{y}.pbf",
        f"/tiles/heat/{z}/{x}/{y}.pbf",
        f"/tiles/cases/{z}/{x}/{y}.pbf",
    ]
    return {url: client.get(url) for url in urls}


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("who", ["anonymous", "role-less account"])
def test_public_outputs_never_contain_private_values(world, who, django_user_model):
    client = Client()
    if who == "role-less account":
        # A new account, created as the admin's form or createsuperuser would: no role.
        client.force_login(django_user_model.objects.create_user("newcomer", password="pw-x"))
    answers = _public_outputs(client, world)
    for url, response in answers.items():
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        body = _body(response)
        for value in world.private_values:
            assert value.encode() not in body, (url, value)
        assert INTERNAL_DESCRIPTION.encode() not in body, url
    # What the public does see: grids, components and their photos, the public case's photo.
    for url in (
        f"/api/v1/grids/{world.grid_code}/",
        f"/media/{world.component_photo}",
        f"/media/{world.public_photo}",
        "/open311/v2/requests.json",
    ):
        assert answers[url].status_code == 200, url
    # The internal report's photo does not exist for the public; case tiles need a role.
    assert answers[f"/media/{world.internal_photo}"].status_code == 404
    assert all(
        response.status_code == 403
        for url, response in answers.items()
        if url.startswith(("/tiles/heat/", "/tiles/cases/"))
    )


def test_grid_history_for_the_public_has_no_actors_and_no_private_attributes(world, planner):
    anonymous = Client().get(f"/api/v1/grids/{world.grid_code}/history/").json()
    assert anonymous["events"] and anonymous["boundaries"]
    assert all("actor" not in event for event in anonymous["events"])
    assert all("changed_by" not in boundary for boundary in anonymous["boundaries"])
    [updated] = [e for e in anonymous["events"] if e["action"] == "updated"]
    assert updated["details"]["changes"] == {"officer_name": ["", "王网格"]}
    staff = Client()
    staff.force_login(planner)
    [updated] = [
        e
        for e in staff.get(f"/api/v1/grids/{world.grid_code}/history/").json()["events"]
        if e["action"] == "updated"
    ]
    assert updated["actor"] == planner.username
    assert updated["details"]["changes"]["officer_phone"] == ["", OFFICER_PHONE]


def _requests(client: Client) -> dict[int, dict]:
    return {
        item["service_request_id"]: item for item in client.get("/open311/v2/requests.json").json()
    }


def test_open311_shows_internal_reports_without_position_description_or_media(world):
    items = _requests(Client())
    public, internal = items[world.public_case], items[world.internal_case]
    at = point(50, 150)
    assert public["lat"] == pytest.approx(at.y, abs=1e-7)
    assert public["media_url"].endswith(world.public_photo)
    assert public["description"] == "路边垃圾"
    assert "lat" not in internal and "long" not in internal
    assert internal["media_url"] is None and internal["description"] is None
    assert world.grid_code not in internal["service_notice"]
    one = Client().get(f"/open311/v2/requests/{world.internal_case}.json").json()[0]
    assert "lat" not in one and one["media_url"] is None


def test_open311_coarsens_internal_positions_when_the_setting_says_so(world, settings):
    settings.GEOGRID_PRIVATE_CASE_POSITION = "coarsen"
    settings.GEOGRID_PRIVATE_CASE_COARSEN_M = 500
    internal = _requests(Client())[world.internal_case]
    at = point(50, 150)
    assert (internal["long"], internal["lat"]) == pytest.approx(coarsen(at.x, at.y, 500))
    assert abs(internal["lat"] - at.y) > 1e-6  # not the exact point


def test_public_channels_follow_the_setting(world, settings):
    settings.GEOGRID_PUBLIC_CASE_CHANNELS = frozenset({"open311", "citizen", "inspector"})
    internal = _requests(Client())[world.internal_case]
    assert internal["description"] == INTERNAL_DESCRIPTION and "lat" in internal


def test_coarsening_gives_one_point_per_cell():
    lon, lat = 116.40012, 39.91034
    centre = coarsen(lon, lat, 500)
    # Every point near the cell's centre (well inside the 500 m cell) gives the same answer.
    for d_lon, d_lat in ((0.001, 0.001), (-0.001, 0.0015), (0.002, -0.001)):
        assert coarsen(centre[0] + d_lon, centre[1] + d_lat, 500) == centre
    assert abs(centre[1] - lat) <= 250 / 111_320 + 1e-6
    assert coarsen(lon, lat + 0.01, 500) != centre  # 1.1 km north: another cell


def test_case_photos_are_served_to_those_who_see_the_case(
    world, inspector, operator, outsider, handler, settings
):
    def status(user, path):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client.get(f"/media/{path}").status_code

    assert status(inspector, world.internal_photo) == 200  # their own report, their grid
    assert status(operator, world.internal_photo) == 200  # city-wide
    assert status(outsider, world.internal_photo) == 404  # a planner of another district
    assert status(None, world.internal_photo) == 404
    assert status(None, world.public_photo) == 200  # a citizen's public report
    settings.GEOGRID_PUBLIC_READ_API = False
    assert status(None, world.public_photo) == 404
    assert status(None, "cases/2026/01/not-a-photo.jpg") == 404
    assert status(operator, "../settings.py") == 404


def test_only_report_photos_of_public_cases_are_public(world, operator, sanitation):
    from geogrid.cases.models import Case, PhotoStage

    case = Case.objects.get(pk=world.public_case)
    feedback = CasePhoto.objects.get(case=case)
    feedback.stage = PhotoStage.FEEDBACK
    feedback.save()
    assert Client().get(f"/media/{world.public_photo}").status_code == 404
    staff = Client()
    staff.force_login(operator)
    assert staff.get(f"/media/{world.public_photo}").status_code == 200


def test_a_new_account_sees_no_case(world, django_user_model):
    newcomer = django_user_model.objects.create_user("newcomer", password="pw-x")
    assert newcomer.role == ""
    client = Client()
    client.force_login(newcomer)
    assert client.get("/api/v1/cases/").json()["count"] == 0
    assert client.get(f"/api/v1/cases/{world.internal_case}/").status_code == 404
    assert factories.user("granted", "viewer").role == "viewer"

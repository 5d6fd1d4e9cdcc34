"""The access matrix: every persona × every route the project serves → the expected status, and
for reads by the public (anonymous and Open311 clients) the absence of every private value.

Table-driven: ROWS names each route (the URL pattern as Django resolves it) with a request and
what each persona must get. `test_every_route_has_a_row` walks the URL resolver, so a route
added without a row here fails the suite. Each request runs in a savepoint that is rolled back,
so every persona meets the same world (a write by one does not change what the next sees).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image
from rest_framework.test import APIClient

from geogrid.accounts.models import Role
from geogrid.cases.intake import submit_report
from geogrid.cases.open311_keys import create_open311_key
from geogrid.components.models import ComponentClass, ComponentPhoto, Department, DepartmentMember
from geogrid.components.services import add_component_photo, create_component
from geogrid.core.photos import check_photo
from geogrid.grids.services.editing import update_grid_attributes
from geogrid.patrols.services import record_points, start_patrol
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.patrols.factories import PATROL_ID, patrol_points, points_json, recent_start
from tests.photos import image_bytes, upload

pytestmark = pytest.mark.slow

PERSONAS = [
    "anonymous",
    "open311",
    "inspector",
    "street_planner",
    "outsider",
    "department",
    "operator",
    "viewer",
    "admin",
    "newcomer",
]
# Readers who must never see a private value: the public, and an account nobody gave a role.
PUBLIC = ("anonymous", "open311", "newcomer")
UNIT_A1 = "110101001001001"  # the inspector's grid; inside street A (110101001)
STREET_A = "110101001"

# Values that must never reach a public answer (they are all stored in the world below).
OFFICER_PHONE = "13900001111"
REPORTER = {
    "reporter_name": "张秘密",
    "reporter_phone": "13700002222",
    "reporter_email": "secret.reporter@example.com",
}
STAFF_USERNAMES = ["inspector-a", "planner-street-a", "operator-a", "handler-a", "root-admin"]
PRIVATE_VALUES = [OFFICER_PHONE, *REPORTER.values(), *STAFF_USERNAMES]


class _Rollback(Exception):
    def __init__(self, response: Any) -> None:
        self.response = response


@dataclass
class Row:
    route: str  # the URL pattern, as test_every_route_has_a_row sees it
    url: Callable[[dict], str]  # built from the world
    expect: dict[str, int]  # persona -> status; see `statuses`
    method: str = "get"
    data: Any = None
    data_format: str = "json"
    note: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def statuses(self) -> dict[str, int]:
        default = self.expect.get("*")
        table = {p: self.expect.get(p, default) for p in PERSONAS}
        missing = [p for p, s in table.items() if s is None]
        assert not missing, f"{self.route}: no expectation for {missing}"
        return table


def everyone(status: int, **others: int) -> dict[str, int]:
    return {"*": status, **others}


# --- The world ----------------------------------------------------------------------------------


@pytest.fixture
def world(city, outsider, inspector, viewer, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    factories.reference_data()
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    street_planner = factories.user("planner-street-a", Role.PLANNER, scope=[city["west"]])
    operator = factories.user("operator-a", Role.OPERATOR)
    newcomer = factories.user("newcomer", "")  # signed up, no role granted yet
    handler = factories.user("handler-a", Role.DEPARTMENT)
    sanitation = Department.objects.get(key="环卫")
    DepartmentMember.objects.create(user=handler, department=sanitation)
    unit = city[UNIT_A1]
    update_grid_attributes(
        grid=unit, actor=street_planner, officer_name="李网格", officer_phone=OFFICER_PHONE
    )
    manhole = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    component = create_component(
        actor=admin_user, component_class=manhole, geom=point(50, 150), name="井盖"
    )
    add_component_photo(
        component=component, actor=inspector, photo=check_photo(upload(image_bytes()))
    )
    at = point(50, 150)
    internal = submit_report(
        actor=inspector,
        channel="inspector",
        service_code=GARBAGE,
        x=at.x,
        y=at.y,
        description="巡查发现垃圾",
        photos=[check_photo(upload(image_bytes()))],
    ).case
    patrol, _ = start_patrol(actor=inspector, client_id=PATROL_ID, started_at=recent_start())
    record_points(actor=inspector, patrol=patrol, points=patrol_points(), crs=4490)
    _, key = create_open311_key(name="citizen-app", actor=admin_user)
    public = submit_report(
        actor=None,
        channel="open311",
        service_code=GARBAGE,
        x=at.x,
        y=at.y,
        description="市民反映垃圾",
        **REPORTER,
        photos=[check_photo(upload(image_bytes()))],
    ).case
    return {
        "users": {
            "inspector": inspector,
            "street_planner": street_planner,
            "outsider": outsider,
            "department": handler,
            "operator": operator,
            "viewer": viewer,
            "admin": admin_user,
            "newcomer": newcomer,
        },
        "open311_key": key,
        "unit": unit,
        "component": component,
        "internal": internal,
        "public": public,
        "patrol": patrol,
        "component_photo": ComponentPhoto.objects.get(component=component),
        "internal_photo": internal.photos.first(),
        "public_photo": public.photos.first(),
    }


def _client(world: dict, persona: str) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if persona == "open311":
        client.credentials(HTTP_X_API_KEY=world["open311_key"])
    elif persona != "anonymous":
        client.force_login(world["users"][persona])
    return client


def _request(client: APIClient, row: Row, world: dict) -> Any:
    url = row.url(world)
    kwargs: dict[str, Any] = {**row.headers}
    if row.data is not None:
        data = row.data(world) if callable(row.data) else row.data
        kwargs["data"] = data
        if row.data_format == "json":
            kwargs["format"] = "json"
    try:
        with transaction.atomic():
            response = getattr(client, row.method)(url, **kwargs)
            raise _Rollback(response)
    except _Rollback as rollback:
        return rollback.response


def _png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "photo.png"
    return buffer


# --- The table ----------------------------------------------------------------------------------
# Statuses: 200/201 allowed; 302 a page sending an anonymous visitor to log in; 401/403 refused
# by role (401 when the API wants credentials); 404 outside the persona's scope (existence not
# disclosed); 400 the request reached the checks (allowed, but the payload is deliberately
# incomplete or the action not possible in this state); 405 method not offered.

STAFF_PAGE = dict(anonymous=302, open311=302)
API_LOGIN = dict(anonymous=401, open311=401)
CITY_WIDE_READ = everyone(403, operator=200, viewer=200, admin=200, **API_LOGIN)
PLANNERS_IN_SCOPE = dict(street_planner=200, outsider=404, admin=200)


def _edit_check(w: dict) -> dict:
    from shapely.geometry import mapping

    from tests.geometry import rect

    return {
        "action": "reshape",
        "grid": UNIT_A1,
        "version": w["unit"].version,
        "geometry": mapping(rect(0, 100, 95, 200)),
        "commit": False,
    }


def _photo(w: dict) -> dict:
    return {"image": _png()}


def _media(key: str) -> Callable[[dict], str]:
    return lambda w: "/media/" + w[key].image.name


ROWS: list[Row] = [
    # --- Pages ---
    Row("", lambda w: "/", everyone(200)),
    Row(
        "grids/editor/",
        lambda w: "/grids/editor/",
        everyone(403, street_planner=200, outsider=200, admin=200, **STAFF_PAGE),
    ),
    Row("inspector/", lambda w: "/inspector/", everyone(200, **STAFF_PAGE)),
    Row("patrol/", lambda w: "/patrol/", everyone(403, inspector=200, admin=200, **STAFF_PAGE)),
    # The installable app's files: no data in them, so public (a phone fetches them early).
    Row("sw.js", lambda w: "/sw.js", everyone(200)),
    Row("manifest.webmanifest", lambda w: "/manifest.webmanifest", everyone(200)),
    Row(
        "cases/desk/",
        lambda w: "/cases/desk/",
        everyone(403, operator=200, viewer=200, admin=200, **STAFF_PAGE),
    ),
    Row(
        "cases/inbox/",
        lambda w: "/cases/inbox/",
        everyone(403, department=200, admin=200, **STAFF_PAGE),
    ),
    Row(
        "cases/checks/",
        lambda w: "/cases/checks/",
        everyone(403, inspector=200, admin=200, **STAFF_PAGE),
    ),
    Row(
        "cases/report/",
        lambda w: "/cases/report/",
        everyone(200, viewer=403, newcomer=403, **STAFF_PAGE),
    ),
    Row(
        "command-center/",
        lambda w: "/command-center/",
        everyone(403, operator=200, viewer=200, admin=200, **STAFF_PAGE),
    ),
    Row(
        "command-center/patrols/",
        lambda w: "/command-center/patrols/",
        everyone(403, operator=200, viewer=200, admin=200, **STAFF_PAGE),
    ),
    Row("login/", lambda w: "/login/", everyone(200)),
    Row("login/code/", lambda w: "/login/code/", everyone(302)),  # no password step pending
    Row("account/2fa/", lambda w: "/account/2fa/", everyone(200, **STAFF_PAGE)),
    Row("account/2fa/qr.svg", lambda w: "/account/2fa/qr.svg", everyone(200, **STAFF_PAGE)),
    Row("logout/", lambda w: "/logout/", everyone(302), method="post"),
    Row(
        "i18n/setlang/",
        lambda w: "/i18n/setlang/",
        everyone(302),
        method="post",
        data={"language": "en"},
        data_format="form",
    ),
    Row("admin/login/", lambda w: "/admin/login/", everyone(302)),
    # The scripts' translations (JavaScriptCatalog): public words, read-only.
    Row("jsi18n/", lambda w: "/jsi18n/", everyone(200)),
    Row("jsi18n/", lambda w: "/jsi18n/", everyone(405), method="post", note="GET only"),
    # --- Grids API ---
    Row("api/v1/grids/", lambda w: "/api/v1/grids/?level=unit", everyone(200)),
    Row(
        "api/v1/grids/edits/",
        lambda w: "/api/v1/grids/edits/",
        everyone(403, **PLANNERS_IN_SCOPE, **API_LOGIN),
        method="post",
        data=_edit_check,
    ),
    Row(
        "api/v1/grids/<str:code>/history/",
        lambda w: f"/api/v1/grids/{UNIT_A1}/history/",
        everyone(200),
    ),
    Row("api/v1/grids/<str:code>/", lambda w: f"/api/v1/grids/{UNIT_A1}/", everyone(200)),
    Row(
        "api/v1/grids/<str:code>/",
        lambda w: f"/api/v1/grids/{UNIT_A1}/",
        everyone(403, **PLANNERS_IN_SCOPE, **API_LOGIN),
        method="patch",
        data={"name": "新名字"},
    ),
    Row(
        "api/v1/grids/<str:code>/topology/",
        lambda w: f"/api/v1/grids/{STREET_A}/topology/",
        everyone(403, street_planner=200, outsider=404, viewer=200, admin=200),
    ),
    Row(
        "api/v1/locate",
        lambda w: f"/api/v1/locate?lon={point(50, 150).x}&lat={point(50, 150).y}",
        everyone(200),
    ),
    Row(
        "api/v1/locate/",
        lambda w: f"/api/v1/locate/?lon={point(50, 150).x}&lat={point(50, 150).y}",
        everyone(200),
    ),
    Row(
        "api/v1/codes/explain/<str:code>",
        lambda w: f"/api/v1/codes/explain/{UNIT_A1}",
        everyone(200),
    ),
    Row(
        "api/v1/codes/explain/<str:code>/",
        lambda w: f"/api/v1/codes/explain/{UNIT_A1}/",
        everyone(200),
    ),
    # --- Components API ---
    Row("api/v1/components/", lambda w: "/api/v1/components/", everyone(200)),
    Row(
        "api/v1/components/",
        lambda w: "/api/v1/components/",
        everyone(403, street_planner=201, outsider=403, admin=201, **API_LOGIN),
        method="post",
        data=lambda w: {
            "class": "01001",
            "geometry": {"type": "Point", "coordinates": [point(60, 160).x, point(60, 160).y]},
        },
    ),
    Row(
        "api/v1/components/<str:code>/",
        lambda w: f"/api/v1/components/{w['component'].code}/",
        everyone(200),
    ),
    Row(
        "api/v1/components/<str:code>/",
        lambda w: f"/api/v1/components/{w['component'].code}/",
        everyone(403, **PLANNERS_IN_SCOPE, **API_LOGIN),
        method="patch",
        data={"version": 1, "material": "铸铁"},
    ),
    Row(
        "api/v1/components/<str:code>/photos/",
        lambda w: f"/api/v1/components/{w['component'].code}/photos/",
        everyone(201, viewer=403, newcomer=403, outsider=404, department=404, **API_LOGIN),
        method="post",
        data=_photo,
        data_format="multipart",
    ),
    Row(
        "api/v1/components/<str:code>/status/",
        lambda w: f"/api/v1/components/{w['component'].code}/status/",
        everyone(200, viewer=403, newcomer=403, outsider=404, department=404, **API_LOGIN),
        method="post",
        data={"status": "damaged", "version": 1},
    ),
    # --- Cases API ---
    Row("api/v1/case-classes/", lambda w: "/api/v1/case-classes/", everyone(200)),
    Row("api/v1/cases/", lambda w: "/api/v1/cases/", everyone(200, **API_LOGIN)),
    Row(
        "api/v1/cases/",
        lambda w: "/api/v1/cases/",
        everyone(201, viewer=403, newcomer=403, **API_LOGIN),
        method="post",
        data=lambda w: {
            "service_code": GARBAGE,
            "lon": point(60, 160).x,
            "lat": point(60, 160).y,
            "description": "又有垃圾",
        },
    ),
    Row(
        "api/v1/cases/<int:pk>/",
        lambda w: f"/api/v1/cases/{w['internal'].pk}/",
        everyone(200, outsider=404, newcomer=404, **API_LOGIN),
    ),
    Row(
        "api/v1/cases/<int:pk>/transition/",
        lambda w: f"/api/v1/cases/{w['internal'].pk}/transition/",
        everyone(403, operator=200, admin=200, outsider=404, newcomer=404, **API_LOGIN),
        method="post",
        data={"to": "accepted", "version": 1},
    ),
    Row(
        "api/v1/cases/<int:pk>/escalate/",
        lambda w: f"/api/v1/cases/{w['internal'].pk}/escalate/",
        everyone(
            403, operator=200, inspector=200, admin=200, outsider=404, newcomer=404, **API_LOGIN
        ),
        method="post",
        data={"reason": "需要街道协调"},
    ),
    # --- Patrols API: an inspector's own, the city-wide roles all; coverage by grid scope ---
    Row("api/v1/patrols/", lambda w: "/api/v1/patrols/", everyone(200, **API_LOGIN)),
    Row(
        "api/v1/patrols/",
        lambda w: "/api/v1/patrols/",
        everyone(403, inspector=201, admin=201, **API_LOGIN),
        method="post",
        data={"id": "0b7e36a4-4f7d-4b8e-9c61-3f2d1a5e9b70"},
    ),
    Row(
        "api/v1/patrols/<int:pk>/",
        lambda w: f"/api/v1/patrols/{w['patrol'].pk}/",
        everyone(404, inspector=200, operator=200, viewer=200, admin=200, **API_LOGIN),
    ),
    Row(
        "api/v1/patrols/<int:pk>/points/",
        lambda w: f"/api/v1/patrols/{w['patrol'].pk}/points/",
        everyone(404, inspector=200, operator=200, viewer=200, admin=200, **API_LOGIN),
    ),
    Row(
        "api/v1/patrols/<int:pk>/points/",
        lambda w: f"/api/v1/patrols/{w['patrol'].pk}/points/",
        everyone(403, inspector=200, admin=200, **API_LOGIN),
        method="post",
        data=lambda w: {"crs": "EPSG:4490", "points": points_json(start_second=600)},
    ),
    Row(
        "api/v1/patrols/<int:pk>/end/",
        lambda w: f"/api/v1/patrols/{w['patrol'].pk}/end/",
        everyone(403, inspector=200, admin=200, **API_LOGIN),
        method="post",
        data={},
    ),
    Row(
        "api/v1/patrols/coverage/",
        lambda w: "/api/v1/patrols/coverage/",
        everyone(200, department=403, newcomer=403, **API_LOGIN),
    ),
    Row(
        "api/v1/patrols/visits/",
        lambda w: "/api/v1/patrols/visits/",
        everyone(200, department=403, newcomer=403, **API_LOGIN),
    ),
    # --- Command center API ---
    Row(
        "api/v1/command-center/grid-counts/",
        lambda w: "/api/v1/command-center/grid-counts/",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/indicators/",
        lambda w: "/api/v1/command-center/indicators/",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/indicators/rows/",
        lambda w: "/api/v1/command-center/indicators/rows/?by=department",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/hot-grids/",
        lambda w: "/api/v1/command-center/hot-grids/",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/overdue/",
        lambda w: "/api/v1/command-center/overdue/",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/grids/<str:code>/summary/",
        lambda w: f"/api/v1/command-center/grids/{UNIT_A1}/summary/",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/patrols/indicators/",
        lambda w: "/api/v1/command-center/patrols/indicators/?by=inspector",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/patrols/indicators/",
        lambda w: "/api/v1/command-center/patrols/indicators/?by=grid",
        CITY_WIDE_READ,
    ),
    Row(
        "api/v1/command-center/patrols/replay/",
        lambda w: f"/api/v1/command-center/patrols/replay/?inspector={w['users']['inspector'].pk}",
        CITY_WIDE_READ,
    ),
    # --- Open311 ---
    Row(
        "open311/v2/^discovery\\.(?P<fmt>\\w+)$",
        lambda w: "/open311/v2/discovery.json",
        everyone(200),
    ),
    Row(
        "open311/v2/^services\\.(?P<fmt>\\w+)$", lambda w: "/open311/v2/services.xml", everyone(200)
    ),
    Row(
        "open311/v2/^services/(?P<service_code>[^/.]+)\\.(?P<fmt>\\w+)$",
        lambda w: f"/open311/v2/services/{GARBAGE}.json",
        everyone(200),
    ),
    Row(
        "open311/v2/^requests\\.(?P<fmt>\\w+)$",
        lambda w: "/open311/v2/requests.json",
        everyone(200),
    ),
    Row(
        "open311/v2/^requests\\.(?P<fmt>\\w+)$",
        lambda w: "/open311/v2/requests.json",
        everyone(403, open311=200),
        method="post",
        data_format="form",
        data=lambda w: {
            "service_code": GARBAGE,
            "lat": point(60, 160).y,
            "long": point(60, 160).x,
            "description": "市民反映井盖松动",
        },
    ),
    Row(
        "open311/v2/^requests/(?P<service_request_id>[^/.]+)\\.(?P<fmt>\\w+)$",
        lambda w: f"/open311/v2/requests/{w['public'].pk}.json",
        everyone(200),
    ),
    Row("open311/v2/^(?P<path>.*)$", lambda w: "/open311/v2/tokens.json", everyone(404)),
    # --- Tiles ---
    Row(
        "tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf",
        lambda w: "/tiles/grids/14/13490/6206.pbf",
        everyone(200),
    ),
    Row(
        "tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf",
        lambda w: "/tiles/heat/14/13490/6206.pbf",
        everyone(200, anonymous=403, open311=403, newcomer=403),
    ),
    # Patrol tracks: the city-wide roles all, an inspector their own, nobody else.
    Row(
        "tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf",
        lambda w: "/tiles/tracks/14/13490/6206.pbf",
        everyone(403, inspector=200, operator=200, viewer=200, admin=200),
    ),
    Row("tiles/<str:layer>.json", lambda w: "/tiles/grids.json", everyone(200)),
    # The offline basemap: public reference data (roads, water, buildings), no personal data.
    Row(
        "tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf",
        lambda w: "/tiles/reference/14/13490/6206.pbf",
        everyone(200),
    ),
    Row("tiles/<str:layer>.json", lambda w: "/tiles/reference.json", everyone(200)),
    Row(
        "tiles/<str:layer>.json",
        lambda w: "/tiles/tracks.json",
        everyone(403, inspector=200, operator=200, viewer=200, admin=200),
    ),
    # --- Credentials, schema, media ---
    Row(
        "api/v1/auth/token/",
        lambda w: "/api/v1/auth/token/",
        everyone(401),
        method="post",
        data={"username": "inspector-a", "password": "not-the-password"},
    ),
    Row("api/v1/auth/logout/", lambda w: "/api/v1/auth/logout/", everyone(401), method="post"),
    Row(
        "api/v1/auth/logout-all/",
        lambda w: "/api/v1/auth/logout-all/",
        everyone(401),
        method="post",
    ),
    Row("api/schema/", lambda w: "/api/schema/", everyone(200)),
    # --- Probes: public, for load balancers and monitoring ---
    Row("healthz", lambda w: "/healthz", everyone(200)),
    Row("readyz", lambda w: "/readyz", everyone(200)),
    Row("^media/(?P<path>.+)$", _media("component_photo"), everyone(200)),
    Row("^media/(?P<path>.+)$", _media("public_photo"), everyone(200)),
    # An inspector's report: its reporter, the department it was routed to, city-wide roles.
    Row(
        "^media/(?P<path>.+)$",
        _media("internal_photo"),
        everyone(200, anonymous=404, open311=404, newcomer=404, outsider=404),
    ),
]

# The admin: its index and, for every registered model, the list, for every persona.
ROWS.append(Row("admin/", lambda w: "/admin/", everyone(302, admin=200), note="admin/"))
for _model in admin.site._registry:
    _path = f"admin/{_model._meta.app_label}/{_model._meta.model_name}/"
    ROWS.append(Row("admin/", lambda w, _p=_path: "/" + _p, everyone(302, admin=200), note=_path))


# --- The tests ----------------------------------------------------------------------------------


def _patterns(patterns: list, prefix: str = "") -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if text == "admin/":
                found.append("admin/")  # the admin site: rows per registered model below
                continue
            found += _patterns(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            found.append(text)
    return found


def test_every_route_has_a_row():
    routes = set(_patterns(get_resolver().url_patterns))
    covered = {row.route for row in ROWS}
    assert routes - covered == set(), "routes without a row in the access matrix"
    assert covered - routes == set(), "rows for routes that no longer exist"


def test_every_admin_model_has_a_row():
    models = {f"admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry}
    covered = {row.note for row in ROWS if row.route == "admin/"} - {"admin/"}
    assert models - covered == set()


@pytest.mark.django_db
def test_access_matrix(world):
    mismatches: list[str] = []
    leaks: list[str] = []
    for row in ROWS:
        for persona, expected in row.statuses().items():
            response = _request(_client(world, persona), row, world)
            if response.status_code != expected:
                mismatches.append(
                    f"{row.method.upper()} {row.url(world)} ({row.route}) as "
                    f"{persona}: {response.status_code}, expected {expected}"
                )
            if persona in PUBLIC and row.method == "get" and response.status_code == 200:
                body = b"".join(response) if response.streaming else response.content
                text = body.decode("utf-8", "replace")
                found = [v for v in PRIVATE_VALUES if v in text]
                if found:
                    leaks.append(f"GET {row.url(world)} as {persona} shows {found}")
    assert not mismatches, "\n".join(mismatches)
    assert not leaks, "\n".join(leaks)

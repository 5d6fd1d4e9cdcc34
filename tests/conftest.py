"""Shared fixtures: the grid levels, a small fixed city, the personas, the session's reference
data; and the order in which files are handed to the xdist workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.nodeid import coerce_node_id
from shapely.geometry import MultiPolygon, box

from geogrid.accounts.models import Role
from geogrid.grids.services.editing import create_grid
from tests import factories
from tests.geometry import point


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Schemathesis gives every operation of tests/core/test_schema.py the test function's node
    # id; pytest-xdist's --dist loadfile (make test) keys its work queue by node id and would
    # run one operation of the thirty. The operation in the id keeps them apart. pytest has no
    # public way to rename an item, hence its private `_id`; the check below makes a pytest or
    # Schemathesis upgrade that defeats this fail loudly instead of dropping tests.
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and not item.nodeid.endswith("]"):
            item._id = coerce_node_id(f"{item.nodeid}[{label}]")
    seen: set[str] = set()
    for item in items:
        if item.nodeid in seen:
            raise pytest.UsageError(
                f"Two tests share the node id {item.nodeid}: xdist would run one."
            )
        seen.add(item.nodeid)
    # The longest files first, so that no worker is left running one at the end while the
    # other waits (--dist loadfile hands out files in this order). Whole files move, each
    # keeping its order, so that a module fixture is still set up once.
    first: dict[Path, int] = {}
    rank: dict[Path, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
        rank[item.path] = min(rank.get(item.path, 3), _schedule_rank(item))
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (rank[item.path], first[item.path], order[id(item)]))


def _schedule_rank(item: pytest.Item) -> int:
    for order, mark in enumerate(("demo", "slow", "browser")):
        if item.get_closest_marker(mark):
            return order
    return 3


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The reference data every case and component test reads, loaded once per test database
    # (one per xdist worker) instead of ~1,500 rows per test.
    with django_db_blocker.unblock():
        factories.load_reference_data()


@pytest.fixture(autouse=True)
def _reference_data(request):
    # Tests run in a transaction that is rolled back, so the session's reference data stays;
    # but a transactional test (transactional_db, live_server) ends by emptying every table.
    # The next test that uses the database puts the rows back (committed, factories.py), so
    # every test sees the same reference data whichever worker and order it runs in.
    uses_database = "_django_db_helper" in request.fixturenames or request.node.get_closest_marker(
        "django_db"
    )
    if uses_database:
        request.getfixturevalue("_django_db_helper")
        factories.ensure_reference_data()


@pytest.fixture(autouse=True)
def _fresh_case_class_cache():
    # Each test's rows vanish with its transaction; a category cached by one test must not be
    # used by the next (in production rows are not rolled away like this).
    from geogrid.cases.intake import clear_case_class_cache

    clear_case_class_cache()
    yield
    clear_case_class_cache()


@pytest.fixture(autouse=True)
def _empty_dashboard_cache():
    # The command center keeps its answers for GEOGRID_DASHBOARD_CACHE_S in this process; each
    # test's rows vanish with its transaction, so an answer kept by one test is not the next's.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2's many rounds are the point in production and pure waiting in tests, where every
    # persona is created (and many logged in) afresh; what the tests prove does not depend on
    # the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def levels(db):
    return factories.levels()


@pytest.fixture
def admin_user(db):
    # Superuser: every role, city-wide.
    return factories.user("root-admin", Role.ADMIN)


@pytest.fixture
def admin_client(client, admin_user):
    # A browser session of the superuser, for the Django admin (pytest-django's own fixture
    # makes a user of its own; ours is the persona above).
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    return client


@pytest.fixture
def city(levels, admin_user):
    # District 110101 (400 m × 200 m), 2 streets, 2 communities, 4 unit grids in the west one.
    return factories.copied_small_city(admin_user)


@pytest.fixture
def planner(city):
    # Planner of district 110101.
    return factories.user("planner-a", Role.PLANNER, scope=[city["district"]])


@pytest.fixture
def inspector(city):
    # Inspector of the first unit grid of the west community.
    unit = city["west_c"].children.order_by("code").first()
    return factories.user("inspector-a", Role.INSPECTOR, scope=[unit])


@pytest.fixture
def outsider(city):
    # Planner of another district (110102, far to the east): must get 404s on 110101's grids.
    other = factories.small_city(None, district_code="110102", x0=5000)
    return factories.user("planner-b", Role.PLANNER, scope=[other["district"]])


@pytest.fixture
def viewer(db):
    # Command-center viewer: reads everything, changes nothing.
    return factories.user("viewer", Role.VIEWER)


@pytest.fixture
def meridian_pair(city, levels, admin_user):
    """Two unit grids in the east community sharing an edge exactly on a meridian, so that a
    point on that edge is exactly representable (lon/lat boxes, not projected squares)."""
    south_west, north_east = point(220, 20), point(380, 180)
    middle = round((south_west.x + north_east.x) / 2, 6)
    south, north = south_west.y, north_east.y
    west = create_grid(
        actor=admin_user,
        level=levels["unit"],
        parent=city["east_c"],
        geom=MultiPolygon([box(south_west.x, south, middle, north)]),
    )
    east = create_grid(
        actor=admin_user,
        level=levels["unit"],
        parent=city["east_c"],
        geom=MultiPolygon([box(middle, south, north_east.x, north)]),
    )
    return west, east, middle, south, north


@pytest.fixture
def taxonomy(db):
    """Both component taxonomies and the demo departments, as shipped in gis_data/: loaded once
    for the session (`_reference_data` below); this fixture names the dependency."""


@pytest.fixture
def empty_calendar(db):
    """No holiday calendar, for tests of loading one or of its absence (the session's reference
    data includes the shipped one)."""
    from geogrid.cases.models import CalendarDay

    CalendarDay.objects.all().delete()


@pytest.fixture
def manhole_class(taxonomy):
    from geogrid.components.models import ComponentClass

    return ComponentClass.objects.get(scheme="gbt47678", code="01001")  # 供水井盖, a point

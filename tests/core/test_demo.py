"""The demo (load_demo: users, the city's grids, its component inventory, cases) loads from the
real reference data, passes its own checks, and loads only once; it refuses production settings
and databases with other data unless forced, and its Open311 key file belongs to one database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test import override_settings

from geogrid.accounts.models import Role, User
from geogrid.cases.demo import key_file
from geogrid.cases.intake import submit_report
from geogrid.cases.models import CalendarDay, Open311Key, Open311KeyEvent
from geogrid.cases.open311_keys import create_open311_key, open311_key_for
from geogrid.components.models import Component, DepartmentMember
from geogrid.core.demo import database_label
from geogrid.grids.city_features import city_features
from geogrid.grids.demo import UNIT_TARGET_M2
from geogrid.grids.division import divide
from geogrid.grids.division_report import summarise
from geogrid.grids.feature_division import RANK_BARRIER, CityFeatures
from geogrid.grids.locate import locate
from geogrid.grids.models import Grid, GridLevel
from geogrid.grids.topology import topology_report
from tests import factories
from tests.committed import assert_test_database
from tests.gunicorn import ROOT
from tests.gunicorn import test_database_url as database_url

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def demo_city(django_db_setup, django_db_blocker):
    # Loading takes seconds: once for this module, removed afterwards.
    # pytest-django runs tests with DEBUG off; load_demo runs where `make demo` runs it. The
    # tests' hasher (tests/conftest.py), so that they can check the personas' passwords.
    with (
        django_db_blocker.unblock(),
        override_settings(
            DEBUG=True, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
        ),
    ):
        assert_test_database()
        call_command("load_demo", verbosity=0)
        yield
        # Committed rows (not a test transaction): leave the database as the next test expects.
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE grids_grid, components_componentclass, "
                "components_department, components_componentserial, accounts_user, "
                "cases_calendarday, cases_open311key, cases_open311keyevent, "
                "reference_referencelayer CASCADE"
            )


@pytest.mark.django_db
def test_demo_city_has_real_streets_and_unit_grids_of_about_the_target_area(demo_city, settings):
    district = Grid.objects.get(code="110101")
    assert district.name == "东城区" and district.source == "imported"
    streets = dict(district.children.values_list("code", "name"))
    assert len(streets) == 17 and streets["110101001"] == "东华门街道"
    units = Grid.objects.active().filter(level__slug="unit", code__startswith="110101")
    # Balanced within the division's tolerance around the target, inside the level's bounds.
    mean = district.area_m2 / units.count()
    tolerance = settings.GEOGRID_DIVISION_TOLERANCE
    assert (1 - tolerance) * UNIT_TARGET_M2 <= mean <= (1 + tolerance) * UNIT_TARGET_M2
    level = GridLevel.objects.get(slug="unit")
    areas = list(units.values_list("area_m2", flat=True))
    assert level.min_area_m2 <= min(areas) and max(areas) <= level.max_area_m2
    assert all(len(code) == 15 for code in units.values_list("code", flat=True)[:50])
    assert units.exclude(officer_name="").count() == units.count()
    assert units.filter(grid_type="residential", households__gt=0).exists()


@pytest.mark.django_db
def test_demo_city_passes_its_topology_reports(demo_city):
    assert topology_report(parent=Grid.objects.get(code="110101"))["ok"]
    street = Grid.objects.get(code="110101008")
    assert topology_report(parent=street)["ok"]
    for community in street.children.all()[:3]:
        assert topology_report(parent=community)["ok"]


@pytest.mark.django_db
def test_demo_streets_end_on_main_roads_rivers_or_the_railway(demo_city):
    district = Grid.objects.get(code="110101")
    parent = shapely.from_wkb(bytes(district.geom.wkb))
    features = city_features(parent)
    barriers = CityFeatures(
        lines=features.lines[features.ranks == RANK_BARRIER],
        ranks=features.ranks[features.ranks == RANK_BARRIER],
    )
    streets = [shapely.from_wkb(bytes(g.geom.wkb)) for g in district.children.active()]
    drawn, _ = summarise("streets", streets, parent, barriers, [])
    # Measured: 97 % of the boundary drawn between streets lies on a main road, a river or the
    # railway (the rest, 1.4 km, runs beside the district's south outline near 39.873° N).
    assert drawn.on_feature_share > 0.95
    assert all(len(street.geoms) == 1 for street in streets)


@pytest.mark.django_db
def test_demo_unit_grids_follow_the_generated_roads(demo_city):
    """Two streets' unit grids, drawn along the demo's road layer: most of the boundary they
    draw inside the street lies on a road, water or wall line (measured: 71 % in 东四 and in
    建国门, 57–83 % per street, 67 % over all of them), three times what Voronoi cells in the
    same communities reach (~21 %)."""
    for code in ("110101006", "110101008"):
        street = Grid.objects.get(code=code)
        parent = shapely.from_wkb(bytes(street.geom.wkb))
        features = city_features(parent)
        communities = Grid.objects.active().filter(parent=street)
        units = [
            shapely.from_wkb(bytes(geom.wkb))
            for geom in Grid.objects.active()
            .filter(parent__in=communities)
            .values_list("geom", flat=True)
        ]
        drawn, _ = summarise("features", units, parent, features, [])
        cells = [
            piece
            for community in communities
            for piece in divide(
                shapely.from_wkb(bytes(community.geom.wkb)),
                target_area_m2=UNIT_TARGET_M2,
                method="voronoi",
            )
        ]
        voronoi, _ = summarise("voronoi", cells, parent, features, [])
        assert drawn.on_feature_share > 0.6, code
        assert drawn.on_feature_share > 2 * voronoi.on_feature_share, code


@pytest.mark.django_db
def test_demo_city_locates_tiananmen_east_in_donghuamen(demo_city):
    # The Working People's Cultural Palace, east of Tiananmen: 东华门街道.
    location = locate(116.4005, 39.9105)
    assert location.path[1].name == "东华门街道" and location.grid.level == "unit"


@pytest.mark.django_db
def test_second_load_creates_nothing_and_demo_users_exist(demo_city, capsys):
    before = Grid.objects.count()
    call_command("load_demo")
    out = capsys.readouterr().out
    assert Grid.objects.count() == before
    assert "created 0 streets, 0 communities, 0 unit grids" in out
    assert "already loaded" in out
    assert "geogrid-demo" in out
    assert "History: " in out and "generated reports already there." in out
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == {"admin", "planner", "inspector", "operator", "department", "viewer"}
    assert User.objects.get(username="inspector").grid_scopes.count() == 18


@pytest.mark.django_db
def test_demo_inventory_has_about_200000_components_in_grids(demo_city):
    components = Component.objects.filter(district_code="110101")
    assert 190_000 <= components.count() <= 200_000
    assert not components.filter(grid__isnull=True).exists()
    assert components.filter(status="damaged").count() > 1_000
    assert set(components.values_list("component_class__scheme", flat=True).distinct()) == {
        "gbt47678"
    }
    assert DepartmentMember.objects.filter(user__username="department").exists()


@pytest.mark.django_db
def test_demo_cases_cover_the_workflow_and_an_open311_key_is_printed(demo_city, capsys):
    from geogrid.cases.models import Case, Open311Key
    from geogrid.cases.open311_keys import open311_key_for

    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"reported", "dispatched", "handled", "closed", "rejected"} <= statuses
    assert not Case.objects.filter(department__isnull=True).exists()
    assert Case.objects.filter(status="dispatched", deadline__isnull=False).exists()
    call_command("load_demo")
    out = capsys.readouterr().out
    key = out.split("api_key for 'demo-client': ")[1].split()[0]
    assert open311_key_for(key) == Open311Key.objects.get(name="demo-client")


@pytest.mark.django_db
def test_demo_history_is_a_year_with_seasons_weekdays_and_hot_spots(demo_city, settings):
    from geogrid.cases.calendar import work_calendar
    from geogrid.cases.models import Case

    generated = Case.objects.filter(generated=True)
    assert generated.count() == settings.GEOGRID_DEMO_HISTORY_REPORTS > 0
    calendar = work_calendar()
    with connection.cursor() as cursor:
        # Reports per local day, channel and category.
        cursor.execute("""
            SELECT (c.reported_at AT TIME ZONE 'Asia/Shanghai')::date, c.channel, k.service_code,
                   count(*)
            FROM cases_case c JOIN cases_caseclass k ON k.id = c.case_class_id
            WHERE c.generated GROUP BY 1, 2, 3""")
        rows = cursor.fetchall()
    days = {day for day, *_ in rows}
    festival = set(
        CalendarDay.objects.filter(kind="holiday", name="春节").values_list("date", flat=True)
    )

    def per_day(keep) -> float:
        chosen = {day for day in days if keep(day)}
        return sum(n for day, ch, code, n in rows if day in chosen and ch == "inspector") / len(
            chosen
        )

    working = per_day(calendar.is_working_day)
    assert per_day(lambda d: not calendar.is_working_day(d) and d not in festival) < 0.5 * working
    assert per_day(lambda d: d in festival) < 0.3 * working

    def greening(months: tuple[int, ...]) -> float:
        chosen = {day for day in days if day.month in months}
        return sum(n for day, _, code, n in rows if day in chosen and code == "06017") / len(chosen)

    assert greening((6, 7, 8)) > 2 * greening((12, 1, 2))
    # The grid at Beijing Railway Station draws several times the reports of a usual grid.
    station = locate(116.4270, 39.9030).grid.code
    per_grid = sorted(
        generated.values("grid_code").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert generated.filter(grid_code=station).count() > 4 * per_grid[len(per_grid) // 2]


@pytest.mark.django_db
def test_demo_history_agrees_with_the_month_counts_and_the_command_center(demo_city):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.test import APIClient

    from geogrid.cases.indicators import case_indicators
    from geogrid.cases.models import Case

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM (
                SELECT cases_count_month(reported_at) AS month, grid_id, grid_code,
                       count(*)::int AS reports, (count(*) FILTER (WHERE overdue))::int AS overdue
                FROM cases_case GROUP BY 1, 2, 3) c
            FULL JOIN cases_gridmonthcount s USING (month, grid_id, grid_code)
            WHERE c.reports IS DISTINCT FROM s.reports OR c.overdue IS DISTINCT FROM s.overdue""")
        assert cursor.fetchone()[0] == 0
    until = timezone.now()
    since = until - timedelta(days=366)
    year = case_indicators(start=since, end=until)
    assert year.reported == Case.objects.count()
    assert 0.7 < year.on_time_rate < 1 and year.mean_handling_hours > 1
    client = APIClient()
    client.force_authenticate(User.objects.get(username="viewer"))
    answer = client.get(
        "/api/v1/command-center/indicators/",
        {"since": since.isoformat(), "until": until.isoformat()},
    ).json()
    assert answer["generated"] == Case.objects.filter(generated=True).count()
    assert answer["indicators"]["reported"] == year.reported


@pytest.fixture(autouse=True)
def _debug_on(settings):
    # pytest-django turns DEBUG off for every test; load_demo is a debug-process tool, so the
    # tests run it as `make demo` does unless they turn debug off themselves.
    settings.DEBUG = True


def _printed_key(out: str) -> str:
    return out.split("api_key for 'demo-client': ")[1].split()[0]


# --- Guards: debug off, non-demo data, --force ----------------------------------------------


@pytest.mark.django_db
def test_a_loaded_demo_database_counts_as_demo_only(demo_city):
    from geogrid.core.demo import foreign_data

    assert foreign_data() == []


@pytest.mark.django_db
def test_load_demo_refuses_cases_and_open311_clients_the_demo_did_not_make(demo_city):
    submit_report(
        actor=None,
        channel="hotline",
        service_code="06010",
        x=116.4005,
        y=39.9105,
        crs=4326,
        description="井盖缺失",
    )
    create_open311_key(name="city-app")
    with pytest.raises(CommandError) as refused:
        call_command("load_demo", verbosity=0)
    message = str(refused.value)
    assert "1 case(s) not reported by the demo" in message
    assert "1 Open311 client key(s) other than 'demo-client'" in message


@pytest.mark.django_db
def test_load_demo_refuses_components_not_from_the_demo_inventory(demo_city):
    Component.objects.filter(pk=Component.objects.order_by("pk").values("pk")[:1]).update(
        import_batch=None
    )
    with pytest.raises(CommandError, match=r"1 component\(s\) not imported from the demo"):
        call_command("load_demo", verbosity=0)


@pytest.mark.django_db
def test_load_demo_force_with_debug_off_leaves_no_usable_demo_password(demo_city, settings, capsys):
    # The personas of the module's demo were made with the well-known password (debug on).
    assert User.objects.get(username="planner").check_password("geogrid-demo")
    settings.DEBUG = False
    call_command("load_demo", force=True)
    captured = capsys.readouterr()
    assert "geogrid-demo" not in captured.out
    assert "UNUSABLE" in captured.out and "GEOGRID_DEBUG is off" in captured.err
    for user in User.objects.all():
        assert not user.has_usable_password(), user.username


@pytest.mark.django_db
def test_load_demo_force_beside_other_data_disarms_the_demo_password(demo_city, capsys):
    factories.user("wang.clerk", Role.OPERATOR)
    with pytest.raises(CommandError, match="other than the demo personas"):
        call_command("load_demo", verbosity=0)
    call_command("load_demo", force=True)
    captured = capsys.readouterr()
    assert "UNUSABLE" in captured.out and "geogrid-demo" not in captured.out
    assert "holds data the demo did not make" in captured.err
    assert not User.objects.get(username="admin").has_usable_password()


# --- The Open311 key file belongs to one database ------------------------------------------


def test_database_label_names_host_port_and_database_safely(settings):
    from django.db import connections

    db = connections["default"].settings_dict
    saved = dict(db)
    try:
        db.update(HOST="db.example/../x", PORT=5433, NAME="geo grid")
        assert database_label() == "db.example_.._x-5433-geo_grid"
        db.update(HOST="", PORT="", NAME="geogrid")
        assert database_label() == "local-5432-geogrid"
    finally:
        db.clear()
        db.update(saved)


@pytest.mark.django_db
def test_load_demo_rotates_the_key_when_the_file_and_the_database_disagree(demo_city, capsys):
    record = Open311Key.objects.get(name="demo-client")
    key_file().write_text("a-key-of-another-database\n", encoding="utf-8")
    call_command("load_demo")
    out = capsys.readouterr().out
    key = _printed_key(out)
    assert "the key file and the database disagree" in out and "rotated" in out
    assert open311_key_for(key) == record  # same client record, new secret
    assert key_file().read_text(encoding="utf-8").strip() == key
    event = Open311KeyEvent.objects.filter(key=record, action="rotated").latest("id")
    assert event.details["prefix"] == key[:6] and key not in str(event.details)


@pytest.mark.django_db
def test_load_demo_reactivates_a_revoked_demo_key_by_rotation(demo_city, capsys):
    from geogrid.cases.open311_keys import revoke_open311_key

    record = Open311Key.objects.get(name="demo-client")
    revoke_open311_key(key=record)
    call_command("load_demo")
    key = _printed_key(capsys.readouterr().out)
    assert open311_key_for(key) == record


@pytest.fixture
def second_database():
    # Database B of the reported scenario, on the same server; dropped afterwards with its
    # demo folder.
    name = f"{connection.settings_dict['NAME']}_demo_b"
    params = connection.settings_dict
    admin = dict(
        host=params.get("HOST") or "127.0.0.1",
        port=params.get("PORT") or 5432,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url().rsplit("/", 1)[0] + "/" + name
    label = "-".join(database_label().split("-")[:2] + [name])
    yield url, ROOT / "var" / "demo" / label
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(ROOT / "var" / "demo" / label, ignore_errors=True)


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "geogrid.settings",
        "DATABASE_URL": url,
        "GEOGRID_DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.django_db
def test_demo_then_bench_then_demo_prints_a_key_database_a_accepts(
    demo_city, second_database, capsys
):
    # Issue 11: `make demo`, `make bench` (the demo into geogrid_bench), `make demo` printed an
    # Open311 key that the first database refused.
    url_b, folder_b = second_database
    call_command("load_demo")
    first = _printed_key(capsys.readouterr().out)
    for args in (("migrate", "-v0"), ("load_demo",)):
        done = _manage(url_b, *args)
        assert done.returncode == 0, done.stderr[-2000:]
    key_b = _printed_key(done.stdout)
    assert (folder_b / "open311-key.txt").read_text(encoding="utf-8").strip() == key_b
    call_command("load_demo")
    again = _printed_key(capsys.readouterr().out)
    assert again == first != key_b  # A's own file, untouched by B: no rotation needed
    assert open311_key_for(again) == Open311Key.objects.get(name="demo-client")
    assert Path(key_file()).parent != folder_b

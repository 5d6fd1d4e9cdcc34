"""The demo (load_demo: users, the city's grids, its component inventory, cases) loads from the
real reference data, passes its own checks, and loads only once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from geogrid.accounts.models import User
from geogrid.components.models import Component, DepartmentMember
from geogrid.grids.locate import locate
from geogrid.grids.models import Grid
from geogrid.grids.services import topology_report


@pytest.fixture(scope="module")
def demo_city(django_db_setup, django_db_blocker):
    # Loading takes seconds: once for this module, removed afterwards.
    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0)
        yield
        # Committed rows (not a test transaction): leave the database as the next test expects.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE grids_grid, components_componentclass, "
                           "components_department, components_componentserial, accounts_user, "
                           "cases_calendarday, cases_open311key CASCADE")


@pytest.mark.django_db
def test_demo_city_has_real_streets_and_about_4000_unit_grids(demo_city):
    district = Grid.objects.get(code="110101")
    assert district.name == "东城区" and district.source == "imported"
    streets = dict(district.children.values_list("code", "name"))
    assert len(streets) == 17 and streets["110101001"] == "东华门街道"
    units = Grid.objects.active().filter(level__slug="unit", code__startswith="110101")
    assert 3_500 <= units.count() <= 4_600
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
        "gbt47678"}
    assert DepartmentMember.objects.filter(user__username="department").exists()


@pytest.mark.django_db
def test_demo_cases_cover_the_workflow_and_an_open311_key_is_printed(demo_city, capsys):
    from geogrid.cases.models import Case, Open311Key
    from geogrid.cases.services import open311_key_for

    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"reported", "dispatched", "handled", "closed", "rejected"} <= statuses
    assert not Case.objects.filter(department__isnull=True).exists()
    assert Case.objects.filter(status="dispatched", deadline__isnull=False).exists()
    call_command("load_demo")
    out = capsys.readouterr().out
    key = out.split("api_key for 'demo-client': ")[1].split()[0]
    assert open311_key_for(key) == Open311Key.objects.get(name="demo-client")

"""Shared fixtures: the grid levels, a small fixed city, and the personas."""

from __future__ import annotations

import pytest

from geogrid.accounts.models import Role
from tests import factories


@pytest.fixture
def levels(db):
    return factories.levels()


@pytest.fixture
def admin_user(db):
    # Superuser: every role, city-wide.
    return factories.user("root-admin", Role.ADMIN)


@pytest.fixture
def city(levels, admin_user):
    # District 110101 (400 m × 200 m), 2 streets, 2 communities, 4 unit grids in the west one.
    return factories.small_city(admin_user)


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

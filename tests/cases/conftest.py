"""Case fixtures: both case taxonomies, the shipped calendar, the command-center operator, a
sanitation-department handler, and a helper to report a problem at a point of the small city."""

from __future__ import annotations

import pytest

from geogrid.accounts.models import Role
from geogrid.cases.intake import submit_report
from geogrid.components.models import Department, DepartmentMember
from tests import factories
from tests.geometry import point

GARBAGE = "06010"  # 暴露垃圾, an event routed to 环卫 (sanitation), 8/12/… working hours
COVER_FAULT = "01001"  # 供水井盖异常, a component case about water-supply manhole covers


@pytest.fixture
def case_taxonomy(taxonomy):
    """Both case taxonomies and the shipped holiday calendar: loaded once for the session
    (tests/conftest.py); this fixture names the dependency."""


@pytest.fixture
def operator(city):
    return factories.user("operator-a", Role.OPERATOR)


@pytest.fixture
def sanitation(case_taxonomy):
    return Department.objects.get(key="环卫")


@pytest.fixture
def handler(sanitation):
    account = factories.user("handler-a", Role.DEPARTMENT)
    DepartmentMember.objects.create(user=account, department=sanitation)
    return account


@pytest.fixture
def report(city, case_taxonomy, inspector):
    """report(x, y, **kwargs): a report at (x, y) metres of the small city, by the inspector."""

    def make(x: float = 50, y: float = 150, *, service_code: str = GARBAGE, **kwargs):
        at = point(x, y)
        kwargs.setdefault("actor", inspector)
        kwargs.setdefault("channel", "inspector")
        return submit_report(service_code=service_code, x=at.x, y=at.y, **kwargs)

    return make

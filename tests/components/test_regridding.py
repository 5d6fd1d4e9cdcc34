"""Grid edits move components in the same transaction, and say so beforehand."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from geogrid.components.models import Component, ComponentEvent
from geogrid.components.services import create_component
from geogrid.grids.impact import edit_impact
from geogrid.grids.models import Grid, GridEvent
from geogrid.grids.services.editing import reshape_grid, retire_grid
from tests.geometry import point, rect


@pytest.fixture
def parts(city, manhole_class, admin_user):
    """Three covers in the north-west grid 001: two near its east edge (x = 95), one inside."""
    return [
        create_component(actor=admin_user, component_class=manhole_class, geom=point(x, y))
        for x, y in ((95, 150), (95, 120), (20, 180))
    ]


def test_reshape_previews_and_then_moves_the_components_it_loses_and_gains(city, parts, admin_user):
    base = city["west_c"].code
    north_west = Grid.objects.get(code=base + "001")
    north_east = Grid.objects.get(code=base + "002")
    smaller = rect(0, 100, 90, 200)
    assert (
        edit_impact(grid=north_west, new_geom=smaller.geoms[0]).items()
        >= {"components_moved": 2, "components_leaving": 2, "components_joining": 0}.items()
    )
    reshape_grid(grid=north_west, geom=smaller, expected_version=1, actor=admin_user)
    assert [c.grid_id for c in Component.objects.order_by("code")] == [None, None, north_west.pk]
    # The neighbour grows into the strip: the two covers join it.
    reshape_grid(
        grid=north_east, geom=rect(90, 100, 200, 200), expected_version=1, actor=admin_user
    )
    assert [c.grid_id for c in Component.objects.order_by("code")] == [
        north_east.pk,
        north_east.pk,
        north_west.pk,
    ]
    event = ComponentEvent.objects.filter(action="regridded").order_by("-id").first()
    assert event.details == {"from": None, "to": base + "002"}
    grid_event = GridEvent.objects.get(grid=north_east, action="reshaped")
    assert grid_event.details["impact"]["components_joining"] == 2
    assert grid_event.details["applied"]["components_moved"] == 2


def test_retiring_a_grid_leaves_its_components_without_a_grid(city, parts, admin_user):
    north_west = Grid.objects.get(code=city["west_c"].code + "001")
    retire_grid(grid=north_west, expected_version=1, actor=admin_user)
    assert not Component.objects.filter(grid=north_west).exists()
    assert ComponentEvent.objects.filter(action="regridded").count() == 3


def test_editing_a_street_moves_no_components(city, parts, admin_user):
    assert edit_impact(grid=city["west"], new_geom=None) == {}


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_never_get_the_same_code(transactional_db):
    from geogrid.accounts.models import User
    from geogrid.components.models import ComponentClass
    from tests import factories

    factories.levels()
    factories.small_city()
    manhole = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    actor = User.objects.create(username="bulk")
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def create_many(offset: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                create_component(
                    actor=actor, component_class=manhole, geom=point(5 + offset * 20 + i, 150)
                )
        except Exception as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    codes = list(Component.objects.values_list("code", flat=True))
    assert len(codes) == 40 and len(set(codes)) == 40
    assert sorted(int(c[-6:]) for c in codes) == list(range(1, 41))

"""load_demo's guards on a database without the demo: it refuses a process with debug off and
a database with data the demo did not make, says why and how to override, and creates nothing;
with --force the demo users never get the well-known password. (The guards on a database that
holds the demo, and --force there, are in test_demo.py, which loads the demo once.)"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from geogrid.accounts.models import Role, User
from geogrid.grids.models import Grid
from tests import factories


@pytest.fixture(autouse=True)
def _debug_on(settings):
    # pytest-django turns DEBUG off for every test; load_demo is a debug-process tool, so the
    # tests run it as `make demo` does unless they turn debug off themselves.
    settings.DEBUG = True


@pytest.mark.django_db
def test_load_demo_refuses_with_debug_off_and_creates_nothing(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="GEOGRID_DEBUG is off") as refused:
        call_command("load_demo", verbosity=0)
    assert "--force" in str(refused.value)
    assert not User.objects.exists() and not Grid.objects.exists()


@pytest.mark.django_db
def test_load_demo_refuses_a_database_with_other_users():
    factories.user("wang.clerk", Role.OPERATOR)
    with pytest.raises(CommandError, match=r"1 user\(s\) other than the demo personas") as refused:
        call_command("load_demo", verbosity=0)
    assert (
        "--force" in str(refused.value)
        and "GEOGRID_DEBUG" not in str(refused.value).split("run it with")[0]
    )
    assert list(User.objects.values_list("username", flat=True)) == ["wang.clerk"]
    assert not Grid.objects.exists()


@pytest.mark.django_db
def test_load_demo_refuses_grids_outside_the_demo_districts(levels):
    factories.small_city(None, district_code="110102", x0=5000)
    with pytest.raises(CommandError, match=r"grid\(s\) outside the demo districts"):
        call_command("load_demo", verbosity=0)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_users_step_without_demo_passwords_creates_personas_with_unusable_ones(db):
    from geogrid.accounts.demo import DEMO_USERNAMES, ensure_demo_users

    factories.user("wang.clerk", Role.OPERATOR)
    # The step the command runs first, with the decision --force makes beside other data
    # (the command-level case is in test_demo.py).
    ensure_demo_users({"demo_passwords": False}, lambda items, **_: items)
    personas = User.objects.exclude(username="wang.clerk")
    assert personas.count() == len(DEMO_USERNAMES) == 17  # six personas, eleven field inspectors
    assert not any(user.has_usable_password() for user in personas)


@pytest.mark.django_db
def test_load_demo_refuses_reference_layers_the_demo_did_not_make():
    from tests.reference.test_services import _roads

    _roads(None, name="OSM 北京")
    with pytest.raises(CommandError, match=r"1 reference layer\(s\) other than the demo's"):
        call_command("load_demo", verbosity=0)
    assert not Grid.objects.exists()

"""One access rule everywhere: outside your role → 403, outside your scope → 404."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_planner_reads_the_topology_of_a_grid_in_scope(planner, city):
    response = _client(planner).get("/api/v1/grids/110101/topology/")
    assert response.status_code == 200 and response.json()["ok"] is True


def test_grid_outside_the_planners_scope_answers_404(outsider, city):
    assert _client(outsider).get("/api/v1/grids/110101/topology/").status_code == 404
    assert _client(outsider).get("/api/v1/grids/110102/topology/").status_code == 200


def test_inspector_role_may_not_read_topology_reports(inspector, city):
    assert _client(inspector).get("/api/v1/grids/110101/topology/").status_code == 403


def test_anonymous_user_is_refused_topology_reports(city):
    assert _client().get("/api/v1/grids/110101/topology/").status_code in (401, 403)


def test_scoped_reads_when_public_read_is_off(inspector, outsider, city):
    with override_settings(GEOGRID_PUBLIC_READ_API=False):
        unit = inspector.grid_scopes.get().grid
        assert _client(inspector).get(f"/api/v1/grids/{unit.code}/").status_code == 200
        assert _client(inspector).get("/api/v1/grids/110101002/").status_code == 404
        codes = {f["id"] for f in _client(outsider).get("/api/v1/grids/").json()["features"]}
        assert codes and all(code.startswith("110102") for code in codes)


@pytest.mark.parametrize("role_fixture", ["viewer", "admin_user"])
def test_city_wide_roles_see_every_district(request, role_fixture, outsider, city):
    user = request.getfixturevalue(role_fixture)
    assert _client(user).get("/api/v1/grids/110102/topology/").status_code == 200


def test_a_new_account_has_no_role_and_sees_only_public_things(city, django_user_model):
    from django.test import Client

    newcomer = django_user_model.objects.create_user("newcomer", password="pw-newcomer")
    assert newcomer.role == "" and not newcomer.has_role
    api = _client(newcomer)
    assert api.get("/api/v1/grids/110101/").status_code == 200  # public data
    assert "officer_phone" not in api.get("/api/v1/grids/110101/").json()["properties"]
    assert api.get("/api/v1/grids/110101/topology/").status_code == 403
    assert api.get("/api/v1/command-center/indicators/").status_code == 403
    page = Client()
    page.force_login(newcomer)
    assert page.get("/command-center/").status_code == 403
    assert page.get("/cases/desk/").status_code == 403
    home = page.get("/").content.decode()
    assert "未分配角色" in home and 'href="/command-center/"' not in home
    with override_settings(GEOGRID_PUBLIC_READ_API=False):
        assert api.get("/api/v1/grids/110101/").status_code == 404

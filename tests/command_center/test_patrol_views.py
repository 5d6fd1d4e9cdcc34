"""The patrol page (巡查监管): city-wide roles only, and its configuration names inspectors by
their display name, never their username (the page's data is in a json_script block)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from geogrid.accounts.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="pt-config" type="application/json">') + len(
        '<script id="pt-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_patrol_page_lists_inspectors_by_name_for_the_command_center(viewer, inspector):
    inspector.first_name, inspector.last_name = "建国", "王"
    inspector.save()
    unnamed = factories.user("inspector-z", Role.INSPECTOR)
    retired = factories.user("inspector-old", Role.INSPECTOR)
    retired.is_active = False
    retired.save()
    client = Client()
    client.force_login(viewer)
    response = client.get("/command-center/patrols/")
    assert response.status_code == 200
    config = _config(response)
    assert config["inspectors"] == [
        {"id": unnamed.pk, "name": f"#{unnamed.pk}"},
        {"id": inspector.pk, "name": "建国 王"},
    ]
    assert "inspector-a" not in response.content.decode()
    assert "inspector-z" not in response.content.decode()
    assert config["urls"]["trackTiles"] == "/tiles/tracks/{z}/{x}/{y}.pbf"
    assert config["urls"]["replay"] == "/api/v1/command-center/patrols/replay/"


def test_the_patrol_page_is_closed_to_inspectors_and_planners(inspector, planner):
    for user in (inspector, planner):
        client = Client()
        client.force_login(user)
        assert client.get("/command-center/patrols/").status_code == 403
    assert Client().get("/command-center/patrols/").status_code == 302  # to the log-in

"""The navigation shows a user the links of exactly the pages that user may open: the `nav` of
geogrid/accounts/navigation.py is read off the pages' own role rules, and base.html shows it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from geogrid.accounts.models import Role
from geogrid.accounts.navigation import NAV_PAGES
from tests import factories

PERSONAS = [*Role.values, "superuser", "no role"]


def _persona(name: str):
    if name == "superuser":
        return get_user_model().objects.create_superuser("root", password="pw-root")
    return factories.user(f"u-{name.replace(' ', '-')}", "" if name == "no role" else name)


def _nav_links(html: str) -> set[str]:
    nav = html.split("<nav>", 1)[1].split("</nav>", 1)[0]
    return {name for name in NAV_PAGES if f'href="{reverse(name)}"' in nav}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_links_shown_are_the_pages_the_user_may_open(levels, persona):
    client = Client()
    client.force_login(_persona(persona))
    home = client.get(reverse("home"))
    assert home.status_code == 200
    opens = {}
    for name in NAV_PAGES:
        status = client.get(reverse(name)).status_code
        assert status in (200, 403), (name, status)
        opens[name] = status == 200
    assert home.context["nav"] == {name.replace("-", "_"): ok for name, ok in opens.items()}
    assert _nav_links(home.content.decode()) == {name for name, ok in opens.items() if ok}


def test_what_each_role_is_offered(levels):
    # The rules the pages state, spelled out once so that a change to one is seen in review.
    offered = {}
    for persona in PERSONAS:
        client = Client()
        client.force_login(_persona(persona))
        offered[persona] = _nav_links(client.get(reverse("home")).content.decode())
    everything = set(NAV_PAGES)
    assert offered == {
        Role.PLANNER: {"case-report", "grid-editor"},
        Role.INSPECTOR: {"patrol-field", "case-report", "case-checks"},
        Role.OPERATOR: {"case-report", "case-desk", "command-center", "command-center-patrols"},
        Role.DEPARTMENT: {"case-report", "case-inbox"},
        Role.VIEWER: {"case-desk", "command-center", "command-center-patrols"},
        Role.ADMIN: everything,
        "superuser": everything,
        "no role": set(),
    }


def test_an_anonymous_visitor_is_offered_none_of_them(db):
    home = Client().get(reverse("home"))
    assert home.status_code == 200 and _nav_links(home.content.decode()) == set()

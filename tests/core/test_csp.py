"""Every response that renders a page carries a strict Content-Security-Policy (django-csp,
geogrid/core/csp.py), and page scripts put no data into markup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from geogrid.accounts.models import Role
from tests import factories

PAGES_BY_ROLE = {
    None: ["/", "/login/"],
    Role.INSPECTOR: ["/inspector/", "/cases/report/", "/cases/checks/"],
    Role.OPERATOR: ["/cases/desk/", "/command-center/"],
    Role.DEPARTMENT: ["/cases/inbox/"],
    Role.PLANNER: ["/grids/editor/"],
}


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def assert_strict(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["connect-src"] == ["'self'"]
    body = response.content.decode()
    # No inline script (only json_script data blocks and src= scripts) and no style="" attribute.
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\sstyle=", body)
    assert not re.search(r"\son[a-z]+=", body)
    return policy


@pytest.mark.parametrize("role", list(PAGES_BY_ROLE), ids=lambda r: r or "anonymous")
def test_every_page_carries_a_strict_policy_without_inline_script(role, city, taxonomy):
    client = Client()
    if role:
        client.force_login(factories.user(f"csp-{role}", role, scope=[city["district"]]))
    for address in PAGES_BY_ROLE[role]:
        assert_strict(client.get(address))


def test_admin_pages_and_the_map_widget_carry_the_policy_without_inline_script(admin_client, city):
    for address in (
        "/admin/",
        "/admin/grids/grid/",
        f"/admin/grids/grid/{city['west'].pk}/change/",
        "/admin/grids/grid/add/",
    ):
        response = admin_client.get(address)
        assert_strict(response)
        if "change" in address:
            assert "data-leaflet-map" in response.content.decode()


def test_img_src_follows_the_configured_basemap(client, db):
    with override_settings(GEOGRID_BASEMAP="tianditu", GEOGRID_TIANDITU_KEY="k"):
        policy = policy_of(client.get("/login/"))
    assert {
        "'self'",
        "data:",
        "blob:",
        "https://t0.tianditu.gov.cn",
        "https://t7.tianditu.gov.cn",
    } <= set(policy["img-src"])
    with override_settings(GEOGRID_BASEMAP="osm"):
        policy = policy_of(client.get("/login/"))
    assert "https://tile.openstreetmap.org" in policy["img-src"]
    assert not any("tianditu" in s for s in policy["img-src"])


def test_page_scripts_put_no_data_into_markup():
    """innerHTML and friends parse markup; Leaflet parses a string tooltip or popup as HTML.
    Page scripts build text nodes (GeoGrid.el / GeoGrid.lines in static/js/core/page.js)."""
    scripts = [
        p
        for p in (Path(settings.BASE_DIR) / "static" / "js").rglob("*.js")
        if "vendor" not in p.parts
    ]
    assert len(scripts) >= 8
    for script in scripts:
        code = script.read_text()
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert sink not in code, f"{script.name} uses {sink}"
        for call in re.findall(
            r"\.(?:bindTooltip|bindPopup|setContent|setTooltipContent|"
            r"setPopupContent)\(([^,)]*)",
            code,
        ):
            assert call.startswith("GeoGrid."), f"{script.name} passes {call!r} as markup"

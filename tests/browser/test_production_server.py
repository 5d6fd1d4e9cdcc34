"""The production path in real Chromium: gunicorn with the repository's gunicorn.conf.py, debug
off, static files collected (hashed, gzipped) and served by whitenoise — what `make serve` runs.
Every page loads all its stylesheets and scripts (no 404), its styles apply, its scripts run,
and nothing breaks the Content-Security-Policy (the `page` fixture fails on a violation). JSON
and vector tiles travel gzipped; static files carry hashed names and a year of caching."""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request

import mapbox_vector_tile
import pytest
from django.conf import settings
from django.test import Client

from geogrid.grids.models import Grid
from tests import factories
from tests.browser.conftest import GREY_TILE, OUTPUT
from tests.gunicorn import gunicorn
from tests.tiles.test_tiles import tile_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HASHED = re.compile(r"\.[0-9a-f]{12}\.(css|js)$")


@pytest.fixture
def server(tmp_path, city, admin_user):
    factories.reference_data()
    # The static files are collected as `make serve` does (tests/gunicorn.py). The session
    # cookie made below is signed with this process's key: the server shares it.
    with gunicorn(tmp_path, workers=2, env={"GEOGRID_SECRET_KEY": settings.SECRET_KEY}) as running:
        assert (running.static_root / "staticfiles.json").exists()
        yield running


def _session_cookie(user) -> str:
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# (path, what proves the page's own script ran, a style only its stylesheets give)
OUR_STYLE = ("body", "backgroundColor", "rgb(244, 246, 248)")  # static/css/geogrid.css
LEAFLET_STYLE = (".leaflet-container", "overflow", "hidden")  # leaflet.css
ADMIN_STYLE = ("#header", "display", "flex")  # admin/css/base.css
MAP_RAN = "window.GeoGrid && document.querySelector('.leaflet-container')"
PAGES = [
    ("/", MAP_RAN, [OUR_STYLE, LEAFLET_STYLE]),
    ("/inspector/", MAP_RAN, [OUR_STYLE, LEAFLET_STYLE]),
    ("/cases/desk/", MAP_RAN, [OUR_STYLE, LEAFLET_STYLE]),
    ("/cases/inbox/", MAP_RAN, [OUR_STYLE, LEAFLET_STYLE]),
    ("/cases/checks/", MAP_RAN, [OUR_STYLE, LEAFLET_STYLE]),
    ("/cases/report/", MAP_RAN, [OUR_STYLE, LEAFLET_STYLE]),
    (
        "/command-center/",
        MAP_RAN + " && document.querySelector('canvas')",
        [OUR_STYLE, LEAFLET_STYLE],
    ),
    ("/grids/editor/", MAP_RAN + " && window.L.PM", [OUR_STYLE, LEAFLET_STYLE]),
    ("/admin/", "document.documentElement.dataset.theme", [ADMIN_STYLE]),
    # django-leaflet's map widget in the admin (templates/leaflet/, static/js/admin/).
    (
        "/admin/grids/grid/{grid}/change/",
        "document.querySelector('.leaflet-container')",
        [ADMIN_STYLE, LEAFLET_STYLE],
    ),
]


def _check_page(page, url: str, ran: str, styles: list[tuple[str, str, str]]) -> list[str]:
    problems: list[str] = []
    bad = lambda text: problems.append(f"{url}: {text}")  # noqa: E731
    page.on(
        "response",
        lambda r: (
            bad(f"{r.status} for {r.url}") if r.status >= 400 and "/static/" in r.url else None
        ),
    )
    page.on(
        "requestfailed", lambda r: bad(f"request failed: {r.url}") if "/static/" in r.url else None
    )
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        bad(f"the page answered {response and response.status}")
        return problems
    try:
        page.wait_for_function(f"() => !!({ran})", timeout=15_000)
    except Exception:  # noqa: BLE001 — reported with the page's name below
        bad(f"its scripts did not run ({ran})")
    # Every static stylesheet and script of the page has a hashed name, and loaded.
    assets = page.evaluate("""() => [
        ...Array.from(document.querySelectorAll('link[rel=stylesheet]'), l => [l.href,
            !!l.sheet && l.sheet.cssRules.length > 0]),
        ...Array.from(document.querySelectorAll('script[src]'), s => [s.src, true])]""")
    if not assets:
        bad("no stylesheet or script at all")
    for href, loaded in assets:
        if "/static/" in href and not HASHED.search(href.split("?")[0]):
            bad(f"{href} has no hashed name")
        if not loaded:
            bad(f"{href} has no rules: the stylesheet did not load")
    for selector, prop, expected in styles:
        value = page.evaluate(
            "([s, p]) => { const e = document.querySelector(s); "
            "return e ? getComputedStyle(e)[p] : null; }",
            [selector, prop],
        )
        if value != expected:
            bad(f"{selector} {prop} is {value!r}, not {expected!r}: a stylesheet is missing")
    return problems


def test_every_page_loads_its_styles_and_scripts_under_gunicorn_with_debug_off(
    page, server, admin_user, city
):
    # Each page opens in a fresh tab of the fixture's context (CSP violations of every tab
    # reach the fixture); the basemap is a grey tile there too.
    page.context.route(
        "**/tile.openstreetmap.org/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=GREY_TILE),
    )
    problems = _check_page(page, server.url + "/login/", "window.GeoGrid", [OUR_STYLE])
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": _session_cookie(admin_user),
                "url": server.url,
            }
        ]
    )
    grid = Grid.objects.filter(code=city["district"].code).values_list("pk", flat=True).get()
    for path, ran, styles in PAGES:
        fresh = page.context.new_page()
        problems += _check_page(fresh, server.url + path.format(grid=grid), ran, styles)
        if path == "/command-center/":
            OUTPUT.mkdir(exist_ok=True)
            fresh.screenshot(path=str(OUTPUT / "production-command-center.png"))
        fresh.close()
    assert not problems, "\n".join(problems)
    errors = [line for line in server.log_lines() if "Traceback" in line or "[ERROR]" in line]
    assert not errors, "\n".join(server.log_lines())


def _get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(request, timeout=30)


def test_production_server_gzips_json_and_tiles_and_caches_hashed_static_files(server, city):
    # JSON: the public grids API.
    with _get(server.url + "/api/v1/grids/?level=unit", **{"Accept-Encoding": "gzip"}) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in answer.headers["Vary"]
        body = json.loads(gzip.decompress(answer.read()))
    assert len(body["features"]) == 4
    # A vector tile over the city, then its revalidation with the (weak) ETag it carried.
    z, x, y = tile_of(100, 100, 16)
    tile_url = f"{server.url}/tiles/grids/{z}/{x}/{y}.pbf"
    with _get(tile_url, **{"Accept-Encoding": "gzip"}) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        etag = answer.headers["ETag"]
        tile = mapbox_vector_tile.decode(gzip.decompress(answer.read()))
    assert etag.startswith('W/"grids-')
    assert tile["grids"]["features"]
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        _get(tile_url, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert not_modified.value.code == 304
    assert not_modified.value.headers["ETag"] == etag
    # Pages stay uncompressed (they carry the CSRF token: BREACH).
    with _get(server.url + "/login/", **{"Accept-Encoding": "gzip"}) as answer:
        assert answer.headers.get("Content-Encoding") is None
        html = answer.read().decode()
    # Static files: the page names the hashed copy, served gzipped and cached for a year.
    css = re.search(r'href="(/static/css/geogrid\.[0-9a-f]{12}\.css)"', html).group(1)
    with _get(server.url + css, **{"Accept-Encoding": "gzip"}) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        cache = answer.headers["Cache-Control"]
        assert "immutable" in cache
        assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600
        assert b"background" in gzip.decompress(answer.read())

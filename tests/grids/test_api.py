"""The grid read API: GeoJSON lists and details, locate, explain, topology; bad input → 400."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from geogrid.accounts.services import issue_token
from tests.geometry import point


@pytest.fixture
def client():
    return APIClient()


def test_grid_list_is_a_paginated_geojson_feature_collection(client, city):
    response = client.get("/api/v1/grids/", {"level": "unit", "page_size": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["count"] == 4
    assert len(body["features"]) == 3 and body["next"]
    feature = body["features"][0]
    assert feature["id"] == city["west_c"].code + "001"
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["level"] == "unit"


def test_grid_list_filters_by_parent_and_bbox(client, city):
    by_parent = client.get("/api/v1/grids/", {"parent": "110101"}).json()
    assert sorted(f["id"] for f in by_parent["features"]) == ["110101001", "110101002"]
    sw, ne = point(10, 110), point(40, 140)
    bbox = f"{sw.x},{sw.y},{ne.x},{ne.y}"
    in_box = client.get("/api/v1/grids/", {"bbox": bbox, "level": "unit"}).json()
    assert [f["id"] for f in in_box["features"]] == [city["west_c"].code + "001"]


@pytest.mark.parametrize(
    "params",
    [
        {"level": "planet"},
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "120,40,110,30"},
        {"parent": "12x"},
        {"page": "0"},
        {"page": "99"},
        {"page_size": "-5"},
    ],
)
def test_grid_list_bad_parameters_are_400_with_a_message(client, city, params):
    response = client.get("/api/v1/grids/", params)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_grid_detail_by_code(client, city):
    response = client.get("/api/v1/grids/110101001/")
    assert response.status_code == 200 and response.json()["properties"]["name"] == "西街道"
    assert client.get("/api/v1/grids/110101009/").status_code == 404
    assert client.get("/api/v1/grids/xyz/").status_code == 400


def test_locate_returns_the_path(client, city):
    p = point(150, 150)
    body = client.get("/api/v1/locate", {"lon": p.x, "lat": p.y}).json()
    assert body["grid"]["code"] == city["west_c"].code + "002"
    assert [s["level"] for s in body["path"]] == ["district", "street", "community", "unit"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 39.9}, "lon"),
        ({"lon": "x", "lat": 39.9}, "lon"),
        ({"lon": "nan", "lat": 39.9}, "lon"),
        ({"lon": 116.4, "lat": 95}, None),
        ({"lon": 116.4, "lat": 39.9, "crs": "EPSG:9999"}, None),
        ({"lon": 116.4, "lat": 39.9, "at": "yesterday"}, "at"),
        ({"lon": 116.4, "lat": 39.9, "at": "2026-13-01T00:00:00"}, "at"),
    ],
)
def test_locate_bad_parameters_are_400(client, city, params, field):
    response = client.get("/api/v1/locate", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    if field:
        assert body["field"] == field


def test_locate_outside_every_grid_is_404_with_a_message(client, city):
    response = client.get("/api/v1/locate", {"lon": 100.0, "lat": 30.0})
    assert response.status_code == 404
    assert "outside every grid" in response.json()["detail"]


def test_code_explain_endpoint(client, city):
    body = client.get("/api/v1/codes/explain/110101001001002").json()
    assert body["parts"][0]["name"] == "东城区" and body["exists"] is True
    bad = client.get("/api/v1/codes/explain/12345")
    assert bad.status_code == 400 and "digits" in bad.json()["detail"]


def test_openapi_schema_lists_the_endpoints(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/locate" in text and "/api/v1/grids/{code}/topology/" in text


def test_anonymous_reads_need_a_token_when_public_read_is_off(client, city, viewer):
    with override_settings(GEOGRID_PUBLIC_READ_API=False):
        assert client.get("/api/v1/grids/").status_code in (401, 403)
        token = issue_token(user=viewer)[0]
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get("/api/v1/grids/").json()["count"] >= 9


# --- Odd input (issue 10) --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"level": "\x00"},
        {"parent": "\x00"},
        {"within": "1" * 2000},
        {"include_retired": "\x00"},
        {"page_size": "99999999999999999999"},
    ],
)
def test_grid_list_refuses_nul_bytes_and_huge_numbers_with_400(city, params):
    response = APIClient().get("/api/v1/grids/", params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == next(iter(params))


@pytest.mark.parametrize(
    "params",
    [
        {"lon": "\x00", "lat": "39.9"},
        {"lon": "116.4", "lat": "39.9", "at": "2026-02-30T00:00:00"},
        {"lon": "116.4", "lat": "39.9", "at": "0001-01-01T00:00:00"},
    ],
)
def test_locate_refuses_bad_numbers_and_dates_with_400(city, params):
    response = APIClient().get("/api/v1/grids/locate/", params)
    assert response.status_code == 400, response.content

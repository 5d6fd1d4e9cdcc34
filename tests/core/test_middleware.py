"""Limits before work: a body larger than GEOGRID_MAX_UPLOAD_MB is a 413 before it is parsed.
gzip for JSON and vector tiles, never for pages or answers to POSTs."""

from __future__ import annotations

import gzip
import io
import json

import mapbox_vector_tile
import pytest
from django.test import Client

from tests.cases.conftest import GARBAGE
from tests.tiles.test_tiles import tile_of


@pytest.mark.django_db
def test_body_size_limit_refuses_a_large_content_length_before_parsing(settings):
    settings.GEOGRID_MAX_UPLOAD_MB = 1
    # The declared length alone decides: the body is never read.
    response = Client().generic(
        "POST",
        "/open311/v2/requests.json",
        b"x" * 10,
        content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(2 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "1 MB" in response.json()["detail"]


@pytest.mark.django_db
def test_body_size_limit_refuses_a_streamed_body_that_grows_past_it(settings):
    settings.GEOGRID_MAX_UPLOAD_MB = 1
    body = b"service_code=" + b"a" * (1024 * 1024 + 10)
    response = Client().generic(
        "POST",
        "/open311/v2/requests.json",
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )
    assert response.status_code == 413


@pytest.mark.django_db
def test_body_size_limit_passes_a_small_streamed_body_on(settings):
    settings.GEOGRID_MAX_UPLOAD_MB = 1
    body = f"api_key=unknown&service_code={GARBAGE}&lat=1&long=1".encode()
    response = Client().generic(
        "POST",
        "/open311/v2/requests.json",
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )
    # Read as a form: the key in it was read (and is unknown).
    assert response.status_code == 403 and b"Invalid api_key" in response.content


# --- gzip for JSON and vector tiles (CompressDataMiddleware) -------------------------------------
def test_compression_gzips_json_answers_for_clients_that_accept_it(city):
    response = Client().get("/api/v1/grids/?level=unit", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert len(json.loads(gzip.decompress(response.content))["features"]) == 4


def test_compression_gzips_vector_tiles_and_keeps_their_etag_revalidating(city):
    z, x, y = tile_of(100, 100, 16)
    url = f"/tiles/grids/{z}/{x}/{y}.pbf"
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert mapbox_vector_tile.decode(gzip.decompress(response.content))["grids"]["features"]
    # The compressed answer's ETag is weak (RFC 9110); sent back, it still gives a 304 that
    # names the same tag and varies the same way.
    etag = response["ETag"]
    assert etag.startswith('W/"grids-')
    again = Client().get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert "Accept-Encoding" in again["Vary"]


def test_compression_sends_plain_bytes_to_clients_that_do_not_accept_gzip(city):
    response = Client().get("/api/v1/grids/?level=unit")
    assert "Content-Encoding" not in response
    assert "Accept-Encoding" in response["Vary"]
    assert len(response.json()["features"]) == 4


@pytest.mark.django_db
def test_compression_leaves_html_pages_alone_because_they_carry_the_csrf_token():
    response = Client().get("/login/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and len(response.content) > 200
    assert "Content-Encoding" not in response
    assert "csrfmiddlewaretoken" in response.content.decode()


def test_compression_leaves_answers_to_posts_alone(admin_user):
    # The token endpoint's answer holds a new secret: never compressed.
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "root-admin", "password": "pw-root-admin"},
        HTTP_ACCEPT_ENCODING="gzip",
    )
    assert response.status_code == 200, response.content
    assert "Content-Encoding" not in response
    assert response.json()["token"]

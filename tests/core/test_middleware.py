"""Limits before work: a body larger than GEOGRID_MAX_UPLOAD_MB is a 413 before it is parsed."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from tests.cases.conftest import GARBAGE


@pytest.mark.django_db
def test_body_size_limit_refuses_a_large_content_length_before_parsing(settings):
    settings.GEOGRID_MAX_UPLOAD_MB = 1
    # The declared length alone decides: the body is never read.
    response = Client().generic("POST", "/open311/v2/requests.json", b"x" * 10,
                                content_type="multipart/form-data; boundary=b",
                                CONTENT_LENGTH=str(2 * 1024 * 1024))
    assert response.status_code == 413
    assert "1 MB" in response.json()["detail"]


@pytest.mark.django_db
def test_body_size_limit_refuses_a_streamed_body_that_grows_past_it(settings):
    settings.GEOGRID_MAX_UPLOAD_MB = 1
    body = b"service_code=" + b"a" * (1024 * 1024 + 10)
    response = Client().generic("POST", "/open311/v2/requests.json", b"",
                                CONTENT_TYPE="application/x-www-form-urlencoded",
                                CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
                                **{"wsgi.input": io.BytesIO(body)})
    assert response.status_code == 413


@pytest.mark.django_db
def test_body_size_limit_passes_a_small_streamed_body_on(settings):
    settings.GEOGRID_MAX_UPLOAD_MB = 1
    body = f"api_key=unknown&service_code={GARBAGE}&lat=1&long=1".encode()
    response = Client().generic("POST", "/open311/v2/requests.json", b"",
                                CONTENT_TYPE="application/x-www-form-urlencoded",
                                CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
                                **{"wsgi.input": io.BytesIO(body)})
    # Read as a form: the key in it was read (and is unknown).
    assert response.status_code == 403 and b"Invalid api_key" in response.content

"""/media/: files only through the access check of the object they belong to, then from
Django or the web server in front (X-Accel-Redirect / X-Sendfile)."""

from __future__ import annotations

import pytest
from django.test import Client

from geogrid.components.models import ComponentClass
from geogrid.components.services import add_component_photo, create_component
from geogrid.core.photos import check_photo
from tests.geometry import point
from tests.photos import image_bytes, upload


@pytest.fixture
def photo_path(settings, tmp_path, city, taxonomy, admin_user) -> str:
    settings.MEDIA_ROOT = tmp_path
    water = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    component = create_component(actor=admin_user, component_class=water, geom=point(30, 170))
    photo = add_component_photo(
        component=component, actor=admin_user, photo=check_photo(upload(image_bytes()))
    )
    return photo.image.name


def test_media_sends_the_bytes_after_the_check(photo_path, settings):
    response = Client().get(f"/media/{photo_path}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"  # a JPEG
    assert response["Cache-Control"].startswith("private")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_media_hands_the_file_to_nginx_with_x_accel_redirect(photo_path, settings):
    settings.GEOGRID_MEDIA_ACCEL = "nginx"
    settings.GEOGRID_MEDIA_ACCEL_PREFIX = "/protected-media/"
    response = Client().get(f"/media/{photo_path}")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-media/{photo_path}"
    assert response["Content-Type"] == "image/jpeg"


def test_media_hands_the_file_to_apache_with_x_sendfile(photo_path, settings, tmp_path):
    settings.GEOGRID_MEDIA_ACCEL = "apache"
    response = Client().get(f"/media/{photo_path}")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Sendfile"] == str(tmp_path / photo_path)


@pytest.mark.parametrize(
    "path",
    ["components/../../settings.py", "secret.txt", "components/2026/01/nobody.jpg", "cases/x.jpg"],
)
def test_media_files_no_object_owns_are_404(photo_path, settings, tmp_path, path):
    (tmp_path / "secret.txt").write_text("not a photo")
    settings.GEOGRID_MEDIA_ACCEL = "nginx"
    response = Client().get(f"/media/{path}")
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response

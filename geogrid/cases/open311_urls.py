"""Open311 GeoReport v2 under /open311/v2/ (views in geogrid/cases/open311.py).

Every resource ends in a format suffix, as the spec requires. Any word is matched there, and
the last pattern takes every other path, so that an unsupported format (services.yaml) or an
unknown resource gets the spec's 404 error list rather than Django's HTML page.
"""

from __future__ import annotations

from django.urls import re_path

from geogrid.cases import open311

app_name = "open311"
FORMAT = r"\.(?P<fmt>\w+)$"

urlpatterns = [
    re_path(rf"^discovery{FORMAT}", open311.discovery, name="discovery"),
    re_path(rf"^services{FORMAT}", open311.service_list, name="services"),
    re_path(
        rf"^services/(?P<service_code>[^/.]+){FORMAT}",
        open311.service_definition,
        name="service-definition",
    ),
    re_path(rf"^requests{FORMAT}", open311.service_requests, name="requests"),
    re_path(
        rf"^requests/(?P<service_request_id>[^/.]+){FORMAT}",
        open311.service_request,
        name="request",
    ),
    re_path(r"^(?P<path>.*)$", open311.not_found),
]

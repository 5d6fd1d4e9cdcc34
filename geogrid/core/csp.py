"""Content-Security-Policy on every response (django-csp; the fixed directives are in settings).

What the policy cannot know statically is where basemap tiles come from: it follows
GEOGRID_BASEMAP at request time, so img-src adds exactly those origins (README,
"Content-Security-Policy and escaping")."""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

from geogrid.core.basemap import tile_sources


class GeoGridCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only:
            update = dict(parts.update or {})
            update["img-src"] = [*update.get("img-src", []), *tile_sources()]
            parts.update = update
        return parts

"""The command center's patrol page (巡查监管): today's (or a chosen day's) tracks from the
tracks tiles, coverage per unit grid as a choropleth, the grids overdue for a visit, the patrol
indicators per inspector and grid beside the case indicators, and the replay of one
inspector's day. Everything comes from the APIs and the tiles; the page holds the
configuration: URLs, the city's extent, the inspectors to pick from (display names only)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from geogrid.accounts.models import Role, User
from geogrid.command_center.api import CITY_WIDE
from geogrid.command_center.patrols import display_name
from geogrid.core.permissions import role_required
from geogrid.grids.models import Grid


@login_required
@role_required(*CITY_WIDE, action="open the command center's patrol page")
def patrols_page(request: HttpRequest) -> HttpResponse:
    extent = (
        Grid.objects.active().filter(parent__isnull=True).aggregate(extent=Extent("geom"))["extent"]
    )
    inspectors = sorted(
        (
            {"id": user.pk, "name": display_name(user)}
            for user in User.objects.filter(role=Role.INSPECTOR, is_active=True)
        ),
        key=lambda item: (item["name"], item["id"]),
    )
    config = {
        "urls": {
            "indicators": reverse("command-center-api:patrol-indicators"),
            "caseIndicators": reverse("command-center-api:indicators"),
            "replay": reverse("command-center-api:patrol-replay"),
            "coverage": reverse("patrols-api:patrol-coverage"),
            "visits": reverse("patrols-api:patrol-visits"),
            "caseDesk": reverse("case-desk"),
            "dashboard": reverse("command-center"),
            # Tile URL templates; Leaflet fills {z}/{x}/{y}.
            "trackTiles": "/tiles/tracks/{z}/{x}/{y}.pbf",
            "gridTiles": "/tiles/grids/{z}/{x}/{y}.pbf",
        },
        "bounds": [round(v, 6) for v in extent] if extent else None,
        "inspectors": inspectors,
        "tileMaxZoom": settings.GEOGRID_TILE_MAX_ZOOM,
        "timeZone": settings.TIME_ZONE,
        "patrolGapSeconds": settings.GEOGRID_PATROL_GAP_S,
    }
    return render(request, "command_center/patrols.html", {"config": config})

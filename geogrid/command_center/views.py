"""The command-center dashboard page (指挥中心). Everything it shows comes from the
command-center API, the vector tiles and the grid locator; the page only holds the
configuration: URLs, the basemap, the city's time zone and extent, the category filter."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from geogrid.cases.models import CaseClass
from geogrid.command_center.api import CITY_WIDE
from geogrid.components.schemes import active_scheme
from geogrid.core.permissions import role_required
from geogrid.grids.models import Grid

REFRESH_SECONDS = 60
CODE = "000000"  # placeholder in the grid-summary URL template; the script puts a code there


def _categories() -> list[dict[str, str]]:
    """The active scheme's categories for the filter, grouped by kind and major class."""
    return [
        {"code": code, "name": name, "name_en": name_en, "group": major, "kind": kind}
        for code, name, name_en, major, kind in CaseClass.objects.filter(
            scheme=active_scheme(), active=True
        )
        .order_by("kind", "major_code", "service_code")
        .values_list("service_code", "name", "name_en", "major_name", "kind")
    ]


@login_required
@role_required(*CITY_WIDE, action="open the command center")
def dashboard(request: HttpRequest) -> HttpResponse:
    extent = (
        Grid.objects.active().filter(parent__isnull=True).aggregate(extent=Extent("geom"))["extent"]
    )
    config = {
        "urls": {
            "indicators": reverse("command-center-api:indicators"),
            "rows": reverse("command-center-api:indicator-rows"),
            "gridCounts": reverse("command-center-api:grid-counts"),
            "hotGrids": reverse("command-center-api:hot-grids"),
            "overdue": reverse("command-center-api:overdue"),
            "summary": reverse("command-center-api:grid-summary", args=[CODE]),
            "locate": reverse("grids-api:locate"),
            "caseDesk": reverse("case-desk"),
            # Tile URL templates; Leaflet fills {z}/{x}/{y}.
            "heatTiles": "/tiles/heat/{z}/{x}/{y}.pbf",
            "gridTiles": "/tiles/grids/{z}/{x}/{y}.pbf",
        },
        "placeholder": CODE,
        "bounds": [round(v, 6) for v in extent] if extent else None,
        "categories": _categories(),
        "tileMaxZoom": settings.GEOGRID_TILE_MAX_ZOOM,
        "timeZone": settings.TIME_ZONE,
        "refreshSeconds": REFRESH_SECONDS,
    }
    return render(request, "command_center/dashboard.html", {"config": config})

"""Pages of the grids app: the city map (home)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from geogrid.grids.models import Grid, GridLevel, GridSource


def home(request: HttpRequest) -> HttpResponse:
    """The city map: grids by level, click anywhere to see its grid path."""
    levels = list(GridLevel.objects.all())
    active = Grid.objects.active()
    counts = dict(active.values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    generated = set(active.filter(source=GridSource.GENERATED).order_by()
                    .values_list("level_id", flat=True).distinct())
    generated_levels = [level for level in levels if level.id in generated]
    return render(request, "grids/home.html", {
        "level_rows": [(level, counts.get(level.id, 0)) for level in levels],
        "generated_levels": generated_levels,
        "basemap_url": settings.GEOGRID_BASEMAP_URL,
        "basemap_attribution": settings.GEOGRID_BASEMAP_ATTRIBUTION,
    })

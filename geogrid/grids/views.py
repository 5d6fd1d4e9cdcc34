"""Pages of the grids app: the city map (home) and the planner's grid editor."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language

from geogrid.accounts.models import Role
from geogrid.core.permissions import role_required
from geogrid.grids.models import Grid, GridLevel, GridSource, GridType


def home(request: HttpRequest) -> HttpResponse:
    """The city map: grids by level, click anywhere to see its grid path."""
    levels = list(GridLevel.objects.all())
    active = Grid.objects.active()
    counts = dict(active.values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    generated = set(
        active.filter(source=GridSource.GENERATED)
        .order_by()
        .values_list("level_id", flat=True)
        .distinct()
    )
    generated_levels = [level for level in levels if level.id in generated]
    return render(
        request,
        "grids/home.html",
        {
            "level_rows": [(level, counts.get(level.id, 0)) for level in levels],
            "generated_levels": generated_levels,
            "config": {
                "gridsUrl": reverse("grids-api:grid-list"),
                "locateUrl": reverse("grids-api:locate"),
            },
        },
    )


CODE = "000000"  # placeholder in URL templates; the script puts the grid code there


@login_required
@role_required(Role.PLANNER, action="edit grids")
def editor(request: HttpRequest) -> HttpResponse:
    """The planner's grid editor: pick a parent, draw, reshape, split, merge, retire or
    re-divide its children; every edit is checked on the server before it can be saved."""
    english = (get_language() or "").startswith("en")
    roots = Grid.objects.in_scope_of(request.user).active().select_related("level")
    # The shallowest grids in the planner's scope are where the picker starts.
    depth = min((g.level.depth for g in roots), default=0)
    starts = [
        {"code": g.code, "name": g.name}
        for g in roots.filter(level__depth=depth).order_by("code")[:200]
    ]
    levels = [
        {
            "slug": lv.slug,
            "depth": lv.depth,
            "name": lv.name_en if english and lv.name_en else lv.name,
            "min_area_m2": lv.min_area_m2,
            "max_area_m2": lv.max_area_m2,
        }
        for lv in GridLevel.objects.order_by("depth")
    ]
    config = {
        "urls": {
            "grids": reverse("grids-api:grid-list"),
            "edits": reverse("grids-api:grid-edit"),
            "history": reverse("grids-api:grid-history", args=[CODE]),
        },
        "placeholder": CODE,
        "starts": starts,
        "levels": levels,
        "gridTypes": [{"value": value, "label": str(label)} for value, label in GridType.choices],
        "lang": get_language() or "zh-hans",
    }
    return render(request, "grids/editor.html", {"config": config})

"""Pages of the grids app: the city map (home) and the planner's grid editor."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, pgettext

from geogrid.accounts.models import Role
from geogrid.core.permissions import role_required
from geogrid.grids import workload
from geogrid.grids.city_features import BOUNDARY_KINDS
from geogrid.grids.models import Grid, GridLevel, GridScope, GridSource, GridType
from geogrid.reference.models import ReferenceFeature


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
                "pageSize": HOME_PAGE_SIZE,
                "maxPages": HOME_MAX_PAGES,
            },
        },
    )


CODE = "000000"  # placeholder in URL templates; the script puts the grid code there
# The city map reads a level's grids (unit grids: those in view) page by page, this many a page
# and at most this many pages; past that it asks to zoom in.
HOME_PAGE_SIZE = 1000
HOME_MAX_PAGES = 5


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
        "divide": divide_options(roots, levels[-1]["depth"] if levels else 0),
    }
    return render(request, "grids/editor.html", {"config": config})


# Most parents the page lists as having roads, water or walls loaded (a city has far fewer
# districts, streets and communities).
MAX_FEATURE_PARENTS = 5_000


def inspectors_under(scope: Any, leaf_depth: int) -> dict[str, int]:
    """Per parent in scope (above the unit grids), how many active inspectors have it, or a grid
    inside it, in their scope: the divide form's "one grid per inspector" starts from it."""
    scoped = (
        GridScope.objects.filter(user__role=Role.INSPECTOR, user__is_active=True)
        .values_list("grid__code", "user_id")
        .distinct()
    )
    lengths = sorted({lv.code_length for lv in GridLevel.objects.filter(depth__lt=leaf_depth)})
    users: dict[str, set[int]] = {}
    for code, user in scoped:
        for length in lengths:
            if length <= len(code):
                users.setdefault(code[:length], set()).add(user)
    if not users:
        return {}
    # The grids above the unit level: a city has hundreds, not the unit grids' thousands.
    parents = scope.filter(level__depth__lt=leaf_depth).values_list("code", flat=True)
    return {code: len(users[code]) for code in parents[:MAX_FEATURE_PARENTS] if code in users}


def divide_options(scope: Any, leaf_depth: int) -> dict[str, Any]:
    """What the divide form offers (docs/domain.md §2.7): the parents in scope over which
    roads, water or walls are loaded (dividing along features needs them), the workload
    sources to balance by, the default tolerance and how many months of reports count."""
    boundary_features = ReferenceFeature.objects.filter(
        kind__in=[str(k) for k in BOUNDARY_KINDS], geom__intersects=OuterRef("geom")
    )
    with_features = (
        scope.filter(level__depth__lt=leaf_depth)
        .filter(Exists(boundary_features))
        .order_by("code")
        .values_list("code", flat=True)[:MAX_FEATURE_PARENTS]
    )
    # Capitalised as checkbox labels in English (the plain words are lower-case elsewhere).
    labels = {
        "components": pgettext("workload source", "部件"),
        "reports": pgettext("workload source", "案件"),
        "population": pgettext("workload source", "人口"),
    }
    return {
        "featureParents": list(with_features),
        "inspectors": inspectors_under(scope, leaf_depth),
        "sources": [
            {"name": name, "label": labels.get(name, workload.label_of(name))}
            for name in workload.available_sources()
        ],
        "tolerance": settings.GEOGRID_DIVISION_TOLERANCE,
        "reportMonths": settings.GEOGRID_DIVISION_REPORT_MONTHS,
    }

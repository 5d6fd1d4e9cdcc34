"""Pages of the components app: the inspector's component finder (监督员部件查询)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from geogrid.components.api import STATUS_ROLES
from geogrid.core.permissions import has_role

CODE = "__code__"
# From this zoom on, with no search active, the components in view are loaded (bbox query).
BROWSE_MIN_ZOOM = 17


@login_required
def inspector_page(request: HttpRequest) -> HttpResponse:
    """Find components by code, name or class, near a point or in the user's own grids; open
    one to read its decoded code and departments, and (for roles that may) change its status.
    Everything else comes from the components API; the page only gets its configuration."""
    user = request.user
    grids = [
        {"code": code, "name": name}
        for code, name in user.grid_scopes.order_by("grid__code").values_list(
            "grid__code", "grid__name"
        )
    ]
    can_change_status = has_role(user, *STATUS_ROLES)
    config = {
        # URLs with a placeholder code: the script substitutes the real one.
        "urls": {
            "components": reverse("components-api:component-list"),
            "component": reverse("components-api:component-detail", args=[CODE]),
            "status": reverse("components-api:component-status", args=[CODE]),
            "photos": reverse("components-api:component-photos", args=[CODE]),
            "explain": reverse("grids-api:code-explain", args=[CODE]),
            "grids": reverse("grids-api:grid-list"),
            "grid": reverse("grids-api:grid-detail", args=[CODE]),
        },
        "placeholder": CODE,
        "myGrids": grids,
        # Admins always may (has_role); the API still checks role and scope on every change.
        "canChangeStatus": can_change_status,
        "browseMinZoom": BROWSE_MIN_ZOOM,
        "maxPhotoMB": settings.GEOGRID_MAX_PHOTO_MB,
    }
    return render(
        request,
        "components/inspector.html",
        {
            "config": config,
            "my_grids": grids,
            "can_change_status": can_change_status,
            "max_photo_mb": settings.GEOGRID_MAX_PHOTO_MB,
        },
    )

"""The inspector's field app (巡查): the page, and the two files that make the inspector's pages
an installable web app that works offline — the web app manifest and the service worker
(docs/architecture.md §11.5).

The page gets only its configuration; the grids, components, categories and visits come from
the API, which the service worker keeps for when the network is gone, and everything the
inspector does is written to a queue on the phone (static/js/patrols/outbox.js) that is sent
when the network returns.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geogrid.accounts.models import Role
from geogrid.core.permissions import role_required
from geogrid.grids.assignment import leaf_level_slug

SERVICE_WORKER = "js/patrols/sw.js"
PLACEHOLDER = "__id__"


@login_required
@role_required(Role.INSPECTOR, action="walk patrols")
def field_app(request: HttpRequest) -> HttpResponse:
    """Start and stop a patrol, see the track over the grids, what is still to visit today,
    look components up by code, report problems with photos — online or not."""
    user = request.user
    scope = list(user.grid_scopes.order_by("grid__code").values_list("grid__code", "grid__name"))
    config = {
        # The queue on the phone belongs to this account: another account logging in on the
        # same phone never sends it (outbox.js keeps one queue per user id).
        "user": user.pk,
        "scope": [{"code": code, "name": name} for code, name in scope],
        "urls": {
            "grids": reverse("grids-api:grid-list"),
            "components": reverse("components-api:component-list"),
            "classes": reverse("cases-api:case-class-list"),
            "cases": reverse("cases-api:case-list"),
            "patrols": reverse("patrols-api:patrol-list"),
            "points": reverse("patrols-api:patrol-points", args=[0]).replace(
                "/0/", f"/{PLACEHOLDER}/"
            ),
            "end": reverse("patrols-api:patrol-end", args=[0]).replace("/0/", f"/{PLACEHOLDER}/"),
            "coverage": reverse("patrols-api:patrol-coverage"),
            "visits": reverse("patrols-api:patrol-visits"),
            "serviceWorker": reverse("service-worker"),
        },
        "placeholder": PLACEHOLDER,
        "leafLevel": leaf_level_slug() or "unit",
        # Other pages kept for offline use besides this one (their own data is kept as read).
        "keep": [
            reverse("inspector"),
            static("img/geogrid-192.png"),
            static("img/geogrid-512.png"),
        ],
        # Fixes are kept at most this often, and sent in batches this often (docs/domain.md §8.1).
        "fixEverySeconds": settings.GEOGRID_PATROL_FIX_EVERY_S,
        "sendEverySeconds": settings.GEOGRID_PATROL_SEND_EVERY_S,
        "maxPhotoMB": settings.GEOGRID_MAX_PHOTO_MB,
        "maxPhotos": settings.GEOGRID_MAX_PHOTOS,
    }
    return render(request, "patrols/field.html", {"config": config, "scope": scope})


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: what a phone needs to install the inspector's pages."""
    answer = JsonResponse(
        {
            "name": _("GeoGrid 网格巡查"),
            "short_name": _("网格巡查"),
            "description": _("监督员巡查、部件查询与问题上报，无网络时也能使用。"),
            "start_url": reverse("patrol-field"),
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": "#12355b",
            "lang": request.LANGUAGE_CODE,
            "icons": [
                {"src": static("img/geogrid-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("img/geogrid-512.png"), "sizes": "512x512", "type": "image/png"},
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )
    answer["Content-Type"] = "application/manifest+json"
    return answer


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the site's root so that it may control every page
    (a worker only controls the paths below its own URL). Never cached by HTTP: a new
    version must reach the phones on their next visit."""
    found = finders.find(SERVICE_WORKER)
    if found:
        with open(found, "rb") as handle:
            body = handle.read()
    else:  # a production server: the collected static files
        with staticfiles_storage.open(SERVICE_WORKER) as handle:
            body = handle.read()
    answer = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    answer["Service-Worker-Allowed"] = "/"
    answer["Cache-Control"] = "no-cache"
    return answer

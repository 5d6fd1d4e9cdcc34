"""URL map: pages, /api/v1/ (REST), /api/schema/ (OpenAPI), /admin/."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView

from geogrid.accounts import api as account_api
from geogrid.accounts import views as account_views
from geogrid.cases import views as case_views
from geogrid.command_center import patrol_views as command_center_patrol_views
from geogrid.command_center import views as command_center_views
from geogrid.components import views as component_views
from geogrid.core import health
from geogrid.core.views import media
from geogrid.grids import views as grid_views
from geogrid.patrols import views as field_views
from geogrid.tiles import views as tile_views

# A database failure outside a view answers 503, not 500 (geogrid/core/db.py).
handler500 = "geogrid.core.views.server_error"

urlpatterns = [
    path("", grid_views.home, name="home"),
    path("grids/editor/", grid_views.editor, name="grid-editor"),
    path("inspector/", component_views.inspector_page, name="inspector"),
    path("patrol/", field_views.field_app, name="patrol-field"),
    # The inspector's pages as an installable, offline web app (docs/architecture.md §11.5).
    path("sw.js", field_views.service_worker, name="service-worker"),
    path("manifest.webmanifest", field_views.manifest, name="web-manifest"),
    path("cases/desk/", case_views.desk, name="case-desk"),
    path("cases/inbox/", case_views.inbox, name="case-inbox"),
    path("cases/checks/", case_views.checks, name="case-checks"),
    path("cases/report/", case_views.report, name="case-report"),
    path("command-center/", command_center_views.dashboard, name="command-center"),
    path(
        "command-center/patrols/",
        command_center_patrol_views.patrols_page,
        name="command-center-patrols",
    ),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("login/code/", account_views.login_code, name="login-code"),
    path("account/2fa/", account_views.two_factor_setup, name="two-factor"),
    path("account/2fa/qr.svg", account_views.two_factor_qr, name="two-factor-qr"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' words (djangojs catalogue): public, GET only, cached per language.
    path(
        "jsi18n/",
        require_GET(cache_page(60 * 60, key_prefix="jsi18n")(JavaScriptCatalog.as_view())),
        name="javascript-catalog",
    ),
    # The admin logs in through the site's own throttled, two-factor log-in.
    path("admin/login/", account_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("geogrid.grids.urls")),
    path("api/v1/", include("geogrid.patrols.urls")),
    path("api/v1/", include("geogrid.components.urls")),
    path("api/v1/", include("geogrid.cases.urls")),
    path("api/v1/", include("geogrid.command_center.urls")),
    path("open311/v2/", include("geogrid.cases.open311_urls")),
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf", tile_views.tile, name="tile"),
    path("tiles/<str:layer>.json", tile_views.tilejson, name="tilejson"),
    path("api/v1/auth/token/", account_api.ObtainTokenView.as_view(), name="api-token"),
    path("api/v1/auth/logout/", account_api.LogoutView.as_view(), name="api-logout"),
    path("api/v1/auth/logout-all/", account_api.LogoutAllView.as_view(), name="api-logout-all"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Probes (geogrid/core/health.py); served by ProbeMiddleware before host validation.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
# Uploaded photos (var/media), always through the view that applies the owning object's access
# rule (core/privacy.py); GEOGRID_MEDIA_ACCEL lets nginx or apache send the bytes afterwards.
urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", media, name="media"))

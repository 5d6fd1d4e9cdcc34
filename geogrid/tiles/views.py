"""`/tiles/<layer>/<z>/<x>/<y>.pbf` and `/tiles/<layer>.json` (TileJSON 3.0.0).

Caching: every response carries an ETag made of the layer's data version (a row that every
write to its tables advances in its own transaction, migrations/0001 and 0003) and the filters; `Cache-Control: no-cache`
makes clients and proxies revalidate, and a request whose If-None-Match still matches gets a
304 without the tile being computed — so an edit is visible on the very next request, and an
unchanged tile costs one tiny query.

Seeded tiles: the grids layer without filters is read from tiles_seededtile when `seed_tiles`
rendered that tile at the layer's current version (geogrid.tiles.seeding), in the same query
as the version; otherwise it is rendered as every other tile. `X-Tile-Source` says which.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from geogrid.accounts.models import CITY_WIDE_ROLES
from geogrid.cases.models import CaseStatus
from geogrid.cases.querysets import CaseScope, case_scope
from geogrid.cases.workflow import OPEN_STATUSES
from geogrid.components.models import ComponentStatus
from geogrid.core import params as qp
from geogrid.core.db import raw_cursor
from geogrid.core.permissions import user_role
from geogrid.core.replica import read_from_replica
from geogrid.grids.models import Grid, GridLevel
from geogrid.reference.models import ReferenceLayer
from geogrid.tiles.layers import DEFAULT_FILTERS, LAYERS, Layer, tile_in_range
from geogrid.tiles.seeding import SEEDED_TILE_SQL

MVT = "application/vnd.mapbox-vector-tile"


class TileError(ValueError):
    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def _error(exc: TileError) -> JsonResponse:
    body = {
        "error": "bad_request"
        if exc.status == 400
        else "forbidden"
        if exc.status == 403
        else "not_found",
        "detail": str(exc),
    }
    if exc.field:
        body["field"] = exc.field
    return JsonResponse(body, status=exc.status, json_dumps_params={"ensure_ascii": False})


def _layer(name: str) -> Layer:
    layer = LAYERS.get(name)
    if layer is None:
        raise TileError(
            404, f"There is no tile layer {name!r}; the layers are: {', '.join(LAYERS)}."
        )
    return layer


def _authorise(request: HttpRequest, layer: Layer) -> None:
    # A public layer never looks at the user: reading request.user loads the session, and the
    # session middleware then adds `Vary: Cookie`, which would make shared caches keep one copy
    # of a public tile per visitor.
    if layer.public and settings.GEOGRID_PUBLIC_READ_API:
        return
    role = user_role(request.user)
    if role is None:
        raise TileError(403, f"Log in to see the {layer.name} layer.")
    if not role:
        raise TileError(
            403,
            f"Your account has no role yet: an administrator grants one "
            f"before you see the {layer.name} layer.",
        )
    if layer.readers is not None and role not in layer.readers:
        raise TileError(
            403,
            f"The {layer.name} layer is for the command center (operators, viewers, admins) "
            "and for inspectors, who see their own.",
        )
    if layer.city_wide_only and role not in CITY_WIDE_ROLES:
        raise TileError(
            403,
            f"The {layer.name} layer shows every case of the city: it is for "
            "the command center (operators, viewers, admins).",
        )


def _filters(request: HttpRequest, layer: Layer) -> dict:
    """The layer's query parameters, checked; unknown ones are an error (a typo would
    otherwise silently show everything)."""
    unknown = sorted(set(request.GET) - set(layer.filters) - {"v"})
    if unknown:
        raise TileError(
            400,
            f"Unknown parameter {unknown[0]!r} for the {layer.name} layer; it "
            f"takes: {', '.join(layer.filters) or 'none'}.",
        )
    params: dict = dict(DEFAULT_FILTERS)
    code = qp.text(request.GET, "class", default="", max_length=20)
    if code:
        if not code.isalnum() or len(code) > 8:
            raise TileError(400, f"'class' must be a class code such as 01001, not {code!r}.")
        params["class"] = code
    statuses = qp.texts(request.GET, "status")
    if statuses:
        allowed = (
            ComponentStatus.values if layer.name == "components" else [*CaseStatus.values, "open"]
        )
        wrong = [s for s in statuses if s not in allowed]
        if wrong:
            raise TileError(400, f"Unknown status {wrong[0]!r}; use: {', '.join(allowed)}.")
        if "open" in statuses:
            statuses = [s for s in statuses if s != "open"] + [str(s) for s in OPEN_STATUSES]
        params["status"] = statuses
    params["since"], params["until"] = qp.period(request.GET)
    level = qp.text(request.GET, "level", default="", max_length=30)
    if level:
        if not GridLevel.objects.filter(slug=level).exists():
            levels = ", ".join(GridLevel.objects.order_by("depth").values_list("slug", flat=True))
            raise TileError(400, f"Unknown level {level!r}; use one of: {levels}.")
        params["level"] = level
    if layer.name == "tracks":
        # One local day (default today): a day's tracks are what a map shows at once.
        day = qp.day(request.GET, "day") or timezone.localdate()
        start = timezone.make_aware(datetime.combine(day, time.min))
        params["day_start"], params["day_end"] = start, start + timedelta(days=1)
        params["inspector"] = qp.integer(request.GET, "inspector")
    return params


def _track_scope(request: HttpRequest, layer: Layer) -> TrackScope | None:
    """Whose tracks the reader sees: every patrol (city-wide roles), or their own."""
    if layer.name != "tracks":
        return None
    if user_role(request.user) in CITY_WIDE_ROLES:
        return TrackScope(None)
    return TrackScope(request.user.pk)


@dataclass(frozen=True)
class TrackScope:
    """The tracks layer's reader rule as a value: None for every patrol, else one user's."""

    inspector_id: int | None

    @property
    def key(self) -> str:
        return "all" if self.inspector_id is None else f"u{self.inspector_id}"


def data_version(layer: Layer) -> int:
    """The layer's data version, read before the tile in a statement of its own. The version
    row is updated by the writers' own transactions (migrations/0003), so a version seen here
    is committed with its data, and the tile's later snapshot holds at least that data: an
    ETag never names data older than it. (Sending both in psycopg's pipeline mode measured
    slower: its Python bookkeeping costs more than the ~0.1 ms round trip it saves.)"""
    sql, args = layer.version_query()
    with raw_cursor() as cursor:
        return cursor.execute(sql, args, prepare=True).fetchone()[0]


def _version_and_seeded_tile(
    layer: Layer, z: int, x: int, y: int
) -> tuple[int, tuple[bytes, int] | None]:
    """The layer's data version and, when `seed_tiles` rendered this tile at that very version,
    the tile and its feature count. One snapshot: a seeded tile is never older than the ETag."""
    with raw_cursor() as cursor:
        version, body, features = cursor.execute(
            SEEDED_TILE_SQL,
            {
                "version_layer": layer.version_row,
                "layer": layer.name,
                "z": z,
                "x": x,
                "y": y,
            },
            prepare=True,
        ).fetchone()
    return version, (None if body is None else (bytes(body), features))


def _scope_parameters(scope: CaseScope) -> dict:
    return {
        "everything": scope.everything,
        "prefixes": [p + "%" for p in scope.prefixes],
        "departments": list(scope.departments),
        "reporter": scope.reporter_id,
    }


def _etag(
    layer: Layer,
    version: int,
    request: HttpRequest,
    scope: CaseScope | TrackScope | None = None,
    params: dict | None = None,
) -> str:
    query = urlencode(sorted((k, v) for k, v in request.GET.items() if k != "v"))
    if scope is not None:
        query += "#" + scope.key
    if params is not None and params.get("day_start") is not None:
        # The day a request without `day` means changes at midnight, its data version not.
        query += "#" + params["day_start"].isoformat()
    digest = hashlib.sha1(query.encode()).hexdigest()[:10]
    return f'"{layer.name}-{version}-{digest}"'


def _public_layer(request: HttpRequest, layer: str, **kwargs: object) -> bool:
    spec = LAYERS.get(layer)
    return spec is not None and spec.public


# Public layers may be a moment old (a read replica); staff layers read the primary, so an
# editor sees the change just made.
@require_GET
@read_from_replica(when=_public_layer)
def tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    try:
        spec = _layer(layer)
        _authorise(request, spec)
        if not tile_in_range(z, x, y, settings.GEOGRID_TILE_MAX_ZOOM):
            raise TileError(
                404,
                f"There is no tile {z}/{x}/{y}: zoom runs 0…"
                f"{settings.GEOGRID_TILE_MAX_ZOOM}, x and y 0…2^zoom − 1.",
            )
        params = _filters(request, spec)
    except qp.ParamError as exc:
        return _error(TileError(400, str(exc), field=exc.field))
    except TileError as exc:
        return _error(exc)
    # The heat layer counts only the cases the reader may see (city-wide roles: all).
    scope = case_scope(request.user) if spec.name == "heat" else None
    tracks = _track_scope(request, spec)
    seeded: tuple[bytes, int] | None = None
    if spec.seedable and set(request.GET) <= {"v"}:
        # The version and the seeded tile of that version (if any) in one statement.
        version, seeded = _version_and_seeded_tile(spec, z, x, y)
    else:
        version = data_version(spec)
    etag = _etag(spec, version, request, scope or tracks, params)
    private = "private" if not spec.public else "public"
    cap = settings.GEOGRID_TILE_MAX_FEATURES
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    elif seeded is not None:
        body, count = seeded
        response = HttpResponse(body, content_type=MVT)
        response["X-Tile-Source"] = "seeded"
    else:
        values = spec.values(z, x, y, params, cap=cap)
        if scope is not None:
            values.update(_scope_parameters(scope))
        if tracks is not None:
            values["viewer"] = tracks.inspector_id
        with raw_cursor() as cursor:
            body, count = cursor.execute(spec.sql(z), values, prepare=True).fetchone()
        response = HttpResponse(bytes(body or b""), content_type=MVT)
        response["X-Tile-Source"] = "rendered"
    if not isinstance(response, HttpResponseNotModified):
        response["X-Tile-Features"] = str(count)
        if count >= cap:
            response["X-Tile-Truncated"] = f"{cap} features at most per tile"
    response["ETag"] = etag
    response["Cache-Control"] = f"{private}, no-cache"
    response["Vary"] = "Cookie, Authorization" if not spec.public else "Accept-Encoding"
    return response


# The basemap's TileJSON is read on every map page: its bounds come from the planner's
# statistics of the 3857 copy (no scan; as fresh as the last ANALYZE), and only when there are
# none yet from the copy itself.
REFERENCE_EXTENT_SQL = """
SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
FROM (SELECT ST_Transform(ST_SetSRID(coalesce(
          ST_EstimatedExtent('tiles_reference', 'geom'),
          (SELECT ST_Extent(geom) FROM tiles_reference))::geometry, 3857), 4326) AS b) e
"""


def _reference_extent() -> tuple[float, float, float, float] | None:
    with raw_cursor() as cursor:
        row = cursor.execute(REFERENCE_EXTENT_SQL).fetchone()
    return None if row[0] is None else row


@require_GET
@read_from_replica(when=_public_layer)
def tilejson(request: HttpRequest, layer: str) -> HttpResponse:
    try:
        spec = _layer(layer)
        _authorise(request, spec)
        _filters(request, spec)
    except qp.ParamError as exc:
        return _error(TileError(400, str(exc), field=exc.field))
    except TileError as exc:
        return _error(exc)
    query = urlencode(sorted(request.GET.items()))
    template = (
        request.build_absolute_uri(f"/tiles/{spec.name}/")
        + "{z}/{x}/{y}.pbf"
        + (f"?{query}" if query else "")
    )
    extra: dict = {}
    if spec.name == "reference":
        # The basemap covers what was imported, and credits its sources (an OpenStreetMap
        # extract's licence asks for it on the map).
        extent = _reference_extent()
        credits = (
            ReferenceLayer.objects.exclude(attribution="")
            .order_by("attribution")
            .values_list("attribution", flat=True)
            .distinct()
        )
        extra["attribution"] = "; ".join(credits)
    else:
        extent = (
            Grid.objects.active()
            .filter(parent__isnull=True)
            .aggregate(extent=Extent("geom"))["extent"]
        )
    bounds = [round(v, 6) for v in extent] if extent else [-180, -85.0511, 180, 85.0511]
    max_zoom = settings.GEOGRID_TILE_MAX_ZOOM
    layers = spec.sublayers or ((spec.name, 0, tuple(spec.fields)),)
    return JsonResponse(
        {
            "tilejson": "3.0.0",
            "name": f"GeoGrid {spec.name}",
            "scheme": "xyz",
            "tiles": [template],
            "minzoom": 0,
            "maxzoom": max_zoom,
            "bounds": bounds,
            "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 13],
            "vector_layers": [
                {
                    "id": name,
                    "fields": {key: spec.fields[key] for key in keys},
                    "minzoom": min(first, max_zoom),
                    "maxzoom": max_zoom,
                }
                for name, first, keys in layers
            ],
            "version": str(data_version(spec)),
            **extra,
        },
        json_dumps_params={"ensure_ascii": False},
    )

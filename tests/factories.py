"""Factories with fixed shapes (no randomness). All grids are built through the services (the
`city` fixture's small city once per process, then copied: `copied_small_city`)."""

from __future__ import annotations

from pathlib import Path

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from geogrid.accounts.models import Role, User
from geogrid.grids.models import Grid, GridLevel, GridScope
from geogrid.grids.services.editing import create_grid, create_grids, ensure_default_levels
from geogrid.grids.validation import Candidate
from tests.geometry import rect, square


def levels() -> dict[str, GridLevel]:
    ensure_default_levels()
    return {level.slug: level for level in GridLevel.objects.all()}


def user(username: str, role: str = Role.VIEWER, *, scope: list[Grid] | None = None) -> User:
    account = User.objects.create_user(username=username, password="pw-" + username, role=role)
    for grid in scope or []:
        GridScope.objects.create(user=account, grid=grid)
    return account


def _reference_models() -> tuple[type[Model], ...]:
    from geogrid.cases.models import CalendarDay, CaseClass
    from geogrid.components.models import ComponentClass, Department

    # In the order their foreign keys need.
    return (Department, ComponentClass, CaseClass, CalendarDay)


# The tables as first loaded in this process (COPY's text format), to put back after a flush.
_reference_copies: dict[str, bytes] = {}


def load_reference_data() -> None:
    """The reference data as shipped in gis_data/: departments, both component and both case
    taxonomies, the holiday calendar. tests/conftest.py loads it once per test database."""
    reference_data("gbt47678", "cjt214")
    with connection.cursor() as cursor:
        for model in _reference_models():
            table = model._meta.db_table
            with cursor.cursor.copy(f"COPY {table} TO STDOUT") as copy:
                _reference_copies[table] = b"".join(bytes(block) for block in copy)


def ensure_reference_data() -> None:
    """Put the reference data back if something committed its removal (a transactional test's
    final flush empties every table). The rows go back as first loaded, keys and all, through
    a connection of their own that commits them: inside the test's transaction they would be
    rolled back with it, and the next test would have to load them again."""
    tables = [model._meta.db_table for model in _reference_models()]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"SELECT EXISTS (SELECT FROM {t})" for t in tables))
        if all(present for (present,) in cursor.fetchall()):
            return
    if not _reference_copies:
        load_reference_data()
        return
    own = connection.get_new_connection(connection.get_connection_params())
    try:
        with own.transaction(), own.cursor() as cursor:
            for table in tables:
                cursor.execute(f"SELECT EXISTS (SELECT FROM {table})")
                if not cursor.fetchone()[0]:
                    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(_reference_copies[table])
    finally:
        own.close()


def reference_data(*schemes: str) -> None:
    """What cases need besides grids, as shipped in gis_data/: departments, the component and
    case taxonomies of `schemes` (default: the GB/T 47678 one) and the holiday calendar."""
    from django.conf import settings

    from geogrid.cases.calendar import load_calendar
    from geogrid.cases.taxonomy import load_case_classes
    from geogrid.components.taxonomy import load_component_classes, load_departments

    load_departments()
    for scheme in schemes or ("gbt47678",):
        load_component_classes(scheme)
        load_case_classes(scheme)
    load_calendar(path=Path(settings.BASE_DIR) / "gis_data" / "calendar" / "cn-holidays.csv")


def small_city(
    actor: User | None = None, *, district_code: str = "110101", x0: float = 0.0
) -> dict[str, Grid]:
    """A fixed little city, built through the services (metres from ORIGIN; x0 shifts east).

    district   [x0, 0] – [x0+400, 200], code `district_code`
    streets    …001 west half, …002 east half (200 m × 200 m each)
    communities …001001 = the west street, …002001 = the east street
    unit grids  the west community as a 2×2 block of 100 m × 100 m cells, numbered
                NW 001, NE 002, SW 003, SE 004 (west→east, then north→south)
    """
    lv = levels()
    district = create_grid(
        actor=actor,
        level=lv["district"],
        geom=rect(x0, 0, x0 + 400, 200),
        code=district_code,
        name="东城区",
    )
    west = create_grid(
        actor=actor,
        level=lv["street"],
        parent=district,
        geom=rect(x0, 0, x0 + 200, 200),
        code=district_code + "001",
        name="西街道",
    )
    east = create_grid(
        actor=actor,
        level=lv["street"],
        parent=district,
        geom=rect(x0 + 200, 0, x0 + 400, 200),
        code=district_code + "002",
        name="东街道",
    )
    west_c = create_grid(
        actor=actor,
        level=lv["community"],
        parent=west,
        geom=rect(x0, 0, x0 + 200, 200),
        name="西社区",
    )
    east_c = create_grid(
        actor=actor,
        level=lv["community"],
        parent=east,
        geom=rect(x0 + 200, 0, x0 + 400, 200),
        name="东社区",
    )
    cells = [
        rect(x0 + 100 * i, 100 * j, x0 + 100 * (i + 1), 100 * (j + 1))
        for j in (1, 0)
        for i in (0, 1)
    ]
    units = create_grids(
        actor=actor, level=lv["unit"], parent=west_c, candidates=[Candidate(geom=c) for c in cells]
    )
    grids = {"district": district, "west": west, "east": east, "west_c": west_c, "east_c": east_c}
    for unit in units:
        grids[unit.code] = unit
    return grids


__all__ = ["levels", "user", "reference_data", "small_city", "square", "rect"]


# What small_city writes besides the trigger-kept tables (tiles_grid, the layer versions), with
# the columns that name the acting user and the moment of the edit.
_CITY_TABLES = {
    "grids_grid": (None, ("valid_from", "created_at", "updated_at")),
    "grids_gridboundary": ("changed_by_id", ("valid_from",)),
    "grids_gridevent": ("actor_id", ("created_at",)),
}
# The first city of this process: each table's columns and rows (COPY's text format), and the
# fixture's keys → grid ids.
_city_copy: dict[str, tuple[list[str], list[list[str]]]] = {}
_city_keys: dict[str, int] = {}
# Level ids as they were (a transactional test's flush empties grids_gridlevel and the next
# `levels` makes the rows again under new ids): id → slug.
_city_levels: dict[str, str] = {}


def copied_small_city(actor: User) -> dict[str, Grid]:
    """small_city(actor) (district 110101 at x0 = 0): built through the services the first time
    in this process and copied, rows and keys, afterwards, with this actor and this moment.
    Building it costs six service calls (~60 ms); the copy, three COPYs (~5 ms); the triggers
    fill the tile tables either way."""
    if not _city_copy:
        grids = small_city(actor)
        _city_keys.update({key: grid.pk for key, grid in grids.items()})
        _city_levels.update({str(level.pk): level.slug for level in GridLevel.objects.all()})
        ids = list(_city_keys.values())
        with connection.cursor() as cursor:
            for table in _CITY_TABLES:
                key = "id" if table == "grids_grid" else "grid_id"
                cursor.execute(f"SELECT * FROM {table} LIMIT 0")
                columns = [column.name for column in cursor.description]
                query = f"COPY (SELECT * FROM {table} WHERE {key} = ANY(%s) ORDER BY id) TO STDOUT"
                with cursor.cursor.copy(query, (ids,)) as copy:
                    text = b"".join(bytes(block) for block in copy).decode()
                _city_copy[table] = (columns, [line.split("\t") for line in text.splitlines()])
        return grids
    now = timezone.now().isoformat()
    level_ids = {level.slug: str(level.pk) for level in GridLevel.objects.all()}
    with connection.cursor() as cursor:
        for table, (user_column, time_columns) in _CITY_TABLES.items():
            columns, rows = _city_copy[table]
            replace = {columns.index(column): now for column in time_columns}
            if user_column:
                replace[columns.index(user_column)] = str(actor.pk)
            level = columns.index("level_id") if "level_id" in columns else None
            lines = (
                "\t".join(
                    level_ids[_city_levels[field]] if i == level else replace.get(i, field)
                    for i, field in enumerate(row)
                )
                + "\n"
                for row in rows
            )
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write("".join(lines).encode())
    grids = Grid.objects.in_bulk(list(_city_keys.values()))
    return {key: grids[pk] for key, pk in _city_keys.items()}


def reference_features(kind: str, feature_class: str, *shapes, name: str = "") -> None:
    """Reference features (storage CRS shapely shapes) in a test layer of their kind, written
    directly: what the division reads, without the import's file handling."""
    from django.contrib.gis.geos import GEOSGeometry

    from geogrid.reference.models import ReferenceFeature, ReferenceLayer

    layer, _ = ReferenceLayer.objects.get_or_create(
        name=f"test {kind}", defaults={"kind": kind, "source": "tests"}
    )
    ReferenceFeature.objects.bulk_create(
        ReferenceFeature(
            layer=layer,
            kind=kind,
            feature_class=feature_class,
            name=name,
            geom=GEOSGeometry(shape.wkb_hex, srid=4490),
        )
        for shape in shapes
    )


# The street map of the offline basemap's tests (metres from ORIGIN, over the small city):
# (name, class, shape) per layer, lines as lon/lat LineStrings, buildings as squares.
STREET_MAP_ROADS = (
    ("东长安街", "main", ((-200, 100), (600, 100))),
    ("南河沿大街", "street", ((300, -100), (300, 300))),
    ("小胡同", "lane", ((100, 0), (100, 200))),
)
STREET_MAP_BUILDINGS = (
    ("图书馆", (20, 120, 40)),
    ("邮局", (220, 20, 50)),
)


def street_map(actor: User | None = None) -> dict[str, object]:
    """A road layer (a main road, a street, a lane) and a building layer over the small city,
    imported through the service as `import_layer` does: {name: shapely shape in EPSG:4490}."""
    import numpy as np
    from shapely.geometry import LineString

    from geogrid.reference.services import LayerInput, import_layers
    from tests.geometry import to_lonlat

    roads = {name: to_lonlat(LineString(line)) for name, _, line in STREET_MAP_ROADS}
    buildings = {name: square(*box).geoms[0] for name, box in STREET_MAP_BUILDINGS}
    import_layers(
        actor=actor,
        layers=[
            LayerInput(
                name="测试道路",
                kind="roads",
                geoms=np.array(list(roads.values()), dtype=object),
                classes=np.array([cls for _, cls, _ in STREET_MAP_ROADS]),
                names=np.array(list(roads)),
                source="tests",
                attribution="© 测试测绘",
            ),
            LayerInput(
                name="测试建筑",
                kind="buildings",
                geoms=np.array(list(buildings.values()), dtype=object),
                classes=np.array(["building"] * len(buildings)),
                names=np.array(list(buildings)),
                source="tests",
            ),
        ],
    )
    return {**roads, **buildings}

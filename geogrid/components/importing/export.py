"""Exporting components: GeoPackage, GeoJSON or CSV with the GB/T 47678.5 table 2 attributes
(docs/domain.md §3.4), read with one query and written in the form the importer reads back."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from geogrid.components.importing.fields import DATA_SOURCE_LABELS, STATUS_LABELS
from geogrid.components.models import Component
from geogrid.core.srid import STORAGE_SRID
from geogrid.core.vectorfiles import write_frame
from geogrid.grids.models import Grid

EXPORT_FORMATS = {
    "gpkg": ("GPKG", ".gpkg"),
    "geojson": ("GeoJSON", ".geojson"),
    "csv": ("CSV", ".csv"),
}

EXPORT_SQL = """
SELECT c.code, c.name, cc.code, cd.code, cd.name, od.code, od.name, md.code, md.name, g.code,
       c.status, c.initial_date, c.change_date, c.data_source, c.notes, c.location_description,
       c.material, ST_AsBinary(c.geom)
FROM components_component c
JOIN components_componentclass cc ON cc.id = c.component_class_id
JOIN components_department cd ON cd.id = c.competent_department_id
LEFT JOIN components_department od ON od.id = c.owner_department_id
LEFT JOIN components_department md ON md.id = c.maintainer_department_id
LEFT JOIN grids_grid g ON g.id = c.grid_id
WHERE c.id IN ({ids})
ORDER BY c.district_code, c.code
"""
# The first ten columns, written as the query reads them: code, name, class, each department's
# code and name, the grid.
_CODES_AND_NAMES = [
    "GLBJBSM",
    "GLBJMC",
    "LBDM",
    "ZGBMDM",
    "ZGBMMC",
    "QSDWDM",
    "QSDWMC",
    "YHDWDM",
    "YHDWMC",
    "SZDYWGBSM",
]
# Columns of EXPORT_SQL, then the columns written (GB/T 47678.5 table 2 order, LBDM after the
# name, two plain-named extras the standard lacks).
EXPORT_SQL_COLUMNS = [
    *_CODES_AND_NAMES,
    "status",
    "initial_date",
    "change_date",
    "data_source",
    "BZ",
    "location_description",
    "material",
    "wkb",
]
EXPORT_COLUMNS = [
    *_CODES_AND_NAMES,
    "GLBJZT",
    "CSRQ",
    "BGRQ",
    "SJLY",
    "BZ",
    "SZJDDM",
    "SZJDMC",
    "SZSQDM",
    "SZSQMC",
    "location_description",
    "material",
]


def _yyyymmdd(values: pd.Series) -> pd.Series:
    text = pd.to_datetime(values).dt.strftime("%Y%m%d").astype(object)
    return text.where(values.notna(), None)


def export_frame(queryset: QuerySet[Component]) -> gpd.GeoDataFrame:
    """Components as a GeoDataFrame (EPSG:4490) with the GB/T 47678.5 table 2 attributes and
    LBDM: one query with joins, one more for the street and community names."""
    try:
        ids_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # e.g. Component.objects.none()
        rows = []
    else:
        with connection.cursor() as cursor:
            cursor.execute(EXPORT_SQL.format(ids=ids_sql), params)
            rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=EXPORT_SQL_COLUMNS, dtype=object)
    frame["GLBJZT"] = frame["status"].map(STATUS_LABELS)
    frame["SJLY"] = frame["data_source"].map(DATA_SOURCE_LABELS)
    frame["CSRQ"] = _yyyymmdd(frame["initial_date"])
    frame["BGRQ"] = _yyyymmdd(frame["change_date"])
    grid = frame["SZDYWGBSM"].fillna("").astype(str)
    frame["SZJDDM"] = grid.str.slice(0, 9).astype(object).where(grid != "", None)
    frame["SZSQDM"] = grid.str.slice(0, 12).astype(object).where(grid != "", None)
    prefixes = set(frame["SZJDDM"].dropna()) | set(frame["SZSQDM"].dropna())
    names = dict(Grid.objects.active().filter(code__in=prefixes).values_list("code", "name"))
    frame["SZJDMC"] = frame["SZJDDM"].map(names)
    frame["SZSQMC"] = frame["SZSQDM"].map(names)
    geometry = shapely.from_wkb([bytes(w) for w in frame["wkb"]]) if len(frame) else []
    return gpd.GeoDataFrame(
        frame[EXPORT_COLUMNS].astype(object), geometry=gpd.GeoSeries(geometry, crs=STORAGE_SRID)
    )


def export_components(*, queryset: QuerySet[Component], path: str | Path, fmt: str) -> int:
    """Write components to GeoPackage (EPSG:4490, one layer 'components' of the generic
    GEOMETRY type when kinds are mixed), GeoJSON (RFC 7946, labelled WGS84) or CSV (lon/lat of
    the point or a representative point, plus a WKT column, UTF-8 with BOM for Excel). Returns
    the number of components written."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use gpkg, geojson or csv.")
    driver, _suffix = EXPORT_FORMATS[fmt]
    frame = export_frame(queryset)
    path = Path(path)
    if fmt != "csv":
        write_frame(frame, path, driver=driver, layer="components", COORDINATE_PRECISION=9)
        return len(frame)
    if path.exists():
        path.unlink()
    geoms = np.asarray(frame.geometry.values, dtype=object)
    anchor = shapely.point_on_surface(geoms) if len(geoms) else np.zeros(0, object)
    xy = shapely.get_coordinates(anchor) if len(geoms) else np.zeros((0, 2))
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table["lon"], table["lat"] = xy[:, 0], xy[:, 1]
    table["WKT"] = shapely.to_wkt(geoms, rounding_precision=-1) if len(geoms) else []
    table.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.10f")
    return len(frame)

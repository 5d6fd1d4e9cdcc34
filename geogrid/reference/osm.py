"""Reading OpenStreetMap extracts (`.osm.pbf`, `.osm` XML) into reference rows, one set per kind
(docs/domain.md §9.2, docs/architecture.md §12).

GDAL's OSM driver (bundled with pyogrio) does the hard part: it assembles ways and multipolygon
relations into geometries and sorts them into layers. Two are read: `lines` (ways that are not
areas) and `multipolygons` (closed ways with an area tag, and multipolygon relations). Each has a
few tags as columns (`highway`, `building`, …) and every other tag in `other_tags`, a string in
PostgreSQL's hstore syntax (`"key"=>"value","k2"=>"v2"`, quotes and backslashes in keys and
values escaped with a backslash).

The tag rules keep what a planner would call a physical boundary on the ground: a road in a
tunnel, a covered passage, an indoor corridor or a way below ground level is not one, and is
dropped (counted per rule). Extracts cut at a bounding box hold ways whose nodes are missing;
GDAL then writes rings it cannot close or with too few points. Such a feature is not an error of
the file as a whole: it is reported as skipped, with the reason, and the rest is imported.
"""

from __future__ import annotations

import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyogrio.raw import read as ogr_read

from geogrid.core.vectorfiles import ImportFileError
from geogrid.reference.models import FeatureClass, LayerKind

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"

# --- The tag tables (docs/domain.md §9.2) ----------------------------------------------------
ROAD_CLASSES: dict[str, str] = {
    **dict.fromkeys(
        ("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"),
        FeatureClass.MAIN.value,
    ),
    **dict.fromkeys(
        ("secondary", "secondary_link", "tertiary", "tertiary_link"), FeatureClass.SECONDARY.value
    ),
    **dict.fromkeys(
        ("residential", "unclassified", "living_street", "road"), FeatureClass.STREET.value
    ),
    **dict.fromkeys(
        (
            "service",
            "pedestrian",
            "footway",
            "path",
            "steps",
            "track",
            "cycleway",
            "bridleway",
        ),
        FeatureClass.LANE.value,
    ),
}
# highway values that are not (yet, or not at all) a road on the ground.
ROAD_NOT_BUILT = ("construction", "proposed", "platform", "corridor", "elevator", "bus_stop")
WATER_LINE_CLASSES: dict[str, str] = {
    "river": FeatureClass.RIVER.value,
    "canal": FeatureClass.RIVER.value,
    "stream": FeatureClass.STREAM.value,
    "drain": FeatureClass.STREAM.value,
    "ditch": FeatureClass.STREAM.value,
}
WALL_CLASSES: dict[str, str] = dict.fromkeys(
    ("wall", "city_wall", "retaining_wall"), FeatureClass.WALL.value
)
RAILWAY_CLASSES: dict[str, str] = dict.fromkeys(
    ("rail", "light_rail", "narrow_gauge"), FeatureClass.RAILWAY.value
)
WATER_AREAS = {"natural": ("water",), "waterway": ("riverbank",), "landuse": ("reservoir", "basin")}
GREEN_AREAS = {
    "leisure": ("park", "garden", "nature_reserve"),
    "landuse": ("grass", "forest", "meadow", "village_green", "recreation_ground"),
    "natural": ("wood", "scrub", "grassland"),
}

# The reasons a way is dropped by the rules (counted, not listed: they are not errors).
DROP_UNDERGROUND = "in a tunnel, covered, indoors or below ground"
DROP_NOT_BUILT = "under construction, proposed, or not a road (platform, corridor…)"
DROP_DISUSED = "disused or abandoned"
DROP_SIDEWALK = "a sidewalk or crossing drawn beside its street"
# Sidewalks and crossings mapped as ways of their own run a few metres beside the street's
# centreline: a grid boundary belongs on the street, and the strip between the two lines would
# only make slivers (docs/domain.md §9.2).
SIDEWALK_FOOTWAYS = ("sidewalk", "crossing", "traffic_island")

LINE_COLUMNS = ["osm_id", "name", "highway", "waterway", "barrier", "railway", "other_tags"]
POLYGON_COLUMNS = [
    "osm_id",
    "osm_way_id",
    "name",
    "building",
    "landuse",
    "leisure",
    "natural",
    "other_tags",
]


def is_osm(path: Path) -> bool:
    return path.name.lower().endswith(OSM_SUFFIXES)


def is_none(values: np.ndarray) -> np.ndarray:
    """Elementwise "is None (or NaN)" of an object array, as booleans."""
    return np.asarray(pd.isna(np.asarray(values, dtype=object)), dtype=bool)


# --- other_tags ------------------------------------------------------------------------------
# One quoted hstore string: anything but a quote or a backslash, or a backslash-escaped character.
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_PAIR = re.compile(_QUOTED + r"\s*=>\s*(?:" + _QUOTED + r"|NULL)")
_ESCAPE = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


def parse_other_tags(text: str | None) -> dict[str, str]:
    """All tags of one `other_tags` value as a dict. Pairs that do not parse are skipped rather
    than failing the file (a NULL value, which GDAL does not write for OSM, becomes absent)."""
    if not text or not isinstance(text, str):
        return {}
    return {
        _unescape(match.group(1)): _unescape(match.group(2))
        for match in _PAIR.finditer(text)
        if match.group(2) is not None
    }


def tag_column(other_tags: pd.Series, key: str) -> pd.Series:
    """The value of one tag in every row's `other_tags` (None where absent), vectorised.

    The key must start the string or follow a comma: inside a value a quote is escaped
    (`\\"`), so `,"tunnel"=>"` in a value cannot be taken for the key."""
    pattern = r'(?:^|,)\s*"' + re.escape(key) + r'"\s*=>\s*' + _QUOTED
    values = other_tags.astype("string").str.extract(pattern, expand=False)
    values = values.str.replace(r"\\(.)", r"\1", regex=True)
    return values.astype(object).where(values.notna(), None)


def _lowest_level(levels: pd.Series) -> pd.Series:
    """The highest storey a `level` tag names ("-1", "-2;-1", "0;1", "-0.5"), NaN where none."""
    numbers = levels.astype("string").str.extractall(r"(-?\d+(?:\.\d+)?)")[0].astype(float)
    highest = numbers.groupby(level=0).max()
    return highest.reindex(levels.index)


# --- Reading --------------------------------------------------------------------------------
@dataclass
class OsmRows:
    """One kind's rows from the file, before the geometry checks of the import."""

    kind: str
    geoms: np.ndarray  # shapely geometries; None where the geometry could not be read
    classes: np.ndarray  # FeatureClass values
    names: np.ndarray  # str, '' when unnamed
    labels: np.ndarray  # "way 123", "relation 45": how the report names a row
    problems: np.ndarray  # None, or why the row cannot be imported (malformed geometry…)
    details: np.ndarray  # None, or what exactly (GEOS's message)


@dataclass
class OsmExtract:
    rows: dict[str, OsmRows]
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)  # kind → rule → count
    source_date: date | None = None


def _read_layer(path: Path, layer: str, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The columns of one layer as text and its WKB, through GDAL's OSM driver."""
    try:
        with warnings.catch_warnings():
            # "Non closed ring detected" and the like: the rings concerned are reported per
            # feature below.
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _fids, wkb, values = ogr_read(path, layer=layer, columns=columns)
    except Exception as exc:  # pyogrio raises several types for unreadable data
        raise ImportFileError(
            f"{path.name} could not be read as OpenStreetMap data: {exc}".strip()
        ) from exc
    frame = pd.DataFrame({name: values[i] for i, name in enumerate(meta["fields"])})
    for name in columns:
        if name not in frame:
            frame[name] = None
    frame = frame.astype(object).where(frame.notna(), None)
    return frame, np.asarray(wkb, dtype=object)


MALFORMED = "malformed geometry in the OpenStreetMap data (the extract probably lacks some nodes)"


def _geometries(wkb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapely geometries from GDAL's WKB, per row why it could not be read (None: read), and
    GEOS's message.

    Unclosed rings are closed (`on_invalid="fix"`); what cannot be built at all (a ring of two
    points, where the extract lacks the way's other nodes) becomes None with GEOS's reason."""
    geoms = shapely.from_wkb(wkb, on_invalid="fix")
    problems = np.full(len(wkb), None, dtype=object)
    details = np.full(len(wkb), None, dtype=object)
    unreadable = np.flatnonzero(shapely.is_missing(geoms) & ~is_none(wkb))
    for index in unreadable:  # only the malformed few: to name GEOS's reason
        problems[index] = MALFORMED
        try:
            shapely.from_wkb(wkb[index])
        except shapely.errors.GEOSException as exc:
            details[index] = str(exc).split(": ", 1)[-1]
    missing = shapely.is_missing(geoms) & is_none(problems)
    problems[missing] = "it has no geometry in the OpenStreetMap data"
    return geoms, problems, details


def _values_in(column: pd.Series, table: dict[str, str] | tuple[str, ...]) -> np.ndarray:
    return np.asarray(column.isin(list(table)), dtype=bool)


def _surface_only(other_tags: pd.Series) -> np.ndarray:
    """True where a way lies on the ground in the open: not in a tunnel, not covered, not
    indoors, not on a level below ground."""
    tunnel = tag_column(other_tags, "tunnel")
    covered = tag_column(other_tags, "covered")
    indoor = tag_column(other_tags, "indoor")
    location = tag_column(other_tags, "location")
    level = _lowest_level(tag_column(other_tags, "level"))
    below = (
        (tunnel.notna() & (tunnel != "no"))
        | (covered == "yes")
        | (indoor.notna() & (indoor != "no"))
        | (location == "underground")
        | (level < 0)
    )
    return ~np.asarray(below, dtype=bool)


def _labels(frame: pd.DataFrame) -> np.ndarray:
    osm_id = frame["osm_id"].astype(str)
    if "osm_way_id" in frame:  # multipolygons: a closed way, or a relation
        way = frame["osm_way_id"]
        labels: np.ndarray = np.where(
            way.notna(), "way " + way.astype(str), "relation " + osm_id
        ).astype(object)
        return labels
    return np.asarray(("way " + osm_id).to_numpy(dtype=object), dtype=object)


def _rows(
    kind: str,
    mask: np.ndarray,
    classes: np.ndarray,
    frame: pd.DataFrame,
    geoms: np.ndarray,
    problems: np.ndarray,
    details: np.ndarray,
) -> OsmRows:
    names = frame["name"].where(frame["name"].notna(), "").astype(str).to_numpy(dtype=object)
    return OsmRows(
        kind=kind,
        geoms=geoms[mask],
        classes=np.asarray(classes, dtype=object)[mask],
        names=names[mask],
        labels=_labels(frame)[mask],
        problems=problems[mask],
        details=details[mask],
    )


def _concat(kind: str, parts: list[OsmRows]) -> OsmRows:
    return OsmRows(
        kind=kind,
        **{
            name: np.concatenate([getattr(p, name) for p in parts]).astype(object)
            for name in ("geoms", "classes", "names", "labels", "problems", "details")
        },
    )


def read_osm(path: Path, kinds: list[str]) -> OsmExtract:
    """The rows of each requested kind in an OpenStreetMap file (see the module docstring)."""
    extract = OsmExtract(rows={}, source_date=replication_date(path))
    extract.dropped = {kind: {} for kind in kinds}
    lines_needed = {LayerKind.ROADS, LayerKind.WATER, LayerKind.WALLS} & set(kinds)
    areas_needed = {LayerKind.WATER, LayerKind.BUILDINGS, LayerKind.GREEN} & set(kinds)
    parts: dict[str, list[OsmRows]] = {kind: [] for kind in kinds}

    def drop(kind: str, rule: str, count: int) -> None:
        if count:
            extract.dropped[kind][rule] = extract.dropped[kind].get(rule, 0) + int(count)

    if lines_needed:
        lines, wkb = _read_layer(path, "lines", LINE_COLUMNS)
        wanted = (
            lines["highway"].notna()
            | lines["waterway"].notna()
            | lines["barrier"].notna()
            | lines["railway"].notna()
        )
        lines, wkb = lines[wanted].reset_index(drop=True), wkb[np.asarray(wanted)]
        geoms, problems, details = _geometries(wkb)
        tags = lines["other_tags"]
        surface = _surface_only(tags)
        if LayerKind.ROADS in kinds:
            highway = lines["highway"]
            road = _values_in(highway, ROAD_CLASSES)
            drop(LayerKind.ROADS, DROP_NOT_BUILT, _values_in(highway, ROAD_NOT_BUILT).sum())
            drop(LayerKind.ROADS, DROP_UNDERGROUND, (road & ~surface).sum())
            sidewalk = _values_in(tag_column(tags, "footway"), SIDEWALK_FOOTWAYS)
            drop(LayerKind.ROADS, DROP_SIDEWALK, (road & surface & sidewalk).sum())
            classes = highway.map(ROAD_CLASSES).to_numpy(dtype=object)
            kept = road & surface & ~sidewalk
            parts[LayerKind.ROADS].append(
                _rows(LayerKind.ROADS, kept, classes, lines, geoms, problems, details)
            )
        if LayerKind.WATER in kinds:
            waterway = lines["waterway"]
            water = _values_in(waterway, WATER_LINE_CLASSES)
            drop(LayerKind.WATER, DROP_UNDERGROUND, (water & ~surface).sum())
            classes = waterway.map(WATER_LINE_CLASSES).to_numpy(dtype=object)
            parts[LayerKind.WATER].append(
                _rows(LayerKind.WATER, water & surface, classes, lines, geoms, problems, details)
            )
            # An old-style riverbank drawn as a closed way without an area tag comes as a line:
            # its area is what it means.
            bank = np.asarray(waterway == "riverbank", dtype=bool)
            if bank.any():
                banks = np.full(len(geoms), None, dtype=object)
                banks[bank] = shapely.build_area(geoms[bank])
                bank_problems = problems.copy()
                unclosed = bank & (shapely.is_missing(banks) | shapely.is_empty(banks))
                bank_problems[unclosed & is_none(problems)] = (
                    "a riverbank drawn as a line that does not close into an area"
                )
                banks[unclosed] = None
                river = np.full(len(geoms), FeatureClass.RIVER.value, dtype=object)
                parts[LayerKind.WATER].append(
                    _rows(LayerKind.WATER, bank, river, lines, banks, bank_problems, details)
                )
        if LayerKind.WALLS in kinds:
            wall = _values_in(lines["barrier"], WALL_CLASSES)
            rail = _values_in(lines["railway"], RAILWAY_CLASSES)
            disused = np.asarray(
                tag_column(tags, "disused").isin(["yes"])
                | tag_column(tags, "abandoned").isin(["yes"]),
                dtype=bool,
            )
            drop(LayerKind.WALLS, DROP_UNDERGROUND, ((wall | rail) & ~surface).sum())
            drop(LayerKind.WALLS, DROP_DISUSED, (rail & surface & disused).sum())
            classes = np.where(
                wall,
                lines["barrier"].map(WALL_CLASSES).to_numpy(dtype=object),
                lines["railway"].map(RAILWAY_CLASSES).to_numpy(dtype=object),
            )
            keep = (wall | (rail & ~disused)) & surface
            parts[LayerKind.WALLS].append(
                _rows(LayerKind.WALLS, keep, classes, lines, geoms, problems, details)
            )
    if areas_needed:
        areas, wkb = _read_layer(path, "multipolygons", POLYGON_COLUMNS)
        waterway = tag_column(areas["other_tags"], "waterway")
        water = np.zeros(len(areas), dtype=bool)
        for key, values in WATER_AREAS.items():
            column = waterway if key == "waterway" else areas[key]
            water |= _values_in(column, values)
        green = np.zeros(len(areas), dtype=bool)
        for key, values in GREEN_AREAS.items():
            green |= _values_in(areas[key], values)
        building = np.asarray(areas["building"].notna() & (areas["building"] != "no"), dtype=bool)
        wanted = np.zeros(len(areas), dtype=bool)
        for kind, mask in (
            (LayerKind.WATER, water),
            (LayerKind.BUILDINGS, building),
            (LayerKind.GREEN, green),
        ):
            if kind in kinds:
                wanted |= mask
        # Only the wanted rows are parsed: most of a city's areas are buildings or nothing.
        geoms = np.full(len(areas), None, dtype=object)
        problems = np.full(len(areas), None, dtype=object)
        details = np.full(len(areas), None, dtype=object)
        geoms[wanted], problems[wanted], details[wanted] = _geometries(wkb[wanted])
        for kind, mask, klass in (
            (LayerKind.WATER, water, FeatureClass.RIVER.value),
            (LayerKind.BUILDINGS, building, FeatureClass.BUILDING.value),
            (LayerKind.GREEN, green, FeatureClass.PARK.value),
        ):
            if kind in kinds:
                classes = np.full(len(areas), klass, dtype=object)
                parts[kind].append(_rows(kind, mask, classes, areas, geoms, problems, details))
    extract.rows = {kind: _concat(kind, parts[kind]) for kind in kinds}
    return extract


# --- The file's date ---------------------------------------------------------------------------
def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, position


def _protobuf_fields(buffer: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    position = 0
    value: Any
    while position < len(buffer):
        key, position = _varint(buffer, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(buffer, position)
        elif wire == 2:
            length, position = _varint(buffer, position)
            value, position = buffer[position : position + length], position + length
        elif wire == 1:
            value, position = buffer[position : position + 8], position + 8
        elif wire == 5:
            value, position = buffer[position : position + 4], position + 4
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield number, value


def _pbf_timestamp(path: Path) -> datetime | None:
    """`osmosis_replication_timestamp` of a PBF's header block (OSM PBF format: a 4-byte length,
    a BlobHeader, then a Blob holding the HeaderBlock, field 32). GDAL does not expose it."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if len(head) < 4:
            return None
        (size,) = struct.unpack(">I", head)
        if size > 64 * 1024:
            return None
        header = dict(_protobuf_fields(handle.read(size)))
        if header.get(1) != b"OSMHeader" or not isinstance(header.get(3), int):
            return None
        if header[3] > 32 * 1024 * 1024:
            return None
        blob = dict(_protobuf_fields(handle.read(header[3])))
    if 1 in blob:
        block = blob[1]
    elif 3 in blob:
        block = zlib.decompress(blob[3])
    else:
        return None
    for number, value in _protobuf_fields(block):
        if number == 32 and isinstance(value, int) and value > 0:
            return datetime.fromtimestamp(value, tz=UTC)
    return None


_XML_TIMESTAMP = re.compile(
    rb'<(?:osm\b[^>]*\btimestamp|meta\b[^>]*\bosm_base)="(\d{4}-\d\d-\d\d)T', re.DOTALL
)


def replication_date(path: Path) -> date | None:
    """The date the extract's data is as of, when the file says (a PBF header's replication
    timestamp, an XML file's `<osm timestamp>` or Overpass `<meta osm_base>`), else None."""
    try:
        if path.name.lower().endswith(".pbf"):
            moment = _pbf_timestamp(path)
            return moment.date() if moment else None
        with path.open("rb") as handle:
            match = _XML_TIMESTAMP.search(handle.read(4096))
        return date.fromisoformat(match.group(1).decode()) if match else None
    except (OSError, ValueError, IndexError, zlib.error, struct.error):
        return None

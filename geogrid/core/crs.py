"""Input coordinate systems and conversion of user coordinates to the storage CRS (EPSG:4490).

GeoGrid stores every geometry as CGCS2000 geographic lon/lat (EPSG:4490). Coordinates reach the
API in whatever the caller's tool speaks: GPS and GeoJSON use WGS84 (EPSG:4326), survey data
uses a CGCS2000 3-degree Gauss-Krüger zone (EPSG:4513-4554), and maps from Amap/Tencent and
Baidu use the obfuscated GCJ-02 and BD-09 systems. This module turns all of them into EPSG:4490.

Design rules:

* Pure Python + numpy + pyproj; no Django import, so it is usable from scripts and tests.
* User-supplied CRS text is never handed to PROJ/GDAL. ``parse_crs`` recognises a fixed set of
  spellings and returns an ``InputCRS`` with an integer EPSG code from a whitelist; pyproj only
  ever sees that integer (GDAL < 3.9 cannot forbid file/network access while parsing strings).
* WGS84 and CGCS2000 are treated as identical. Both are geocentric realisations of nearly the
  same ellipsoid; the difference in China is well under a metre (mostly plate motion since
  CGCS2000's 2000.0 epoch), below the accuracy of the GPS and web-map input we receive.
* Every value is validated before conversion and every result after it, so bad input raises a
  ``CoordinateError`` with a message a person can act on instead of storing NaN or inf.

GCJ-02 and BD-09 are converted by core/gcj02.py; the errors and array types are in
core/coordinates.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import ArrayLike
from pyproj import Transformer

from geogrid.core.coordinates import (
    BoolArray,
    CoordinateError,
    CRSError,
    FloatArray,
    as_float_pair,
)
from geogrid.core.gcj02 import bd09_to_wgs84, gcj02_to_wgs84


@dataclass(frozen=True)
class InputCRS:
    """A validated input coordinate system.

    ``key`` is the canonical name ('epsg:4326', 'epsg:4548', 'gcj02', 'bd09'); ``epsg`` is the
    integer EPSG code or None for the non-EPSG Chinese web-map systems; ``label`` is a
    human-readable name; ``is_projected`` is True for Gauss-Krüger (x = easting, y = northing in
    metres) and False for lon/lat input (x = longitude, y = latitude in degrees).
    """

    key: str
    epsg: int | None
    label: str
    is_projected: bool


# The storage CRS; geogrid.core.srid.STORAGE_SRID names the same code for Django code.
_STORAGE_EPSG: Final = 4490
_WGS84_EPSG: Final = 4326

# CGCS2000 3-degree Gauss-Krüger, two families of EPSG codes for the same 21 zones (CM 75E-135E):
# 4513-4533 carry the zone number as an easting prefix (false easting zone*1e6 + 500000, zones
# 25-45); 4534-4554 are the "CM" form with false easting 500000.
_GK_ZONE_FIRST: Final = 4513
_GK_ZONE_LAST: Final = 4533
_GK_CM_FIRST: Final = 4534
_GK_CM_LAST: Final = 4554
_GK_FIRST_ZONE_NUMBER: Final = 25
_GK_FIRST_CM: Final = 75

# A GK easting more than this far from the false easting (about 9-12 degrees of longitude at
# Chinese latitudes, against a zone half-width of 1.5 degrees) is a wrong CRS or a wrong unit.
_GK_MAX_OFFSET_M: Final = 1_000_000.0
# The meridian distance from the equator to a pole on GRS80 is 10 001 965.73 m; a larger
# northing lies past the pole, where PROJ still returns (meaningless) numbers.
_GK_MAX_NORTHING_M: Final = 10_001_965.0
# Projected input is projected back after conversion; a larger disagreement means PROJ left the
# domain where the transverse Mercator series are valid.
_GK_ROUND_TRIP_TOLERANCE_M: Final = 0.01

SUPPORTED_CRS_HELP: Final = (
    "4326 (WGS84), 4490 (CGCS2000), 4513\u20134554 (CGCS2000 3\u00b0 Gauss-Kr\u00fcger), "
    "gcj02, bd09"
)

# Longest CRS text we bother to look at; anything longer is rejected without parsing.
_MAX_CRS_TEXT: Final = 100
_MAX_SHOWN_TEXT: Final = 40


# --------------------------------------------------------------------------------------------
# Parsing coordinate-system names
# --------------------------------------------------------------------------------------------

WGS84: Final = InputCRS(key="epsg:4326", epsg=4326, label="WGS84", is_projected=False)
CGCS2000: Final = InputCRS(key="epsg:4490", epsg=4490, label="CGCS2000", is_projected=False)
GCJ02: Final = InputCRS(
    key="gcj02", epsg=None, label="GCJ-02 (Amap/Tencent map coordinates)", is_projected=False
)
BD09: Final = InputCRS(
    key="bd09", epsg=None, label="BD-09 (Baidu map coordinates)", is_projected=False
)

# Names compared after lower-casing and dropping spaces, '-' and '_' ("GCJ-02" -> "gcj02").
_NAMED: Final[dict[str, InputCRS]] = {
    "wgs84": WGS84,
    "crs84": WGS84,
    "ogc:crs84": WGS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": WGS84,
    "urn:ogc:def:crs:ogc::crs84": WGS84,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": WGS84,
    "https://www.opengis.net/def/crs/ogc/1.3/crs84": WGS84,
    "cgcs2000": CGCS2000,
    "gcj02": GCJ02,
    "gcj": GCJ02,
    "bd09": BD09,
    "bd09ll": BD09,
    "baidu": BD09,
}

# [0-9] rather than \d: \d also matches non-ASCII digits such as Arabic-Indic ones.
_EPSG_PATTERNS: Final = (
    re.compile(r"(?:epsg\s*:\s*)?([0-9]{1,6})"),
    re.compile(r"urn:ogc:def:crs:epsg:[0-9.]*:([0-9]{1,6})"),
    re.compile(r"https?://www\.opengis\.net/def/crs/epsg/[0-9.]+/([0-9]{1,6})"),
)


def _unknown(shown: str) -> CRSError:
    return CRSError(f"Unknown coordinate system {shown!r}. Use one of: {SUPPORTED_CRS_HELP}.")


@lru_cache(maxsize=64)
def _crs_for_epsg(epsg: int) -> InputCRS | None:
    """The InputCRS for a supported EPSG code, or None."""
    if epsg == _WGS84_EPSG:
        return WGS84
    if epsg == _STORAGE_EPSG:
        return CGCS2000
    if _GK_CM_FIRST <= epsg <= _GK_CM_LAST:
        cm = _GK_FIRST_CM + 3 * (epsg - _GK_CM_FIRST)
        label = f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"
        return InputCRS(key=f"epsg:{epsg}", epsg=epsg, label=label, is_projected=True)
    if _GK_ZONE_FIRST <= epsg <= _GK_ZONE_LAST:
        zone = _GK_FIRST_ZONE_NUMBER + (epsg - _GK_ZONE_FIRST)
        label = f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"
        return InputCRS(key=f"epsg:{epsg}", epsg=epsg, label=label, is_projected=True)
    return None


def parse_crs(value: InputCRS | str | int | None) -> InputCRS:
    """Recognise an input coordinate system.

    None or an empty string means WGS84 (EPSG:4326), the GeoJSON default. Accepted: EPSG codes
    as int or text ("4326", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326",
    "http://www.opengis.net/def/crs/EPSG/0/4326"), "CRS84"/"OGC:CRS84", "wgs84", "cgcs2000",
    the CGCS2000 3-degree Gauss-Krüger codes 4513-4533 (zone-prefixed eastings) and 4534-4554
    (CM form), "gcj02"/"GCJ-02"/"gcj", and "bd09"/"BD-09"/"bd09ll"/"baidu" (case-insensitive).
    An InputCRS is re-checked against the same whitelist (so a hand-built one cannot smuggle in
    another EPSG code). Anything else raises CRSError; the text is matched against fixed
    patterns only and is never passed to PROJ or GDAL.
    """
    if isinstance(value, InputCRS):
        return parse_crs(value.epsg if value.epsg is not None else value.key)
    if value is None:
        return WGS84
    # bool is an int subclass; True must not silently mean "EPSG:1".
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CRSError(
            "The coordinate system must be an EPSG code or a name such as 'gcj02', "
            f"not {type(value).__name__}. Use one of: {SUPPORTED_CRS_HELP}."
        )
    if isinstance(value, int):
        found = _crs_for_epsg(value)
        if found is None:
            raise _unknown(f"EPSG:{value}")
        return found

    text = value.strip()
    if not text:
        return WGS84
    shown = text if len(text) <= _MAX_SHOWN_TEXT else text[:_MAX_SHOWN_TEXT] + "\u2026"
    if len(text) > _MAX_CRS_TEXT:
        raise _unknown(shown)
    lowered = text.lower()
    named = _NAMED.get(re.sub(r"[\s_-]+", "", lowered))
    if named is not None:
        return named
    for pattern in _EPSG_PATTERNS:
        match = pattern.fullmatch(lowered)
        if match:
            found = _crs_for_epsg(int(match.group(1)))
            if found is None:
                raise _unknown(shown)
            return found
    raise _unknown(shown)


# --------------------------------------------------------------------------------------------
# Gauss-Krüger
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _gk_to_storage(epsg: int) -> Transformer:
    # Only whitelisted integer codes get here. Transformers are expensive to build (a database
    # lookup) and, since pyproj 3.1, safe to share between threads, so build each once.
    return Transformer.from_crs(epsg, _STORAGE_EPSG, always_xy=True)


@lru_cache(maxsize=64)
def _storage_to_gk(epsg: int) -> Transformer:
    return Transformer.from_crs(_STORAGE_EPSG, epsg, always_xy=True)


def _projected_epsg(crs: InputCRS) -> int:
    """The EPSG code of a Gauss-Krüger InputCRS (parse_crs guarantees one is present)."""
    if crs.epsg is None:
        raise _unknown(crs.key)
    return crs.epsg


def _gk_central_meridian(epsg: int) -> float:
    if _GK_ZONE_FIRST <= epsg <= _GK_ZONE_LAST:
        return float(_GK_FIRST_CM + 3 * (epsg - _GK_ZONE_FIRST))
    return float(_GK_FIRST_CM + 3 * (epsg - _GK_CM_FIRST))


def _gk_false_easting(epsg: int) -> float:
    if _GK_ZONE_FIRST <= epsg <= _GK_ZONE_LAST:
        zone = _GK_FIRST_ZONE_NUMBER + (epsg - _GK_ZONE_FIRST)
        return zone * 1_000_000.0 + 500_000.0
    return 500_000.0


def metric_epsg_for_longitude(lon: float) -> int:
    """The CGCS2000 3-degree Gauss-Krüger EPSG code (CM form, 4534-4554) for a longitude.

    ``4534 + round((lon - 75) / 3)`` clamped to 4534..4554, so Beijing (116.4E) gives 4548
    (CM 117E). A longitude exactly on a zone boundary (x.5 degrees) goes to the eastern zone,
    rather than following Python's round-half-to-even.
    """
    value = float(lon)
    if not math.isfinite(value) or not -180.0 <= value <= 180.0:
        raise CoordinateError(f"Longitude {value!r} is out of range (\u2212180\u2026180).")
    offset = math.floor((value - _GK_FIRST_CM) / 3.0 + 0.5)
    return _GK_CM_FIRST + min(max(offset, 0), _GK_CM_LAST - _GK_CM_FIRST)


# --------------------------------------------------------------------------------------------
# Validation and conversion to storage
# --------------------------------------------------------------------------------------------


def _first_index(mask: BoolArray) -> tuple[int | tuple[int, ...] | None, int]:
    """(index to report, flat position) of the first True in mask."""
    flat = int(np.flatnonzero(mask)[0])
    if mask.ndim == 0:
        return None, flat
    if mask.ndim == 1:
        return flat, flat
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape)), flat


def _first_point(
    mask: BoolArray, xs: FloatArray, ys: FloatArray
) -> tuple[int | tuple[int, ...] | None, float, float]:
    """(index to report, x, y) of the first True in mask."""
    index, flat = _first_index(mask)
    return index, float(xs.reshape(-1)[flat]), float(ys.reshape(-1)[flat])


def _subject(index: int | tuple[int, ...] | None, name: str) -> str:
    """'Latitude' for a scalar, 'Coordinate 3: latitude' for an array element."""
    return name.capitalize() if index is None else f"Coordinate {index}: {name}"


def _check_finite(xs: FloatArray, ys: FloatArray, x_name: str, y_name: str) -> None:
    for values, name in ((xs, x_name), (ys, y_name)):
        bad = ~np.isfinite(values)
        if bad.any():
            index, flat = _first_index(bad)
            value = float(values.reshape(-1)[flat])
            if index is None:
                message = f"{name.capitalize()} is not a number ({value!r})."
            else:
                message = f"Coordinate {index} is not a number: its {name} is {value!r}."
            raise CoordinateError(message, index=index)


def _check_lon_lat(lons: FloatArray, lats: FloatArray) -> None:
    """Raise CoordinateError unless every value is finite and inside lon/lat range."""
    _check_finite(lons, lats, "longitude", "latitude")
    projected_hint = (
        " These look like metres: for projected coordinates pass the EPSG code of the "
        "projection (for example 4548, CGCS2000 3-degree Gauss-Kr\u00fcger CM 117E)."
    )
    # Longitudes first; a latitude out of range whose longitude would pass as a latitude
    # suggests the two were swapped.
    for values, name, limit, shown, may_be_swapped in (
        (lons, "longitude", 180.0, "\u2212180\u2026180", False),
        (lats, "latitude", 90.0, "\u221290\u202690", True),
    ):
        bad = np.abs(values) > limit
        if not bad.any():
            continue
        index, flat = _first_index(bad)
        value = float(values.reshape(-1)[flat])
        message = f"{_subject(index, name)} {value!r} is out of range ({shown})."
        if abs(value) > 1000.0:
            message += projected_hint
        elif may_be_swapped and abs(float(lons.reshape(-1)[flat])) <= 90.0:
            message += " Longitude and latitude may be swapped: x is the longitude, y the latitude."
        raise CoordinateError(message, index=index)


def _check_gk_input(eastings: FloatArray, northings: FloatArray, crs: InputCRS) -> None:
    """Reject values that cannot be Gauss-Krüger metres in this zone, with a likely cause."""
    epsg = _projected_epsg(crs)
    _check_finite(eastings, northings, "easting", "northing")

    # Within 180 m of the false origin and 90 m of the equator is never real survey data in a
    # Chinese zone, but it is exactly what lon/lat sent with the wrong CRS looks like.
    bad = (np.abs(eastings) <= 180.0) & (np.abs(northings) <= 90.0)
    if bad.any():
        index, easting, northing = _first_point(bad, eastings, northings)
        message = (
            f"{_subject(index, 'easting')} {easting!r}, northing {northing!r} look like "
            f"longitude/latitude in degrees, not metres in EPSG:{epsg} ({crs.label}). Use 4490 "
            "(CGCS2000) or 4326 (WGS84) for longitude/latitude."
        )
        raise CoordinateError(message, index=index)

    false_easting = _gk_false_easting(epsg)
    low, high = false_easting - _GK_MAX_OFFSET_M, false_easting + _GK_MAX_OFFSET_M

    bad = (eastings < low) | (eastings > high)
    if bad.any():
        index, easting, northing = _first_point(bad, eastings, northings)
        message = (
            f"{_subject(index, 'easting')} {easting!r} is not valid in EPSG:{epsg} ({crs.label}); "
            f"expected {low:.0f}\u2026{high:.0f} m."
        )
        message += _gk_hint(easting, northing, epsg, low, high)
        raise CoordinateError(message, index=index)

    bad = np.abs(northings) > _GK_MAX_NORTHING_M
    if bad.any():
        index, _, northing = _first_point(bad, eastings, northings)
        message = (
            f"{_subject(index, 'northing')} {northing!r} is out of range "
            f"(\u2212{_GK_MAX_NORTHING_M:.0f}\u2026{_GK_MAX_NORTHING_M:.0f} m)."
        )
        raise CoordinateError(message, index=index)


def _gk_hint(easting: float, northing: float, epsg: int, low: float, high: float) -> str:
    """The most likely reason an easting is outside its zone, as a sentence (or '')."""
    if low <= northing <= high:
        return (
            " x and y may be swapped: x must be the easting (Y in Chinese survey notation)"
            " and y the northing (X)."
        )
    zone = int(easting // 1_000_000)
    zone_last = _GK_FIRST_ZONE_NUMBER + (_GK_ZONE_LAST - _GK_ZONE_FIRST)
    is_cm_form = _GK_CM_FIRST <= epsg <= _GK_CM_LAST
    if is_cm_form and _GK_FIRST_ZONE_NUMBER <= zone <= zone_last:
        zone_epsg = _GK_ZONE_FIRST + (zone - _GK_FIRST_ZONE_NUMBER)
        return (
            f" It seems to start with the zone number {zone}: use EPSG:{zone_epsg} "
            f"(zone {zone}) for eastings with a zone prefix."
        )
    if not is_cm_form and 0.0 <= easting < 1_000_000.0:
        cm_epsg = _GK_CM_FIRST + (epsg - _GK_ZONE_FIRST)
        return (
            f" It has no zone-number prefix: use EPSG:{cm_epsg} for eastings without a zone prefix."
        )
    return ""


def _gk_to_lon_lat(
    eastings: FloatArray, northings: FloatArray, crs: InputCRS
) -> tuple[FloatArray, FloatArray]:
    epsg = _projected_epsg(crs)
    _check_gk_input(eastings, northings, crs)
    lons, lats = _gk_to_storage(epsg).transform(eastings, northings)
    lons = np.asarray(lons, dtype=np.float64).reshape(eastings.shape)
    lats = np.asarray(lats, dtype=np.float64).reshape(eastings.shape)

    bad = ~(np.isfinite(lons) & np.isfinite(lats))
    bad |= (np.abs(lons) > 180.0) | (np.abs(lats) > 90.0)
    # Transverse Mercator covers the hemisphere around the central meridian; a result on the
    # far side (reachable near the pole) is not a point anyone surveyed in this zone.
    off_meridian = np.abs((lons - _gk_central_meridian(epsg) + 180.0) % 360.0 - 180.0)
    bad |= ~(off_meridian < 90.0)
    if not bad.any():
        # PROJ can return finite but meaningless numbers outside the domain of its series;
        # projecting back exposes them.
        back_e, back_n = _storage_to_gk(epsg).transform(lons, lats)
        back_e = np.asarray(back_e, dtype=np.float64).reshape(eastings.shape)
        back_n = np.asarray(back_n, dtype=np.float64).reshape(eastings.shape)
        error = np.maximum(np.abs(back_e - eastings), np.abs(back_n - northings))
        bad = ~(error <= _GK_ROUND_TRIP_TOLERANCE_M)
    if bad.any():
        index, easting, northing = _first_point(bad, eastings, northings)
        raise CoordinateError(
            f"{_subject(index, 'easting')} {easting!r}, northing {northing!r} cannot be "
            f"converted from EPSG:{epsg} ({crs.label}): the point is too far from the zone. "
            "Check the coordinate system and that x is the easting and y the northing.",
            index=index,
        )
    return lons, lats


def to_storage(
    x: ArrayLike, y: ArrayLike, crs: InputCRS | str | int | None
) -> tuple[FloatArray, FloatArray]:
    """Convert input coordinates to storage lon/lat (EPSG:4490).

    ``x``/``y`` are scalars, lists or arrays of one shape: longitude/latitude in degrees for
    geographic input (4326, 4490, gcj02, bd09), easting/northing in metres for Gauss-Krüger
    input. ``crs`` is anything ``parse_crs`` accepts. Returns new float64 arrays (lon, lat) of
    the input's shape.

    * 4326 and 4490 pass through unchanged (the datums agree to well under a metre).
    * Gauss-Krüger codes are unprojected with PROJ (same datum, no datum shift).
    * gcj02 and bd09 are de-obfuscated to WGS84 with the iterative inverses above.

    Raises CRSError for an unknown CRS and CoordinateError, naming the first offending
    coordinate and value, for non-numbers, NaN/inf, lon/lat out of range, or projected values
    that do not lie in the zone.
    """
    parsed = parse_crs(crs)
    xs, ys = as_float_pair(x, y)
    if parsed.is_projected:
        return _gk_to_lon_lat(xs, ys, parsed)
    _check_lon_lat(xs, ys)
    if parsed is GCJ02:
        return gcj02_to_wgs84(xs, ys)
    if parsed is BD09:
        return bd09_to_wgs84(xs, ys)
    # WGS84 or CGCS2000: the same numbers (see the module docstring).
    return xs, ys


def point_to_storage(x: float, y: float, crs: InputCRS | str | int | None) -> tuple[float, float]:
    """``to_storage`` for one point: returns (lon, lat) in EPSG:4490 as Python floats."""
    lons, lats = to_storage(x, y, crs)
    if lons.size != 1:
        raise CoordinateError("A point needs exactly one x and one y value.")
    return float(lons.reshape(-1)[0]), float(lats.reshape(-1)[0])

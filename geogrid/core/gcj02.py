"""GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS84, vectorised with numpy.

They use the widely published formulas (the "eviltransform"/"coordtransform" algorithm:
Krasovsky 1940 constants and the transformLat/transformLon polynomials). The inverse transforms
are solved iteratively, so a forward/inverse round trip agrees to better than 1e-9°. Like
core/crs.py, which calls them for GCJ-02 and BD-09 input, no Django import.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from geogrid.core.coordinates import BoolArray, FloatArray, as_float_pair

# Krasovsky 1940 ellipsoid as used by the published GCJ-02 algorithm.
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323
_BD_X_PI: Final = math.pi * 3000.0 / 180.0
_BD_DLON: Final = 0.0065
_BD_DLAT: Final = 0.006

# The bounding rectangle the published algorithm treats as "China"; outside it, GCJ-02 and
# BD-09 are not applied.
_CHINA_LON_MIN: Final = 72.004
_CHINA_LON_MAX: Final = 137.8347
_CHINA_LAT_MIN: Final = 0.8293
_CHINA_LAT_MAX: Final = 55.8271

# Inverse transforms iterate until the forward transform of the estimate reproduces the input
# to within this many degrees (about 0.1 mm). The offsets change by only ~1e-3 degree per degree,
# so each step shrinks the error several hundredfold and two to four steps suffice; the cap only
# guards against pathological input.
_INVERSE_TOLERANCE_DEG: Final = 1e-9
_INVERSE_MAX_ITERATIONS: Final = 30


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> BoolArray:
    """True where a lon/lat lies outside the rectangle the published GCJ-02 algorithm covers.

    The rectangle (lon 72.004-137.8347, lat 0.8293-55.8271) is the published one; it is a
    rough box, not the border. NaN counts as outside.
    """
    lons, lats = as_float_pair(lon, lat)
    inside = (
        (lons >= _CHINA_LON_MIN)
        & (lons <= _CHINA_LON_MAX)
        & (lats >= _CHINA_LAT_MIN)
        & (lats <= _CHINA_LAT_MAX)
    )
    return np.logical_not(inside)


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 at a WGS84 point, in degrees (no China check)."""
    with np.errstate(invalid="ignore"):  # sin(inf) is NaN, which is what callers expect
        return _gcj_offset_unchecked(lon, lat)


def _gcj_offset_unchecked(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # The operation order follows the published code so results agree to the last bit or two.
    x = lon - 105.0
    y = lat - 35.0
    shared = (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))

    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    d_lat += shared
    d_lat += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * math.pi) + 320 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0

    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    d_lon += shared
    d_lon += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0

    # The polynomials are metres-ish offsets; scale by the Krasovsky radii of curvature.
    rad_lat = lat / 180.0 * math.pi
    magic = np.sin(rad_lat)
    magic = 1 - _GCJ_EE * magic * magic
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * math.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 lon/lat to GCJ-02 (published algorithm); points outside China are unchanged.

    Accepts scalars, lists or arrays; returns new float64 arrays of the input's shape. No
    validation: NaN stays NaN (use ``to_storage`` for validated input).
    """
    lons, lats = as_float_pair(lon, lat)
    g_lon, g_lat = _wgs84_to_gcj_raw(lons, lats)
    outside = out_of_china(lons, lats)
    return np.where(outside, lons, g_lon), np.where(outside, lats, g_lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 lon/lat to WGS84 by iterating the forward transform (exact to ~1e-9 degrees).

    The widely copied one-step inverse (subtract the offset computed at the GCJ-02 point) is
    off by decimetres to a couple of metres; here that result is only the starting point, refined until
    ``wgs84_to_gcj02`` reproduces the input within 1e-9 degrees. Points whose GCJ-02
    coordinates lie outside China are returned unchanged, as the published algorithm does.
    """
    g_lon, g_lat = as_float_pair(lon, lat)
    inside = np.logical_not(out_of_china(g_lon, g_lat))
    d_lon, d_lat = _gcj_offset(g_lon, g_lat)
    w_lon, w_lat = _invert(_wgs84_to_gcj_raw, g_lon, g_lat, g_lon - d_lon, g_lat - d_lat, inside)
    return np.where(inside, w_lon, g_lon), np.where(inside, w_lat, g_lat)


def _wgs84_to_gcj_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS84 -> GCJ-02 everywhere (no China check)."""
    d_lon, d_lat = _gcj_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_lon: FloatArray,
    target_lat: FloatArray,
    lon: FloatArray,
    lat: FloatArray,
    inside: BoolArray,
) -> tuple[FloatArray, FloatArray]:
    """Refine the estimate (lon, lat), new arrays updated in place, until `forward` of it
    reproduces the target within the tolerance at every point `inside`.

    Fixed-point step: the offsets vary slowly, so the residual of the forward transform is
    almost exactly the correction needed.
    """
    for _ in range(_INVERSE_MAX_ITERATIONS):
        f_lon, f_lat = forward(lon, lat)
        r_lon = f_lon - target_lon
        r_lat = f_lat - target_lat
        lon -= r_lon
        lat -= r_lat
        residual = np.maximum(np.abs(r_lon), np.abs(r_lat))[inside]
        if residual.size == 0 or float(residual.max()) <= _INVERSE_TOLERANCE_DEG:
            break
    return lon, lat


def _gcj_to_bd_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published GCJ-02 -> BD-09 formula (no China check)."""
    with np.errstate(invalid="ignore"):
        return _gcj_to_bd_unchecked(lon, lat)


def _gcj_to_bd_unchecked(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_closed_form(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The published closed-form BD-09 -> GCJ-02 inverse (approximate, no China check)."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    with np.errstate(invalid="ignore"):
        z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
        theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
        return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 lon/lat to Baidu BD-09 (published x_pi formula); outside China unchanged."""
    lons, lats = as_float_pair(lon, lat)
    b_lon, b_lat = _gcj_to_bd_raw(lons, lats)
    outside = out_of_china(lons, lats)
    return np.where(outside, lons, b_lon), np.where(outside, lats, b_lat)


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, refine: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Baidu BD-09 lon/lat to GCJ-02; outside China unchanged.

    Starts from the standard published inverse, which is itself only approximate (up to about
    1e-6 degrees, a decimetre). With ``refine`` (the default) the estimate is iterated
    until ``gcj02_to_bd09`` reproduces the input within 1e-9 degrees; ``refine=False`` returns
    the published closed form unchanged.
    """
    b_lon, b_lat = as_float_pair(lon, lat)
    inside = np.logical_not(out_of_china(b_lon, b_lat))
    g_lon, g_lat = _bd_to_gcj_closed_form(b_lon, b_lat)
    if refine:
        g_lon, g_lat = _invert(_gcj_to_bd_raw, b_lon, b_lat, g_lon, g_lat, inside)
    return np.where(inside, g_lon, b_lon), np.where(inside, g_lat, b_lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 lon/lat to Baidu BD-09 (via GCJ-02); outside China unchanged."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Baidu BD-09 lon/lat to WGS84 (via GCJ-02, both inverses iterated); outside China
    unchanged."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))

"""The nearest components to a point: the inspector's "near me" on the hot path.

One prepared statement: a K-nearest-neighbour scan of the GiST index (`<->`, ordered by
planar distance in degrees) takes a few times more candidates than asked for, then re-ranks
them by true distance on the spheroid. In degrees, east–west distances shrink by cos(latitude)
(0.77 in Beijing), so planar order can differ from true order; re-ranking the first
`OVERFETCH` × limit candidates makes the answer exact unless more than that many components
lie closer in planar terms than the true k-th — far beyond what that distortion can produce.
"""

from __future__ import annotations

from dataclasses import dataclass

from geogrid.core.db import raw_cursor

OVERFETCH = 4

# The point is written out in both places (not a CTE column): the KNN index scan needs the
# ORDER BY operand to be a constant or parameter, a joined column would force a full sort.
NEAREST_SQL = """
WITH candidates AS (
    SELECT c.id, c.code, c.name, c.status, c.geom
    FROM components_component c
    WHERE c.currency = 'in_use'
    ORDER BY c.geom <-> ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490)
    LIMIT %(fetch)s
)
SELECT id, code, name, status,
       ST_Distance(geom::geography,
                   ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4490)::geography) AS metres
FROM candidates
ORDER BY metres, code
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Nearby:
    id: int
    code: str
    name: str
    status: str
    distance_m: float


def nearest_components(lon: float, lat: float, *, limit: int = 20) -> list[Nearby]:
    """The `limit` in-use components nearest to (lon, lat) in the storage CRS, closest first."""
    if not 1 <= limit <= 500:
        raise ValueError("limit must be between 1 and 500.")
    with raw_cursor() as cursor:
        rows = cursor.execute(
            NEAREST_SQL,
            {"lon": lon, "lat": lat, "limit": limit, "fetch": limit * OVERFETCH},
            prepare=True,
        ).fetchall()
    return [Nearby(*row) for row in rows]

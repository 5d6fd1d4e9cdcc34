"""The demo's service-made reports beside a patrol fix always land inside the district, where a
grid takes them: also from a fix that GPS noise put a few metres outside the outline."""

from __future__ import annotations

import math

from django.contrib.gis.geos import Point, Polygon

from geogrid.cases.demo import _offset_inside

# A 0.01° square district near Dongcheng; its west edge at lon 116.39.
DISTRICT = Polygon.from_bbox((116.39, 39.91, 116.40, 39.92)).prepared
DEGREES_PER_METRE_LON = 1 / (111_320.0 * math.cos(math.radians(39.915)))


def test_an_offset_across_the_edge_turns_round():
    fix = Point(116.39 + 5 * DEGREES_PER_METRE_LON, 39.915, srid=4490)  # 5 m inside
    at = _offset_inside(DISTRICT, fix, 20.0, math.pi)  # 20 m west: outside
    assert DISTRICT.contains(at)
    assert at.x > fix.x  # the opposite heading, east


def test_a_fix_just_outside_the_district_moves_in():
    fix = Point(116.39 - 8 * DEGREES_PER_METRE_LON, 39.915, srid=4490)  # 8 m outside
    for heading in (0.0, math.pi / 2, math.pi, 3 * math.pi / 2):
        for away in (3.0, 300.0):
            at = _offset_inside(DISTRICT, fix, away, heading)
            assert DISTRICT.contains(at), (away, heading)
            assert abs(at.x - fix.x) < 300.5 * DEGREES_PER_METRE_LON

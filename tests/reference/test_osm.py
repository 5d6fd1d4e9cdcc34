"""OpenStreetMap extracts: the tag rules of docs/domain.md §9.2 on a small .osm file written
here, the file's date, and the real Helsinki extract in gis_data/osm/."""

from __future__ import annotations

import struct
import time
import zlib
from datetime import date
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
import pytest
from django.core.management import call_command

from geogrid.reference.importing import plan_import
from geogrid.reference.models import ReferenceEvent, ReferenceFeature, ReferenceLayer
from geogrid.reference.osm import parse_other_tags, replication_date, tag_column

HELSINKI = Path(__file__).resolve().parents[2] / "gis_data" / "osm" / "helsinki-test.osm.pbf"

# Nodes on a lattice near Dongcheng (inside the default GEOGRID_CITY_BBOX): node (i, j) is at
# lon 116.400 + i/1000, lat 39.900 + j/1000 and has the id 1000 + 10 i + j.


def _node(i: int, j: int) -> int:
    return 1000 + 10 * i + j


def _osm(ways: list[tuple[list[int], dict[str, str]]], *, stamp: str | None = None) -> str:
    nodes = [
        f'<node id="{_node(i, j)}" lat="{39.9 + j / 1000:.3f}" lon="{116.4 + i / 1000:.3f}" '
        'version="1"/>'
        for i in range(10)
        for j in range(10)
    ]
    body = []
    for number, (refs, tags) in enumerate(ways, start=1):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        body.append(f'<way id="{number}" version="1">{nds}{tag_xml}</way>')
    header = f' timestamp="{stamp}"' if stamp else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<osm version="0.6" generator="geogrid-tests"{header}>\n'
        + "\n".join(nodes + body)
        + "\n</osm>\n"
    )


def _line(j: int, **tags: str) -> tuple[list[int], dict[str, str]]:
    """A way along row j, west to east."""
    return [_node(0, j), _node(4, j), _node(9, j)], tags


def _ring(i: int, j: int, **tags: str) -> tuple[list[int], dict[str, str]]:
    """A closed square way of one lattice cell at (i, j)."""
    return [_node(i, j), _node(i + 1, j), _node(i + 1, j + 1), _node(i, j + 1), _node(i, j)], tags


WAYS = [
    _line(0, highway="primary", name="长安街"),
    _line(1, highway="trunk_link"),
    _line(2, highway="tertiary", name='Say "hi", => there'),
    _line(3, highway="residential"),
    _line(4, highway="footway"),
    _line(5, highway="service", tunnel="yes"),  # dropped: tunnel
    _line(6, highway="footway", covered="yes"),  # dropped: covered
    _line(7, highway="corridor", level="1"),  # dropped: not a road
    _line(8, highway="steps", level="-1"),  # dropped: below ground
    _line(9, highway="construction"),  # dropped: under construction
    ([_node(0, 0), _node(0, 9)], {"waterway": "river", "name": "通惠河"}),
    ([_node(1, 0), _node(1, 9)], {"waterway": "ditch"}),
    ([_node(2, 0), _node(2, 9)], {"waterway": "stream", "tunnel": "culvert"}),  # dropped
    ([_node(3, 0), _node(3, 9)], {"barrier": "city_wall", "name": "城墙"}),
    ([_node(4, 0), _node(4, 9)], {"railway": "rail"}),
    ([_node(5, 0), _node(5, 9)], {"railway": "rail", "disused": "yes"}),  # dropped
    ([_node(6, 0), _node(6, 9)], {"railway": "subway", "tunnel": "yes"}),  # not a kind
    ([_node(7, 0), _node(7, 9)], {"barrier": "fence"}),  # not a kind
    _ring(0, 0, building="yes", name="故宫"),
    _ring(1, 0, building="apartments"),
    _ring(2, 0, building="no", amenity="parking"),  # not a building
    _ring(3, 0, natural="water", name="北海"),
    _ring(4, 0, landuse="reservoir"),
    _ring(5, 0, leisure="park", name="景山公园"),
    _ring(6, 0, natural="wood"),
    _ring(7, 0, landuse="retail"),  # none of the kinds
    # A bow-tie building: repaired into two triangles.
    ([_node(0, 2), _node(1, 3), _node(1, 2), _node(0, 3), _node(0, 2)], {"building": "yes"}),
    # A building whose other nodes the extract lacks: GDAL writes a ring of two points.
    ([_node(2, 2), 99999, _node(2, 2)], {"building": "yes"}),
]


@pytest.fixture
def small_osm(tmp_path: Path) -> Path:
    path = tmp_path / "dongcheng-sample.osm"
    path.write_text(_osm(WAYS, stamp="2025-06-30T21:00:00Z"), encoding="utf-8")
    return path


def test_other_tags_are_parsed_with_escaped_quotes_commas_and_arrows():
    text = r'"lanes"=>"2","note:zh"=>"a \"b\", c=>d","odd\\key"=>"x\\y","name"=>"长安街"'
    assert parse_other_tags(text) == {
        "lanes": "2",
        "note:zh": 'a "b", c=>d',
        "odd\\key": "x\\y",
        "name": "长安街",
    }
    assert parse_other_tags(None) == {} and parse_other_tags("garbage") == {}
    column = pd.Series([text, None, r'"tunnel"=>"no"', r'"x"=>",\"lanes\"=>\"9\""'])
    assert tag_column(column, "lanes").tolist() == ["2", None, None, None]
    assert tag_column(column, "note:zh").tolist()[0] == 'a "b", c=>d'


def test_the_tag_rules_map_classes_and_drop_what_is_not_on_the_ground(small_osm, admin_user):
    plan = plan_import(path=small_osm, kinds=None)
    layers = {layer.kind: layer for layer in plan.layers}
    assert [layer.name for layer in plan.layers] == [
        f"dongcheng-sample {kind}" for kind in ("roads", "water", "walls", "buildings", "green")
    ]
    roads = layers["roads"]
    assert roads.by_class == {"main": 2, "secondary": 1, "street": 1, "lane": 1}
    assert sorted(n for n in roads.names if n) == ['Say "hi", => there', "长安街"]
    assert sum(roads.dropped.values()) == 5
    assert layers["water"].by_class == {"river": 3, "stream": 1}  # river, reservoir, lake
    assert sum(layers["water"].dropped.values()) == 1  # the culvert
    assert layers["walls"].by_class == {"wall": 1, "railway": 1}
    assert layers["walls"].dropped == {"disused or abandoned": 1}
    buildings = layers["buildings"]
    assert buildings.by_class == {"building": 3}  # yes, apartments, the repaired bow-tie
    assert len(buildings.repaired_labels) == 1
    assert "self-intersection" in buildings.repaired_details[0]
    assert buildings.skipped_reasons.tolist() == [
        "malformed geometry in the OpenStreetMap data (the extract probably lacks some nodes)"
    ]
    assert "LinearRing" in buildings.skipped_details[0]
    assert buildings.skipped_labels.tolist() == [f"way {len(WAYS)}"]
    assert layers["green"].by_class == {"park": 2}
    assert plan.source_date == date(2025, 6, 30)
    assert plan.attribution == "© OpenStreetMap contributors, ODbL"


def test_an_osm_import_writes_one_layer_per_kind_with_its_attribution(small_osm, admin_user):
    call_command("import_layer", str(small_osm), "--kind", "roads", "--kind", "buildings", "-v0")
    layers = {layer.kind: layer for layer in ReferenceLayer.objects.all()}
    assert set(layers) == {"roads", "buildings"}
    assert layers["roads"].name == "dongcheng-sample roads"
    assert layers["roads"].attribution == "© OpenStreetMap contributors, ODbL"
    assert layers["roads"].source == "dongcheng-sample.osm"
    assert layers["roads"].source_date == date(2025, 6, 30)
    assert ReferenceFeature.objects.filter(layer=layers["roads"]).count() == 5
    named = ReferenceFeature.objects.get(name="长安街")
    assert named.feature_class == "main" and named.kind == "roads"
    assert named.geom.geom_type == "LineString" and named.geom.srid == 4490


def test_the_date_of_a_pbf_is_its_header_replication_timestamp(tmp_path):
    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte, value = value & 0x7F, value >> 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(out)

    def bytes_field(number: int, data: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(data)) + data

    block = bytes_field(4, b"OsmSchema-V0.6") + varint(32 << 3) + varint(1735689600)
    blob = varint(2 << 3) + varint(len(block)) + bytes_field(3, zlib.compress(block))
    header = bytes_field(1, b"OSMHeader") + varint(3 << 3) + varint(len(blob))
    path = tmp_path / "city.osm.pbf"
    path.write_bytes(struct.pack(">I", len(header)) + header + blob)
    assert replication_date(path) == date(2025, 1, 1)
    assert replication_date(HELSINKI) is None  # its header carries no timestamp


def test_the_real_helsinki_extract_gives_every_kind(admin_user, capsys):
    started = time.perf_counter()
    call_command(
        "import_layer", str(HELSINKI), "--clip", "24.90,60.15,25.00,60.20", "--actor", "root-admin"
    )
    seconds = time.perf_counter() - started
    report = capsys.readouterr().out
    print(f"Helsinki extract imported in {seconds:.2f} s")  # noqa: T201
    layers = {layer.kind: layer for layer in ReferenceLayer.objects.all()}
    assert set(layers) == {"roads", "water", "walls", "buildings", "green"}
    road_classes = set(
        ReferenceFeature.objects.filter(layer=layers["roads"]).values_list(
            "feature_class", flat=True
        )
    )
    assert road_classes == {"main", "secondary", "street", "lane"}
    # The extract holds 500 buildings (433 ways, 67 relations), a few cut off by its edge.
    assert 450 < layers["buildings"].feature_count <= 500
    assert layers["roads"].feature_count > 1500
    assert layers["water"].feature_count > 5
    assert layers["green"].feature_count > 100
    assert "malformed geometry in the OpenStreetMap data" in report
    assert "features/s" in report
    assert {e.actor for e in ReferenceEvent.objects.all()} == {admin_user}
    assert seconds < 20

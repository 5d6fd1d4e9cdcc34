"""The reference services: what they refuse, all-or-nothing imports, deletion, events."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from shapely.geometry import LineString

from geogrid.reference.models import ReferenceEvent, ReferenceFeature, ReferenceLayer
from geogrid.reference.services import LayerInput, delete_layer, import_layer, import_layers
from tests.geometry import bowtie, rect, to_lonlat


def lines(count: int) -> np.ndarray:
    return np.array(
        [to_lonlat(LineString([(0, 20 * i), (100, 20 * i)])) for i in range(count)], dtype=object
    )


def _roads(actor, name: str = "道路", count: int = 2, **kwargs) -> ReferenceLayer:
    return import_layer(
        actor=actor,
        name=name,
        kind="roads",
        geoms=lines(count),
        classes=np.array(["street"] * count, dtype=object),
        source="test",
        **kwargs,
    )


def test_a_generated_layer_says_so_and_records_who_imported_it(admin_user):
    layer = _roads(admin_user, generated=True, source_date=date(2026, 1, 1), names=["a", None])
    assert layer.generated and layer.feature_count == 2
    assert sorted(ReferenceFeature.objects.values_list("name", flat=True)) == ["", "a"]
    event = ReferenceEvent.objects.get(layer=layer)
    assert event.actor == admin_user and event.details["generated"] is True
    assert event.details["source_date"] == "2026-01-01"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"classes": np.array(["river", "street"], dtype=object)}, r"\['river'\] are not classes"),
        ({"geoms": np.array([rect(0, 0, 10, 10), None], dtype=object)}, "needs a geometry"),
        (
            {"geoms": np.array([rect(0, 0, 10, 10)] * 2, dtype=object)},
            "roads features must be lines",
        ),
        ({"kind": "trees"}, "Unknown kind 'trees'"),
        ({"name": ""}, "1 to 100 characters"),
        ({"classes": np.array(["street"], dtype=object)}, "one entry per feature"),
    ],
)
def test_input_the_tables_cannot_hold_is_refused_before_anything_is_written(
    admin_user, change, message
):
    arguments = {
        "actor": admin_user,
        "name": "道路",
        "kind": "roads",
        "geoms": lines(2),
        "classes": np.array(["street", "lane"], dtype=object),
        "source": "test",
        **change,
    }
    with pytest.raises(ValueError, match=message):
        import_layer(**arguments)
    assert not ReferenceLayer.objects.exists() and not ReferenceEvent.objects.exists()


def test_an_invalid_polygon_is_refused_by_the_service(admin_user):
    with pytest.raises(ValueError, match="must be valid"):
        import_layer(
            actor=admin_user,
            name="绿地",
            kind="green",
            geoms=np.array([bowtie(0, 0, 50)], dtype=object),
            classes=np.array(["park"], dtype=object),
            source="test",
        )


def test_several_layers_are_imported_together_or_not_at_all(admin_user):
    old = _roads(admin_user, count=3)
    good = LayerInput(
        name="道路", kind="roads", geoms=lines(1), classes=np.array(["main"], dtype=object)
    )
    bad = LayerInput(
        name="围墙", kind="walls", geoms=lines(1), classes=np.array(["lane"], dtype=object)
    )
    with pytest.raises(ValueError, match="not classes of walls"):
        import_layers(actor=admin_user, layers=[good, bad])
    assert list(ReferenceLayer.objects.values_list("name", "feature_count")) == [("道路", 3)]
    assert ReferenceFeature.objects.filter(layer=old).count() == 3
    assert ReferenceEvent.objects.count() == 1


def test_deleting_a_layer_removes_its_features_and_keeps_its_history(admin_user):
    layer = _roads(admin_user, count=4)
    keep = _roads(admin_user, name="其他", count=1)
    delete_layer(actor=admin_user, layer=layer)
    assert list(ReferenceLayer.objects.all()) == [keep]
    assert ReferenceFeature.objects.count() == 1
    events = ReferenceEvent.objects.filter(layer_id=layer.pk).order_by("id")
    assert [e.action for e in events] == ["imported", "deleted"]
    assert events.last().details == {
        "name": "道路",
        "kind": "roads",
        "source": "test",
        "features": 4,
    }

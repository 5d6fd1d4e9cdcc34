"""The admin shows reference layers and their events, and changes nothing."""

from __future__ import annotations

import numpy as np
from shapely.geometry import LineString

from geogrid.reference.services import delete_layer, import_layer
from tests.geometry import to_lonlat


def test_layers_and_events_are_listed_read_only(admin_client, admin_user):
    layer = import_layer(
        actor=admin_user,
        name="东城道路",
        kind="roads",
        geoms=np.array([to_lonlat(LineString([(0, 0), (100, 0)]))], dtype=object),
        classes=np.array(["main"], dtype=object),
        source="roads.gpkg",
    )
    page = admin_client.get("/admin/reference/referencelayer/")
    assert page.status_code == 200 and "东城道路" in page.content.decode()
    detail = admin_client.get(f"/admin/reference/referencelayer/{layer.pk}/change/")
    assert detail.status_code == 200 and "imported" in detail.content.decode()
    assert admin_client.get("/admin/reference/referencelayer/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/reference/referencelayer/{layer.pk}/delete/").status_code == 403
    )
    delete_layer(actor=admin_user, layer=layer)
    events = admin_client.get("/admin/reference/referenceevent/")
    assert events.status_code == 200 and "deleted" in events.content.decode()

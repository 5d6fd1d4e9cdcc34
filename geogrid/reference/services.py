"""The reference-layer use cases: import (or replace) a layer, delete one (docs/architecture.md
§12). Each runs in one transaction and writes a ReferenceEvent.

Features are written with one binary COPY per layer (geogrid/core/pgcopy.py), encoded in slices
while a writer thread sends the previous slice, as the component import does: a city has
100,000s of buildings, which row-by-row INSERTs would take minutes to write. Replacing a layer
deletes its features and writes the new ones in the same transaction, so a reader sees the old
layer or the new one, never a mixture, and a failed import leaves the old one in place.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
from django.db import transaction
from psycopg.copy import QueuedLibpqWriter

from geogrid.accounts.actors import Actor
from geogrid.core.db import raw_cursor
from geogrid.core.pgcopy import COPY_HEADER, COPY_TRAILER, binary_copy_rows
from geogrid.core.srid import STORAGE_SRID
from geogrid.reference.models import (
    CLASSES_OF_KIND,
    LayerKind,
    ReferenceEvent,
    ReferenceFeature,
    ReferenceLayer,
)

# Rows per encoded slice of the COPY: the server inserts one slice while the next is encoded.
COPY_SLICE_ROWS = 20_000
# shapely type ids a kind takes: 1 LineString, 5 MultiLineString, 3 Polygon, 6 MultiPolygon.
_TYPES_OF_KIND = {
    LayerKind.ROADS.value: ((1, 5), "lines"),
    LayerKind.WALLS.value: ((1, 5), "lines"),
    LayerKind.WATER.value: ((1, 5, 3, 6), "lines or polygons"),
    LayerKind.BUILDINGS.value: ((3, 6), "polygons"),
    LayerKind.GREEN.value: ((3, 6), "polygons"),
}


class ReferenceAction:
    IMPORTED = "imported"
    REPLACED = "replaced"
    DELETED = "deleted"


@dataclass
class LayerInput:
    """One layer to import: its features as arrays (shapely geometries in EPSG:4490, class
    values, names) and where they came from."""

    name: str
    kind: str
    geoms: np.ndarray
    classes: np.ndarray
    names: np.ndarray | None = None
    source: str = ""
    source_date: date | None = None
    attribution: str = ""
    generated: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def _check_input(layer: LayerInput) -> None:
    """ValueError, before anything is written, for input the tables cannot hold: the importer
    has already reported per feature; a caller such as the demo generator gets the reason."""
    if layer.kind not in _TYPES_OF_KIND:
        raise ValueError(f"Unknown kind {layer.kind!r}; use one of: {', '.join(_TYPES_OF_KIND)}.")
    if not layer.name.strip() or len(layer.name) > 100:
        raise ValueError("A layer's name must be 1 to 100 characters.")
    for label, text in (("source", layer.source), ("attribution", layer.attribution)):
        if len(text) > 300:
            raise ValueError(f"The layer's {label} is longer than 300 characters.")
    n = len(layer.geoms)
    if len(layer.classes) != n or (layer.names is not None and len(layer.names) != n):
        raise ValueError("geoms, classes and names must have one entry per feature.")
    if n == 0:
        return
    allowed = set(CLASSES_OF_KIND[layer.kind])
    unknown = set(np.unique(np.asarray(layer.classes, dtype=str)).tolist()) - allowed
    if unknown:
        raise ValueError(
            f"Classes {sorted(unknown)} are not classes of {layer.kind} "
            f"({', '.join(sorted(allowed))})."
        )
    geoms = np.asarray(layer.geoms, dtype=object)
    if (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
        raise ValueError("Every feature needs a geometry.")
    types, shape = _TYPES_OF_KIND[layer.kind]
    if not np.isin(shapely.get_type_id(geoms), types).all():
        raise ValueError(f"{layer.kind} features must be {shape}.")
    if not shapely.is_valid(geoms).all():
        raise ValueError("Every feature's geometry must be valid (make_valid it first).")


def _write_features(
    layer: ReferenceLayer, data: LayerInput, progress: Callable[[int], object] | None
) -> None:
    """One binary COPY of the layer's features, in a spatial order (west→east in bands of about
    100 m, north→south) so that the GiST index fills page by page."""
    geoms = np.asarray(data.geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        return
    bounds = shapely.bounds(geoms)
    order = np.lexsort((bounds[:, 0], -np.floor(bounds[:, 3] * 1e3)))
    classes = np.asarray(data.classes, dtype=str).astype(object)
    names = (
        pd.Series(data.names, dtype=object).fillna("").astype(str).str.slice(0, 200)
        if data.names is not None
        else pd.Series([""] * n, dtype=object)
    ).to_numpy(dtype=object)

    def columns(part: slice) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        rows = order[part]
        count = len(rows)
        ewkb = shapely.to_wkb(
            shapely.set_srid(geoms[rows], STORAGE_SRID), include_srid=True
        ).astype(object)
        return [
            ("int8", np.full(count, layer.pk, dtype=np.int64), None),
            ("text", np.full(count, layer.kind, dtype=object), None),
            ("text", classes[rows], None),
            ("text", names[rows], None),
            ("bytea", ewkb, None),
        ]

    table = ReferenceFeature._meta.db_table
    with (
        raw_cursor(for_write=True) as cursor,
        cursor.copy(
            f"COPY {table} (layer_id, kind, feature_class, name, geom) FROM STDIN (FORMAT binary)",
            writer=QueuedLibpqWriter(cursor),
        ) as copy,
    ):
        copy.write(COPY_HEADER)
        for start in range(0, n, COPY_SLICE_ROWS):
            part = slice(start, start + COPY_SLICE_ROWS)
            copy.write(binary_copy_rows(columns(part)))
            if progress is not None:
                progress(len(order[part]))
        copy.write(COPY_TRAILER)


@transaction.atomic
def import_layer(
    *,
    actor: Actor | None,
    name: str,
    kind: str,
    geoms: np.ndarray,
    classes: np.ndarray,
    names: np.ndarray | None = None,
    source: str,
    source_date: date | None = None,
    attribution: str = "",
    generated: bool = False,
    details: dict[str, Any] | None = None,
    progress: Callable[[int], object] | None = None,
) -> ReferenceLayer:
    """Create the layer `name`, or replace the features of the existing layer of that name (of
    the same kind), and record an event with the counts. Geometries are shapely, valid, in
    EPSG:4490, lines or polygons as the kind takes; `progress(n)` is told of every n written."""
    data = LayerInput(
        name=name,
        kind=kind,
        geoms=np.asarray(geoms, dtype=object),
        classes=np.asarray(classes, dtype=object),
        names=None if names is None else np.asarray(names, dtype=object),
        source=source,
        source_date=source_date,
        attribution=attribution,
        generated=generated,
        details=dict(details or {}),
    )
    _check_input(data)
    started = time.perf_counter()
    layer = ReferenceLayer.objects.select_for_update().filter(name=name).first()
    replaced = None
    if layer is not None:
        if layer.kind != kind:
            raise ValueError(
                f"The layer {name!r} holds {layer.kind}, not {kind}: give the import another "
                "name, or delete that layer first."
            )
        replaced = layer.feature_count
        ReferenceFeature.objects.filter(layer=layer).delete()
    else:
        layer = ReferenceLayer(name=name, kind=kind)
    layer.source = source[:300]
    layer.source_date = source_date
    layer.attribution = attribution
    layer.generated = generated
    layer.feature_count = len(data.geoms)
    layer.save()
    _write_features(layer, data, progress)
    seconds = time.perf_counter() - started
    by_class = Counter(np.asarray(data.classes, dtype=str).tolist())
    ReferenceEvent.objects.create(
        layer=layer,
        action=ReferenceAction.REPLACED if replaced is not None else ReferenceAction.IMPORTED,
        actor=actor if getattr(actor, "pk", None) else None,
        details={
            "name": name,
            "kind": kind,
            "source": layer.source,
            "source_date": source_date.isoformat() if source_date else None,
            "attribution": attribution,
            "generated": generated,
            "features": layer.feature_count,
            "by_class": dict(sorted(by_class.items())),
            **({"replaced_features": replaced} if replaced is not None else {}),
            "seconds": round(seconds, 3),
            **data.details,
        },
    )
    return layer


@transaction.atomic
def import_layers(
    *,
    actor: Actor | None,
    layers: Sequence[LayerInput],
    progress: Callable[[int], object] | None = None,
) -> list[ReferenceLayer]:
    """`import_layer` for each, all in one transaction: an OpenStreetMap file's five layers
    are imported together or not at all."""
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError("Two layers of one import have the same name.")
    return [
        import_layer(
            actor=actor,
            name=layer.name,
            kind=layer.kind,
            geoms=layer.geoms,
            classes=layer.classes,
            names=layer.names,
            source=layer.source,
            source_date=layer.source_date,
            attribution=layer.attribution,
            generated=layer.generated,
            details=layer.details,
            progress=progress,
        )
        for layer in layers
    ]


@transaction.atomic
def delete_layer(*, actor: Actor | None, layer: ReferenceLayer) -> None:
    """Delete a layer and its features; the event keeps its name, kind and count."""
    locked = ReferenceLayer.objects.select_for_update().get(pk=layer.pk)
    ReferenceEvent.objects.create(
        layer=locked,
        action=ReferenceAction.DELETED,
        actor=actor if getattr(actor, "pk", None) else None,
        details={
            "name": locked.name,
            "kind": locked.kind,
            "source": locked.source,
            "features": locked.feature_count,
        },
    )
    ReferenceFeature.objects.filter(layer=locked).delete()
    locked.delete()

"""Seeded tiles: the grids layer rendered ahead of time (geogrid.tiles.seeding).

The other tables of this app are trigger-kept copies and version rows made in raw SQL
(migrations/0001–0003); this one is written only by the seeding command.
"""

from __future__ import annotations

from django.db import models


class SeededTile(models.Model):
    """One rendered tile of a layer as its data stood at `version` (tiles_layer_version). The
    tile view serves it only while the layer's version is still that one, so a grid edit makes
    every seeded tile of the layer stale at once, in the edit's own transaction; until the
    next seeding those tiles are rendered on request as before."""

    layer = models.CharField(max_length=20)
    z = models.PositiveSmallIntegerField()
    x = models.PositiveIntegerField()
    y = models.PositiveIntegerField()
    version = models.BigIntegerField()
    body = models.BinaryField()
    features = models.PositiveIntegerField()
    seeded_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index the tile view looks a tile up by.
            models.UniqueConstraint(fields=["layer", "z", "x", "y"], name="tiles_seeded_tile"),
            models.CheckConstraint(condition=models.Q(z__lte=30), name="tiles_seeded_zoom"),
        ]

    def __str__(self) -> str:
        return f"{self.layer} {self.z}/{self.x}/{self.y} v{self.version}"

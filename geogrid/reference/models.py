"""Reference layers: the city's physical features that grids follow and the offline basemap draws
(docs/architecture.md §12): roads, water, walls and railways, buildings, green space.

They are data about the city, not about grid management: nothing here refers to a grid. Each
import creates (or replaces) one layer per kind; a layer keeps where its features came from and
how old they are, because a division drawn along last decade's roads is a division a planner
must be able to question.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from geogrid.core.models import AUDITED_OBJECT, AuditEvent
from geogrid.core.srid import STORAGE_SRID


class LayerKind(models.TextChoices):
    ROADS = "roads", _("道路")
    WATER = "water", _("水系")
    WALLS = "walls", _("围墙与铁路")
    BUILDINGS = "buildings", _("建筑")
    GREEN = "green", _("绿地")


class FeatureClass(models.TextChoices):
    """The vocabulary of classes, per kind (docs/domain.md §9.1). The division ranks a boundary
    by the class it lies on: merging across a main road or a river is avoided; a lane is the
    first place to split a block that is too large."""

    # roads
    MAIN = "main", _("主干道")
    SECONDARY = "secondary", _("次干道")
    STREET = "street", _("支路")
    LANE = "lane", _("胡同/小巷")
    # water
    RIVER = "river", _("河流/湖泊")
    STREAM = "stream", _("沟渠")
    # walls
    WALL = "wall", _("围墙")
    RAILWAY = "railway", _("铁路")
    # buildings
    BUILDING = "building", _("建筑")
    # green
    PARK = "park", _("公园绿地")


CLASSES_OF_KIND: dict[str, tuple[str, ...]] = {
    LayerKind.ROADS: (
        FeatureClass.MAIN,
        FeatureClass.SECONDARY,
        FeatureClass.STREET,
        FeatureClass.LANE,
    ),
    LayerKind.WATER: (FeatureClass.RIVER, FeatureClass.STREAM),
    LayerKind.WALLS: (FeatureClass.WALL, FeatureClass.RAILWAY),
    LayerKind.BUILDINGS: (FeatureClass.BUILDING,),
    LayerKind.GREEN: (FeatureClass.PARK,),
}


class ReferenceLayer(models.Model):
    """One imported layer of one kind. Re-importing under the same name replaces its features."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类别"), max_length=20, choices=LayerKind.choices)
    source = models.CharField(_("来源"), max_length=300, help_text=_("文件名或数据集名称"))
    source_date = models.DateField(_("数据日期"), null=True, blank=True)
    attribution = models.CharField(_("版权与许可"), max_length=300, blank=True)
    # Demo layers are generated, not surveyed: pages and the API say so.
    generated = models.BooleanField(_("生成数据 (非真实)"), default=False)
    feature_count = models.PositiveIntegerField(_("要素数"), default=0)
    imported_at = models.DateTimeField(_("导入时间"), auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("参考图层")
        verbose_name_plural = _("参考图层")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in LayerKind]),
                name="reference_layer_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReferenceFeature(models.Model):
    """One line or polygon of a layer, in the storage CRS, clipped to the city."""

    layer = models.ForeignKey(
        ReferenceLayer, on_delete=models.CASCADE, related_name="features", db_index=False
    )
    # The layer's kind again, so that the division and the tiles filter one index, not a join.
    kind = models.CharField(_("类别"), max_length=20, choices=LayerKind.choices)
    feature_class = models.CharField(_("等级"), max_length=20, choices=FeatureClass.choices)
    name = models.CharField(_("名称"), max_length=200, blank=True)
    # Lines (roads, walls, water lines) or polygons (buildings, water areas, green space).
    geom = models.GeometryField(_("几何"), srid=STORAGE_SRID, spatial_index=False)

    class Meta:
        verbose_name = _("参考要素")
        verbose_name_plural = _("参考要素")
        indexes = [
            GistIndex(fields=["geom"], name="reference_feature_geom_gist"),
            models.Index(fields=["layer", "kind"], name="reference_feature_layer_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(geom__isvalid=True), name="%(app_label)s_%(class)s_geom_is_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in LayerKind]),
                name="reference_feature_kind_known",
            ),
        ]


class ReferenceEvent(AuditEvent):
    """Append-only: a layer imported, replaced or deleted (counts, source, never file paths of a
    person's machine beyond the file name)."""

    layer = models.ForeignKey(
        ReferenceLayer, null=True, blank=True, related_name="events", **AUDITED_OBJECT
    )

    class Meta(AuditEvent.Meta):
        verbose_name = _("参考图层记录")
        verbose_name_plural = _("参考图层记录")

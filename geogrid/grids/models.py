"""Multi-level coded grids (docs/domain.md §2): district › street › community › unit grid."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geogrid.core.models import AUDITED_OBJECT, AuditEvent
from geogrid.core.srid import STORAGE_SRID
from geogrid.grids.querysets import GridQuerySet


class GridLevel(models.Model):
    """A level of the hierarchy. Data, not an enum: a city may use 3 levels or 5."""

    slug = models.SlugField(_("标识"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=50, blank=True)
    depth = models.PositiveSmallIntegerField(
        _("层级深度"), unique=True, help_text=_("0 = 最高层级")
    )
    code_length = models.PositiveSmallIntegerField(_("编码位数"))
    min_area_m2 = models.FloatField(_("最小面积 (m²)"), null=True, blank=True)
    max_area_m2 = models.FloatField(_("最大面积 (m²)"), null=True, blank=True)

    class Meta:
        ordering = ["depth"]
        verbose_name = _("网格层级")
        verbose_name_plural = _("网格层级")
        constraints = [
            models.CheckConstraint(
                condition=Q(code_length__gte=2) & Q(code_length__lte=20),
                name="grids_gridlevel_code_length_range",
            ),
            models.CheckConstraint(
                condition=Q(min_area_m2__isnull=True)
                | Q(max_area_m2__isnull=True)
                | Q(min_area_m2__lte=F("max_area_m2")),
                name="grids_gridlevel_area_bounds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GridType(models.TextChoices):
    ADMINISTRATIVE = "administrative", _("行政区域")
    RESIDENTIAL = "residential", _("居住区")
    COMMERCIAL = "commercial", _("商业区")
    INSTITUTION = "institution", _("机关单位")
    CROWDED = "crowded", _("人员密集场所")
    VILLAGE = "village", _("村庄")
    PARK = "park", _("公园绿地")
    FARMLAND = "farmland", _("农田")
    WATER = "water", _("水域")
    MIXED = "mixed", _("混合")
    OTHER = "other", _("其他")


class GridSource(models.TextChoices):
    IMPORTED = "imported", _("导入")
    GENERATED = "generated", _("生成 (非真实边界)")
    DRAWN = "drawn", _("绘制")
    DIVIDED = "divided", _("自动划分")


class AreaClass(models.TextChoices):
    A = "A", _("A 类（核心区）")
    B = "B", _("B 类（一般区）")
    C = "C", _("C 类（边缘区）")


class Grid(models.Model):
    """One grid of any level. Retired grids stay (valid_to set): their codes are never reused."""

    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    # No btree index on level: with one, the planner ANDs it with the GiST index in locate()
    # (every unit grid matches the level) and the lookup runs ~3× slower. Grids number in the
    # tens of thousands, so level filters elsewhere are cheap without it.
    level = models.ForeignKey(
        GridLevel,
        on_delete=models.PROTECT,
        related_name="grids",
        verbose_name=_("层级"),
        db_index=False,
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级网格"),
    )
    # The distribution key for a future Citus deployment (docs/architecture.md §7.2).
    district_code = models.CharField(_("区县代码"), max_length=6, db_index=True)
    grid_type = models.CharField(
        _("类型"), max_length=20, choices=GridType.choices, default=GridType.OTHER
    )
    source = models.CharField(
        _("来源"), max_length=20, choices=GridSource.choices, default=GridSource.DRAWN
    )
    # Time limits of cases depend on it (A 核心区 / B 一般区 / C 边缘区); blank: as the parent grid.
    area_class = models.CharField(
        _("区域类别"), max_length=1, choices=AreaClass.choices, blank=True
    )
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    population = models.PositiveIntegerField(_("人口"), null=True, blank=True)
    officer_name = models.CharField(_("责任网格员"), max_length=50, blank=True)
    officer_phone = models.CharField(_("网格员电话"), max_length=30, blank=True)
    responsible_department = models.CharField(_("责任部门"), max_length=100, blank=True)
    geom = models.MultiPolygonField(_("边界"), srid=STORAGE_SRID, spatial_index=False)
    area_m2 = models.FloatField(_("面积 (m²)"))
    valid_from = models.DateTimeField(_("生效时间"), default=timezone.now)
    valid_to = models.DateTimeField(_("失效时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GridQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        indexes = [
            # locate() and the bbox API filter: point-in-polygon over active grids.
            GistIndex(fields=["geom"], name="grids_grid_geom_gist"),
            # Subtree queries by code prefix (codes carry their ancestry): LIKE '110101001%'.
            models.Index(
                fields=["code"], name="grids_grid_code_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["parent", "code"], name="grids_grid_parent_code"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(geom__isvalid=True), name="%(app_label)s_%(class)s_geom_is_valid"
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{6,20}$"), name="grids_grid_code_digits"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="grids_grid_validity_ordered",
            ),
            models.CheckConstraint(condition=Q(area_m2__gte=0), name="grids_grid_area_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.valid_to is None


class GridBoundary(models.Model):
    """Every boundary a grid has had, the current one included (valid_to is null for it).

    Answers "which grid was this point in on date D" and shows a grid's history on the map.
    """

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="boundaries")
    version = models.PositiveIntegerField()
    geom = models.MultiPolygonField(srid=STORAGE_SRID, spatial_index=False)
    area_m2 = models.FloatField()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["grid", "version"]
        verbose_name = _("网格边界版本")
        verbose_name_plural = _("网格边界版本")
        indexes = [
            # Historical point lookups ("which grid on date D").
            GistIndex(fields=["geom"], name="grids_gridboundary_geom_gist"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "version"], name="grids_boundary_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(geom__isvalid=True), name="%(app_label)s_%(class)s_geom_is_valid"
            ),
        ]


class GridAction(models.TextChoices):
    """What a GridEvent records (its `action`; docs/architecture.md §3.3). The values are what
    the table holds, so they never change; the event's details say the rest."""

    CREATED = "created"
    IMPORTED = "imported"
    RESHAPED = "reshaped"
    UPDATED = "updated"  # attributes only
    SPLIT = "split"  # on each grid a split creates
    MERGED = "merged"  # on the grid a merge creates
    DIVIDED = "divided"  # on the parent, and on each child a re-division creates
    RETIRED = "retired"  # also on each grid a split, merge or division replaces


class GridEvent(AuditEvent):
    """Audit trail of grid changes: one GridAction each."""

    grid = models.ForeignKey(Grid, null=True, related_name="events", **AUDITED_OBJECT)

    class Meta(AuditEvent.Meta):
        verbose_name = _("网格变更记录")
        verbose_name_plural = _("网格变更记录")


class GridScope(models.Model):
    """The grids a user acts on (with their descendants): a planner's area, an inspector's grids."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_scopes"
    )
    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="scoped_users")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("网格权限范围")
        verbose_name_plural = _("网格权限范围")
        constraints = [
            models.UniqueConstraint(fields=["user", "grid"], name="grids_scope_unique_user_grid")
        ]

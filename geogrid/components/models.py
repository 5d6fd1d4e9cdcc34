"""City components (城市部件): taxonomy, departments and the coded inventory
(docs/domain.md §3)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Range
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geogrid.components.querysets import ComponentQuerySet
from geogrid.core.models import AUDITED_OBJECT, AuditEvent
from geogrid.core.srid import STORAGE_SRID


class CodeScheme(models.TextChoices):
    """The two component code standards; which one is active is a setting."""

    CJT214 = "cjt214", _("CJ/T 214-2007 / GB/T 30428.2-2013 (16位)")
    GBT47678 = "gbt47678", _("GB/T 47678.5-2026 (17位)")


class GeometryKind(models.TextChoices):
    POINT = "point", _("点")
    LINE = "line", _("线")
    POLYGON = "polygon", _("面")


class Department(models.Model):
    """A department or unit that is competent for, owns or maintains components."""

    # 统一社会信用代码 (18 characters) where known, else a local code.
    code = models.CharField(_("部门代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    # Short key of the taxonomy's department vocabulary (园林, 交管, ...): class defaults
    # point to departments through it.
    key = models.CharField(_("类别"), max_length=20, blank=True, db_index=True)
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class DepartmentMember(models.Model):
    """Which department a user works for (their scope as a department handler)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="department_memberships"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="members")

    class Meta:
        verbose_name = _("部门成员")
        verbose_name_plural = _("部门成员")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="components_member_unique")
        ]


class ComponentClass(models.Model):
    """A class of the taxonomy (major + minor), as data: both standards ship; a deployment may
    correct rows or add local extension classes in the admin."""

    scheme = models.CharField(_("编码标准"), max_length=10, choices=CodeScheme.choices)
    code = models.CharField(_("类别代码"), max_length=5)  # major + minor: 4 or 5 digits
    major_code = models.CharField(_("大类代码"), max_length=2)
    major_name = models.CharField(_("大类名称"), max_length=50)
    major_name_en = models.CharField(_("大类英文名称"), max_length=80, blank=True)
    minor_code = models.CharField(_("小类代码"), max_length=3)
    name = models.CharField(_("小类名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=120, blank=True)
    # Allowed geometry kinds, e.g. "point" or "point/polygon".
    geometry = models.CharField(_("几何类型"), max_length=30, default=GeometryKind.POINT)
    default_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("默认主管部门"),
    )
    is_local = models.BooleanField(_("地方扩展"), default=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["scheme", "code"]
        verbose_name = _("部件类别")
        verbose_name_plural = _("部件类别")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="components_class_unique"),
            models.CheckConstraint(
                condition=(
                    Q(scheme="cjt214", code__regex=r"^[0-9]{4}$")
                    | Q(scheme="gbt47678", code__regex=r"^[0-9]{5}$")
                ),
                name="components_class_code_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def geometry_kinds(self) -> list[str]:
        return [kind for kind in self.geometry.split("/") if kind]


class ComponentStatus(models.TextChoices):
    INTACT = "intact", _("完好")
    DAMAGED = "damaged", _("破损")
    LOST = "lost", _("丢失")
    OCCUPIED = "occupied", _("占用")
    ABANDONED = "abandoned", _("废弃")


class Currency(models.TextChoices):
    IN_USE = "in_use", _("在用")
    VOID = "void", _("作废")


class DataSource(models.TextChoices):
    SURVEYED = "surveyed", _("实测")
    MAP = "map", _("地形图")
    BASE_DATA = "base_data", _("基础地理数据")
    OTHER = "other", _("其他")


class ComponentAction(models.TextChoices):
    """What a ComponentEvent records (its `action`; docs/architecture.md §3.3); IMPORTED is the
    action of a ComponentImport, the one history entry of all the components of an import.
    The values are what the tables hold, so they never change."""

    CREATED = "created"
    IMPORTED = "imported"
    UPDATED = "updated"
    STATUS = "status"
    PHOTO_ADDED = "photo_added"
    VOIDED = "voided"
    REGRIDDED = "regridded"  # moved to another grid by a grid edit


class ComponentImport(AuditEvent):
    """The audit record of one committed inventory import (import_components): who, when,
    which file, what it created. Its components point back to it (Component.import_batch),
    which is their 'imported' history entry: one row per import instead of one per component
    keeps a million-row import within its time budget (bench/README.md)."""

    file_name = models.CharField(_("文件"), max_length=255)
    scheme = models.CharField(_("编码标准"), max_length=10, choices=CodeScheme.choices)
    created_count = models.PositiveIntegerField(_("新建部件数"), default=0)

    class Meta(AuditEvent.Meta):
        verbose_name = _("部件导入记录")
        verbose_name_plural = _("部件导入记录")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_count:,}, {self.created_at:%Y-%m-%d %H:%M})"


class Component(models.Model):
    """One coded urban component. Its grid is a recorded fact, changed only by services."""

    code = models.CharField(_("部件标识码"), max_length=17)
    # Distribution key (docs/architecture.md §7.2) and the allocation scope of serial numbers.
    district_code = models.CharField(_("区县代码"), max_length=6)
    component_class = models.ForeignKey(
        ComponentClass,
        on_delete=models.PROTECT,
        related_name="components",
        verbose_name=_("部件类别"),
        db_index=False,  # led by components_class_status
    )
    name = models.CharField(_("部件名称"), max_length=100)
    competent_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="competent_for",
        verbose_name=_("主管部门"),
        db_index=False,
    )
    owner_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owns",
        verbose_name=_("权属单位"),
        db_index=False,
    )
    maintainer_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="maintains",
        verbose_name=_("养护单位"),
        db_index=False,
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ComponentStatus.choices, default=ComponentStatus.INTACT
    )
    currency = models.CharField(
        _("现势性"), max_length=10, choices=Currency.choices, default=Currency.IN_USE
    )
    geom = models.GeometryField(_("位置"), srid=STORAGE_SRID, spatial_index=False)
    grid = models.ForeignKey(
        "grids.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="components",
        verbose_name=_("所在单元网格"),
        db_index=False,  # led by components_grid_class
    )
    location_description = models.CharField(_("位置描述"), max_length=256, blank=True)
    data_source = models.CharField(
        _("数据来源"), max_length=20, choices=DataSource.choices, default=DataSource.SURVEYED
    )
    initial_date = models.DateField(_("初始日期"), default=timezone.localdate)
    change_date = models.DateField(_("变更日期"), null=True, blank=True)
    material = models.CharField(_("材质"), max_length=50, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set on components created by an import: their history starts there.
    import_batch = models.ForeignKey(
        ComponentImport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="components",
        verbose_name=_("导入记录"),
        db_index=False,  # import records are never deleted; lists go by created_at
    )

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("部件")
        verbose_name_plural = _("部件")
        # Few indexes on purpose: every one costs each insert, and a million-row import spends
        # most of its time maintaining them (bench/README.md). No single-column index on the
        # class, grid or department keys: the first two lead a composite index below; the
        # departments are filtered with OR over three roles (not indexable) and deleted rarely.
        indexes = [
            # near= queries, bbox filters and re-assignment after grid edits.
            GistIndex(fields=["geom"], name="components_geom_gist"),
            # "in my grid" lists and the grid summary.
            models.Index(fields=["grid", "component_class"], name="components_grid_class"),
            models.Index(fields=["component_class", "status"], name="components_class_status"),
        ]
        constraints = [
            # Unique per district: the distribution key is part of every unique constraint.
            # `code` leads, so this one index also serves lookups by code, ORDER BY code and
            # code prefixes (written as ranges: ComponentQuerySet.code_prefix).
            models.UniqueConstraint(
                fields=["code", "district_code"], name="components_unique_code"
            ),
            models.CheckConstraint(
                condition=Q(geom__isvalid=True), name="%(app_label)s_%(class)s_geom_is_valid"
            ),
            # 16 or 17 digits, written as a length range and an unbounded class: PostgreSQL's
            # regex engine spends ~0.8 µs a row on the bounded repetition ^[0-9]{16,17}$, most
            # of a second per million imported rows (bench/README.md); this is the same rule.
            models.CheckConstraint(
                condition=Q(Range(Length("code"), (16, 17)), code__regex=r"^[0-9]+$"),
                name="components_code_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ComponentPhoto(models.Model):
    """A photo of a component as sent (checked by core.photos) and its upright JPEG preview."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("照片"), upload_to="components/%Y/%m/")
    preview = models.FileField(_("预览图"), upload_to="components/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(_("宽度"), null=True, blank=True)
    height = models.PositiveIntegerField(_("高度"), null=True, blank=True)
    caption = models.CharField(_("说明"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("部件照片")
        verbose_name_plural = _("部件照片")


class ComponentSerial(models.Model):
    """The last serial number handed out per district, scheme and class.

    Only ever increases (one upsert per allocation, concurrency-safe), so serials are never
    reused, not even after a component is voided.
    """

    district_code = models.CharField(max_length=6)
    scheme = models.CharField(max_length=10, choices=CodeScheme.choices)
    class_code = models.CharField(max_length=5)
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district_code", "scheme", "class_code"], name="components_serial_unique"
            ),
            models.CheckConstraint(
                condition=Q(last_serial__lte=999_999), name="components_serial_six_digits"
            ),
        ]


class ComponentEvent(AuditEvent):
    """Audit trail of component changes: one ComponentAction each."""

    component = models.ForeignKey(Component, related_name="events", **AUDITED_OBJECT)

    class Meta(AuditEvent.Meta):
        verbose_name = _("部件变更记录")
        verbose_name_plural = _("部件变更记录")

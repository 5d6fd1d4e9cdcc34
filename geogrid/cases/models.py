"""Reports and cases (上报 / 案卷): the case taxonomy, the case itself through its whole life from
report to closing, its audit events and photos, routing overrides, the working calendar and
Open311 API keys.

One table holds a case from the moment it is reported: a report is a case in status 上报, so
intake is one insert and the Open311 `service_request_id` (the case id) never changes. The
workflow (statuses and the allowed moves) lives in `workflow.py`; only the use-case modules
(`intake.py`, `transitions.py`, `calendar.py`, `open311_keys.py`, `regridding.py`) write.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from geogrid.cases.querysets import CaseQuerySet
from geogrid.components.models import CodeScheme, Component, ComponentClass, Department
from geogrid.core.models import AUDITED_OBJECT, AuditEvent
from geogrid.core.srid import STORAGE_SRID
from geogrid.grids.models import AreaClass
from geogrid.patrols.models import PathCheck


class CaseKind(models.TextChoices):
    COMPONENT = "component", _("部件")
    EVENT = "event", _("事件")


class LimitUnit(models.TextChoices):
    HOURS = "hours", _("工作时")
    DAYS = "days", _("工作日")


class CaseClass(models.Model):
    """A case category (立案类别) of one scheme: an event/matter class, or a component class for
    component cases. Time limits per area class, filing and closing conditions, the default
    department. `service_code` is its Open311 code (unique per scheme): GB/T 47678.5 matter
    codes are unique as they are; the legacy scheme numbers components and events separately,
    so its codes get a prefix (B = 部件, S = 事件: B0101 上水井盖, S0101 私搭乱建)."""

    scheme = models.CharField(_("编码标准"), max_length=10, choices=CodeScheme.choices)
    kind = models.CharField(_("案件类型"), max_length=10, choices=CaseKind.choices)
    code = models.CharField(_("类别代码"), max_length=5)
    service_code = models.CharField(_("服务代码"), max_length=8)
    major_code = models.CharField(_("大类代码"), max_length=2)
    major_name = models.CharField(_("大类名称"), max_length=50)
    minor_code = models.CharField(_("小类代码"), max_length=3)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    # For component cases: the component class this category is about (its 异常).
    component_class = models.ForeignKey(
        ComponentClass,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_classes",
        verbose_name=_("部件类别"),
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("默认处置部门"),
    )
    filing_condition = models.TextField(_("立案条件"), blank=True)
    closing_condition = models.TextField(_("结案条件"), blank=True)
    limit_a = models.PositiveIntegerField(_("处置时限 A"))
    limit_b = models.PositiveIntegerField(_("处置时限 B"))
    limit_c = models.PositiveIntegerField(_("处置时限 C"))
    limit_unit = models.CharField(_("时限单位"), max_length=5, choices=LimitUnit.choices)
    # Open311 service definition attributes (GeoReport v2 `attributes`); empty for most.
    attributes = models.JSONField(_("附加属性"), default=list, blank=True)
    is_local = models.BooleanField(_("本地扩展"), default=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["scheme", "service_code"]
        verbose_name = _("案件类别")
        verbose_name_plural = _("案件类别")
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "service_code"], name="cases_class_service_code_unique"
            ),
            models.UniqueConstraint(
                fields=["scheme", "kind", "code"], name="cases_class_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(limit_a__gt=0)
                & Q(limit_a__lte=models.F("limit_b"))
                & Q(limit_b__lte=models.F("limit_c")),
                name="cases_class_limits_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_code} {self.name}"

    def limit_for(self, area_class: str) -> int:
        return {"A": self.limit_a, "B": self.limit_b, "C": self.limit_c}[area_class]


class Channel(models.TextChoices):
    INSPECTOR = "inspector", _("监督员上报")
    CITIZEN = "citizen", _("公众举报")
    HOTLINE = "hotline", _("热线")
    VIDEO = "video", _("视频监控")
    OPEN311 = "open311", _("Open311")
    API = "api", _("系统对接")


class CaseStatus(models.TextChoices):
    REPORTED = "reported", _("待受理")
    ACCEPTED = "accepted", _("待立案")
    REJECTED = "rejected", _("不予受理")
    FILED = "filed", _("待派遣")
    DISPATCHED = "dispatched", _("处置中")
    RETURNED = "returned", _("已回退")
    EXTENSION_REQUESTED = "extension_requested", _("延期申请中")
    PARKED = "parked", _("挂账")
    HANDLED = "handled", _("待核查")
    REWORK = "rework", _("返工中")
    CHECKED = "checked", _("待结案")
    CLOSED = "closed", _("已结案")
    CANCELLED = "cancelled", _("已作废")


class RoutedBy(models.TextChoices):
    COMPONENT = "component_owner", _("部件权属单位")
    GRID_RULE = "grid_rule", _("网格指定部门")
    CLASS_DEFAULT = "class_default", _("类别默认部门")
    UNROUTED = "none", _("待指定")
    OPERATOR = "operator", _("派遣员指定")


class Case(models.Model):
    """A report and, once accepted and filed, the case it becomes (案卷)."""

    # Distribution key (docs/architecture.md §7.2), from the grid the point lies in.
    district_code = models.CharField(_("区县代码"), max_length=6)
    channel = models.CharField(_("来源"), max_length=10, choices=Channel.choices)
    case_class = models.ForeignKey(
        CaseClass,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("案件类别"),
        db_index=False,
    )
    kind = models.CharField(_("案件类型"), max_length=10, choices=CaseKind.choices)
    component = models.ForeignKey(
        Component,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("部件"),
    )
    description = models.TextField(_("问题描述"), blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    geom = models.PointField(_("位置"), srid=STORAGE_SRID, spatial_index=False)
    # The point as it was sent (lon, lat, CRS), before conversion to the storage CRS.
    submitted_point = models.JSONField(_("上报坐标"), default=dict, blank=True)
    # The grid path found at intake; changed only by an explicit, audited re-assignment.
    grid = models.ForeignKey(
        "grids.Grid",
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("单元网格"),
        db_index=False,
    )
    grid_code = models.CharField(_("网格编码"), max_length=17)
    street_code = models.CharField(_("街道编码"), max_length=9, blank=True)
    community_code = models.CharField(_("社区编码"), max_length=12, blank=True)
    area_class = models.CharField(
        _("区域类别"), max_length=1, choices=AreaClass.choices, default=AreaClass.B
    )
    # The grid level the case is handled at; escalation raises it (小事不出网格).
    handling_level = models.CharField(_("处置层级"), max_length=20, default="unit")
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("处置部门"),
        db_index=False,
    )
    routed_by = models.CharField(
        _("派遣依据"), max_length=20, choices=RoutedBy.choices, default=RoutedBy.UNROUTED
    )
    # Private: never in public API output or exports.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
        verbose_name=_("上报人"),
    )
    reporter_name = models.CharField(_("联系人"), max_length=100, blank=True)
    reporter_phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    reporter_email = models.EmailField(_("电子邮箱"), blank=True)
    open311_key = models.ForeignKey(
        "cases.Open311Key",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("Open311 接入方"),
    )
    device_id = models.CharField(_("设备标识"), max_length=100, blank=True)
    account_id = models.CharField(_("账户标识"), max_length=100, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.REPORTED
    )
    possible_duplicates = models.JSONField(_("疑似重复"), default=list, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("重复于"),
    )
    reported_at = models.DateTimeField(_("上报时间"))
    # When an inspector's phone wrote the report, if it waited in its offline queue; the path
    # check compares the track at this moment (docs/domain.md §8.4).
    observed_at = models.DateTimeField(_("采集时间"), null=True, blank=True)
    # Generated by the reporter's phone: a report sent again (an offline queue retrying after
    # a lost answer) is recognised and answered with the first case.
    client_id = models.UUIDField(_("客户端标识"), null=True, blank=True)
    path_check = models.CharField(
        _("轨迹核查"),
        max_length=10,
        choices=PathCheck.choices,
        default=PathCheck.NOT_CHECKED,
        db_default=PathCheck.NOT_CHECKED,
        blank=True,
    )
    # How far the report lay from where the inspector's track was at its time.
    path_distance_m = models.FloatField(_("偏离轨迹距离 (m)"), null=True, blank=True)
    # Made by the demo's history generator, not by a person (shown as such on the pages).
    generated = models.BooleanField(_("生成的演示数据"), default=False, db_default=False)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    filed_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    deadline = models.DateTimeField(_("处置时限"), null=True, blank=True)
    handled_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    overdue = models.BooleanField(_("已超期"), default=False)
    return_count = models.PositiveIntegerField(_("回退次数"), default=0)
    extension_count = models.PositiveIntegerField(_("延期次数"), default=0)
    rework_count = models.PositiveIntegerField(_("返工次数"), default=0)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        indexes = [
            GistIndex(fields=["geom"], name="cases_geom_gist"),
            # Duplicates at intake: same class, recent.
            models.Index(fields=["case_class", "reported_at"], name="cases_class_reported"),
            # Queues: the desk (status), a department's inbox, overdue scans.
            models.Index(fields=["status", "reported_at"], name="cases_status_reported"),
            models.Index(fields=["department", "status"], name="cases_department_status"),
            models.Index(fields=["grid", "status"], name="cases_grid_status"),
            models.Index(
                fields=["deadline"],
                name="cases_open_deadline",
                condition=Q(closed_at__isnull=True) & Q(deadline__isnull=False),
            ),
            # Counts per grid for any period (command center): an index-only scan of the period,
            # never the wide case rows (measured: 2.4 s → see bench/README.md for 1M reports).
            models.Index(
                fields=["reported_at", "grid"],
                name="cases_period_grid",
                include=["case_class", "overdue", "grid_code"],
            ),
            # Indicators by period and grid subtree (codes carry their ancestry).
            models.Index(
                fields=["grid_code", "reported_at"],
                name="cases_grid_code_reported",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
            # A repeated Open311 POST (intake.submit_open311_report): the key's recent cases,
            # however many the key has sent in all.
            models.Index(
                fields=["open311_key", "reported_at"],
                name="cases_open311_key_recent",
                condition=Q(open311_key__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(geom__isvalid=True), name="%(app_label)s_%(class)s_geom_is_valid"
            ),
            models.CheckConstraint(
                condition=Q(grid_code__startswith=models.F("district_code")),
                name="cases_grid_in_district",
            ),
            models.UniqueConstraint(
                fields=["reporter", "client_id", "district_code"],
                name="cases_case_client_id_unique",
                condition=Q(client_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.case_class.name if self.case_class_id else ''}"


class CaseAction(models.TextChoices):
    """What a CaseEvent records (its `action`; docs/architecture.md §3.3): a workflow move
    (cases/workflow.py, whose ACTION_LABELS say them in words) or one of the other changes.
    The values are what the table holds, so they never change. Intake's statement writes
    REPORTED as a literal (cases/intake_store.py)."""

    REPORTED = "reported"
    # The workflow's moves (cases/workflow.py TRANSITIONS).
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FILED = "filed"
    DISPATCHED = "dispatched"
    REDISPATCHED = "redispatched"
    RETURNED = "returned"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_DECIDED = "extension_decided"
    HANDLED = "handled"
    CHECKED = "checked"
    REWORK = "rework"
    CLOSED = "closed"
    PARKED = "parked"
    RESUMED = "resumed"
    CANCELLED = "cancelled"
    # The other changes.
    ESCALATED = "escalated"
    OVERDUE = "overdue"
    REGRIDDED = "regridded"


class CaseEvent(AuditEvent):
    """Every transition (from → to, who, when, why) and every other change of a case."""

    case = models.ForeignKey(Case, related_name="events", **AUDITED_OBJECT)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)

    class Meta(AuditEvent.Meta):
        verbose_name = _("案件流转记录")
        verbose_name_plural = _("案件流转记录")


class GridMonthCount(models.Model):
    """Reports per unit grid and calendar month: the command center's long periods read these
    instead of a million case rows (command_center/queries.py adds the partial months at the
    edges from the cases themselves, so every count stays exact).

    Derived data, written only by triggers on `cases_case` (migration 0003), never by Python:
    every write path (intake's single statement, workflow saves, `flag_overdue`'s bulk UPDATE,
    re-assignment, bulk inserts) then keeps it exact in the same transaction, which no service
    hook could promise for `QuerySet.update()` or raw SQL. A month is the local calendar month
    of `cases_count_month()` (settings.TIME_ZONE when the migration ran); the queries call the
    same function, so the split into whole months and edges always matches what is stored.
    """

    pk = models.CompositePrimaryKey("month", "grid", "grid_code")
    month = models.DateTimeField(_("月份"))  # the month's first instant
    # No foreign key: cases already hold the grid (PROTECT), and a key check per upsert would
    # tax intake for nothing.
    grid = models.ForeignKey(
        "grids.Grid",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    grid_code = models.CharField(_("网格编码"), max_length=17)
    reports = models.IntegerField(_("上报数"))
    overdue = models.IntegerField(_("已超期"))

    class Meta:
        verbose_name = _("网格月上报数")
        verbose_name_plural = _("网格月上报数")


class PhotoStage(models.TextChoices):
    REPORT = "report", _("上报")
    FEEDBACK = "feedback", _("处置反馈")
    CHECK = "check", _("核查")


class CasePhoto(models.Model):
    """A photo of a case (checked by core.photos) and its upright JPEG preview."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(_("环节"), max_length=10, choices=PhotoStage.choices)
    image = models.FileField(_("照片"), upload_to="cases/%Y/%m/")
    preview = models.FileField(_("预览图"), upload_to="cases/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(_("宽度"), null=True, blank=True)
    height = models.PositiveIntegerField(_("高度"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")


class RoutingRule(models.Model):
    """A per-grid override of the responsible department: for one class (or every class) in
    a grid and everything below it. The most specific grid wins, then a class rule over an
    all-classes rule (intake_store._route)."""

    grid = models.ForeignKey(
        "grids.Grid", on_delete=models.CASCADE, related_name="routing_rules", verbose_name=_("网格")
    )
    case_class = models.ForeignKey(
        CaseClass,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        verbose_name=_("案件类别（空 = 全部）"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name=_("处置部门")
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("网格派遣规则")
        verbose_name_plural = _("网格派遣规则")
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "case_class"], name="cases_rule_unique", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid.code} {self.case_class or '*'} → {self.department}"


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("节假日")
    WORKDAY = "workday", _("调休上班")


class CalendarDay(models.Model):
    """An exception to the Monday–Friday working week (core.worktime.WorkCalendar)."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class Open311Key(models.Model):
    """An API key of a client system (GeoReport v2 `api_key`). Only a hash is stored; the key
    is shown once, when it is created."""

    name = models.CharField(_("接入方"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("密钥前缀"), max_length=8)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Who revoked it and when (the actor's username is copied: it outlives the account).
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.CharField(_("吊销人"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("Open311 密钥")
        verbose_name_plural = _("Open311 密钥")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Open311KeyAction(models.TextChoices):
    """What an Open311KeyEvent records (its `action`); stored values, never changed."""

    CREATED = "created"
    REVOKED = "revoked"
    ROTATED = "rotated"


class Open311KeyEvent(AuditEvent):
    """Every change of a client system's key: created, revoked, rotated (a new secret for the
    same client). Details hold the key prefixes, never a key."""

    key = models.ForeignKey(Open311Key, related_name="events", **AUDITED_OBJECT)

    class Meta(AuditEvent.Meta):
        verbose_name = _("Open311 密钥记录")
        verbose_name_plural = _("Open311 密钥记录")

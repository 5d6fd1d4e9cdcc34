"""Users and their roles (docs/domain.md §1). Scopes live with what they scope
(grids.GridScope)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLANNER = "planner", _("规划员 (网格管理)")
    INSPECTOR = "inspector", _("监督员 (网格员)")
    OPERATOR = "operator", _("受理员/派遣员")
    DEPARTMENT = "department", _("专业部门处置人员")
    VIEWER = "viewer", _("指挥中心 (只读)")
    ADMIN = "admin", _("系统管理员")


# Roles that see and act on the whole city, not a list of grids.
CITY_WIDE_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.VIEWER})


class User(AbstractUser):
    # No role until an administrator grants one: a new account sees only what the public sees
    # (README "Privacy model"), never the whole city as a viewer would.
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default="", blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @property
    def has_role(self) -> bool:
        return bool(self.effective_role)

    @property
    def effective_role(self) -> str:
        return Role.ADMIN if self.is_superuser else self.role

    @property
    def is_city_wide(self) -> bool:
        return self.effective_role in CITY_WIDE_ROLES


class AttemptCounter(models.Model):
    """Failed log-ins (or Open311 posts) of one account or one address in a fixed window: the
    throttle's store, in the database so every gunicorn worker sees the same counts
    (geogrid/accounts/throttle.py). `key` is a hash: no username or address is stored."""

    key = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("尝试计数")
        verbose_name_plural = _("尝试计数")

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.count}"

"""Admin pieces shared by the domain apps (no models of its own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # generic in the type stubs only; Django's classes take no parameters
    _ModelForm = forms.ModelForm[Any]
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelForm = forms.ModelForm
    _ModelAdmin = admin.ModelAdmin


class AppendOnlyAdmin(_ModelAdmin):
    """The admin of an audit table: its rows can be read, never added, changed or deleted
    (docs/architecture.md §3.3; the database refuses changes too, geogrid/core/audit.py)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OpenedVersionForm(_ModelForm):
    """A change form that remembers the `version` of the object when the page was opened.

    Why: the admin loads the object again when the form is posted, so a save compared against
    that fresh copy would always pass, and two people editing the same object would overwrite
    each other silently. The page carries the version it showed; a save whose version is no
    longer the stored one is refused on the form, and the services compare it once more under
    their row lock. Admin classes list `opened_version` among their fields (it renders hidden).
    """

    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.instance.pk:
            return data
        opened = data.get("opened_version")
        if opened is None:
            raise ValidationError(_("这个页面缺少打开时的版本号，请重新打开后再保存。"))
        if opened != self.instance.version:
            raise ValidationError(
                _(
                    "在您打开此页面后，其他人已保存了修改（当前版本 %(current)s，您打开的是版本 "
                    "%(opened)s）。请重新打开页面查看最新内容，再重新做您的修改。"
                ),
                params={"current": self.instance.version, "opened": opened},
                code="stale_version",
            )
        return data

    @property
    def opened(self) -> int:
        """The version the page was opened with (for the services' expected_version)."""
        return int(self.cleaned_data["opened_version"])

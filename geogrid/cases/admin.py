"""Open311 client keys in the admin: listed by name and prefix (the key itself is never
stored), revoked with an action; new keys come from `manage.py create_open311_key`."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from geogrid.accounts.actors import actor_of
from geogrid.cases.models import Open311Key
from geogrid.cases.open311_keys import revoke_open311_key


@admin.register(Open311Key)
class Open311KeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "active", "created_at", "revoked_at", "revoked_by")
    list_filter = ("active",)
    search_fields = ("name", "prefix")
    fields = ("name", "prefix", "active", "created_at", "revoked_at", "revoked_by")
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description=_("吊销所选 Open311 密钥"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Open311Key]) -> None:
        count = sum(revoke_open311_key(key=key, actor=actor_of(request)) for key in queryset)
        self.message_user(
            request,
            ngettext("已吊销 %(count)d 个密钥。", "已吊销 %(count)d 个密钥。", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the key is shown once, by manage.py create_open311_key

    def has_delete_permission(self, request: HttpRequest, obj: Open311Key | None = None) -> bool:
        return False  # cases name their key: revoke instead

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

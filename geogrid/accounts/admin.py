from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from knox.models import AuthToken

from geogrid.accounts import services
from geogrid.accounts.actors import actor_of
from geogrid.accounts.models import User


@admin.register(User)
class GeoGridUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (*UserAdmin.fieldsets, ("GeoGrid", {"fields": ("role", "phone")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("GeoGrid", {"fields": ("role",)}))


# knox registers an admin that lists each token's digest and can mint tokens; ours shows whose
# token it is and until when, never a digest or a key, and can only revoke.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expiry", "is_expired")
    list_filter = ("created", "expiry")
    search_fields = ("user__username",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields
    ordering = ("-created",)
    actions = ["revoke"]

    @admin.display(boolean=True, description=_("已过期"))
    def is_expired(self, token: AuthToken) -> bool:
        return token.expiry is not None and token.expiry <= timezone.now()

    @admin.action(description=_("吊销所选 API 令牌"), permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        count = services.revoke_tokens(actor=actor_of(request), tokens=queryset)
        self.message_user(
            request,
            ngettext("已吊销 %(count)d 个令牌。", "已吊销 %(count)d 个令牌。", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens come from /api/v1/auth/token/, shown once to their owner

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "revoke" says what it does
        return actions

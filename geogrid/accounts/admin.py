from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from geogrid.accounts.models import User


@admin.register(User)
class GeoGridUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (*UserAdmin.fieldsets, ("GeoGrid", {"fields": ("role", "phone")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("GeoGrid", {"fields": ("role",)}))

"""The projects app's own tables in the admin; the moderation pages are in ``wikivisage.admin``."""

from django.contrib import admin

from .models import Heartbeat, Membership


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["token", "sent_at", "answered_at", "worker"]
    readonly_fields = ["token", "sent_at", "answered_at", "worker"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]

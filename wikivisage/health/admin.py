"""Worker health in the admin: read-only, written by beat, the workers and the web's pings."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Heartbeat, QueueHealth
from .status import heartbeat_stale, queue_backlog


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["token", "sent_at", "answered_at", "worker"]
    readonly_fields = ["token", "sent_at", "answered_at", "worker"]


@admin.register(QueueHealth)
class QueueHealthAdmin(admin.ModelAdmin):
    """Each queue's last heartbeat, backlog and failed tasks: written by beat and the workers
    only (the stall banner on the admin's index is templates/admin/index.html)."""

    list_display = [
        "queue",
        "stale",
        "answered_at",
        "worker",
        "lag",
        "backlog",
        "failures",
        "failures_since",
        "last_failure",
        "last_failure_at",
        "stall_reported_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("stale"), boolean=True)
    def stale(self, row):
        return heartbeat_stale(row.answered_at)

    @admin.display(description=_("messages waiting"))
    def backlog(self, row):
        return queue_backlog([row.queue])[row.queue]

"""Moderation of what WikiVisage writes: every edit with who approved, sent and undid it,
the global kill switch, and actions to cancel or resume edits."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from depicts.services import cancel, resume

from .models import DepictsEdit, WriteSwitch, WriteThrottle

AUDIT_FIELDS = (
    "project",
    "image",
    "face",
    "qid",
    "written_qid",
    "action",
    "state",
    "statement_id",
    "region",
    "removed_statements",
    "batch",
    "error",
    "attempts",
    "revision",
    "approved_by",
    "approved_at",
    "sent_by",
    "queued_at",
    "claimed_at",
    "sent_at",
    "reverted_by",
    "reverted_at",
    "checked_at",
    "updated_at",
)


@admin.register(DepictsEdit)
class DepictsEditAdmin(admin.ModelAdmin):
    """Append-only: an edit changes only through its workflow and the moderation actions
    below, so the trail stays true; nobody edits or deletes a row here."""

    list_display = [
        "image",
        "qid",
        "action",
        "state",
        "error",  # why it was refused, cancelled or failed
        "project",
        "approved_by",
        "sent_by",
        "reverted_by",
        "approved_at",
        "sent_at",
    ]
    list_filter = [
        "state",
        "action",
        "project",
        "approved_by",
        "sent_by",
        "reverted_by",
        "approved_at",
        "sent_at",
    ]
    date_hierarchy = "approved_at"
    search_fields = ["qid", "image__title", "statement_id", "batch"]
    list_select_related = ["image", "project", "approved_by", "sent_by", "reverted_by"]
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS
    actions = ["cancel", "resume"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Cancel the selected edits that have not been sent"))
    def cancel(self, request, queryset):
        count = cancel.edits_cancel(edits=queryset)
        self.message_user(
            request, ngettext("%d edit cancelled.", "%d edits cancelled.", count) % count
        )

    @admin.action(description=_("Queue the selected waiting edits again"))
    def resume(self, request, queryset):
        resumed = resume.edits_resume(edits=queryset, force=True)
        count = len(resumed.sends) + len(resumed.reverts)
        self.message_user(request, ngettext("%d edit queued.", "%d edits queued.", count) % count)


@admin.register(WriteSwitch)
class WriteSwitchAdmin(admin.ModelAdmin):
    """The global switch: off stops every write at once; on resumes the queued edits."""

    list_display = ["__str__", "reason", "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]

    def has_add_permission(self, request) -> bool:
        return not WriteSwitch.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)
        if obj.writes_enabled:
            resumed = resume.edits_resume(force=True)
            count = len(resumed.sends) + len(resumed.reverts)
            if count:
                message = ngettext("%d waiting edit queued.", "%d waiting edits queued.", count)
                self.message_user(request, message % count, messages.INFO)


@admin.register(WriteThrottle)
class WriteThrottleAdmin(admin.ModelAdmin):
    list_display = ["user", "next_allowed_at"]
    readonly_fields = ["user", "next_allowed_at", "version"]

    def has_add_permission(self, request) -> bool:
        return False

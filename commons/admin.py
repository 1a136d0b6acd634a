from django.contrib import admin

from .models import DepictsEdit, WriteSwitch


@admin.register(DepictsEdit)
class DepictsEditAdmin(admin.ModelAdmin):
    list_display = [
        "image",
        "qid",
        "action",
        "state",
        "project",
        "approved_by",
        "sent_by",
        "approved_at",
        "sent_at",
    ]
    list_filter = ["state", "action", "project", "approved_by", "sent_by"]
    search_fields = ["qid", "image__title", "statement_id"]
    list_select_related = ["image", "project", "approved_by", "sent_by"]
    raw_id_fields = ["image", "face", "project"]
    readonly_fields = [
        "statement_id",
        "approved_by",
        "sent_by",
        "approved_at",
        "queued_at",
        "sent_at",
        "revision",
        "attempts",
        "error",
    ]


@admin.register(WriteSwitch)
class WriteSwitchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "reason", "changed_by", "changed_at"]

    def has_add_permission(self, request):
        return not WriteSwitch.objects.exists()

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)

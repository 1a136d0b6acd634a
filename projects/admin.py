from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TabbedTranslationAdmin

from . import services
from .models import Heartbeat, Membership, Project

User = get_user_model()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(TabbedTranslationAdmin):
    list_display = ["__str__", "qid", "category", "owner", "state", "writes_enabled", "created_at"]
    list_filter = ["state", "writes_enabled", "created_at"]
    search_fields = ["qid", "category", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["crawl_cursor", "crawled_at", "created_at", "updated_at"]
    inlines = [MembershipInline]
    actions = ["pause", "archive", "stop_writes"]

    @admin.action(description=_("Pause the selected projects"))
    def pause(self, request, queryset):
        count = services.projects_pause(projects=queryset)
        self.message_user(
            request, ngettext("%d project paused.", "%d projects paused.", count) % count
        )

    @admin.action(description=_("Archive the selected projects"))
    def archive(self, request, queryset):
        count = services.projects_archive(projects=queryset)
        self.message_user(
            request, ngettext("%d project archived.", "%d projects archived.", count) % count
        )

    @admin.action(description=_("Stop all writes of the selected projects"))
    def stop_writes(self, request, queryset):
        count = queryset.update(writes_enabled=False)
        self.message_user(
            request,
            ngettext("Writes stopped for %d project.", "Writes stopped for %d projects.", count)
            % count,
            messages.WARNING,
        )


admin.site.unregister(User)


@admin.register(User)
class WikiVisageUserAdmin(UserAdmin):
    actions = ["deactivate"]

    @admin.action(description=_("Deactivate the selected users and cancel their queued edits"))
    def deactivate(self, request, queryset):
        count = services.users_deactivate(users=queryset)
        self.message_user(
            request, ngettext("%d user deactivated.", "%d users deactivated.", count) % count
        )


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

"""The projects app's own tables in the admin; the moderation pages are in ``wikivisage.admin``."""

from django.contrib import admin

from .models import GroupPerson, ListedFile, Membership, ProjectGroup


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]


@admin.register(ListedFile)
class ListedFileAdmin(admin.ModelAdmin):
    """The lines of projects over a list of files, and what Commons said of each at the last
    crawl: written by the crawl only, so moderators read them here (filter by what went
    wrong). A list may hold 20,000 lines: a list page, not an inline on the project."""

    list_display = ["project", "position", "line", "state", "title", "pageid", "checked_at"]
    list_filter = ["state"]
    list_select_related = ["project"]
    search_fields = ["line", "title"]
    ordering = ["project", "position"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GroupPersonInline(admin.TabularInline):
    model = GroupPerson
    extra = 0
    autocomplete_fields = ["project"]
    ordering = ["position"]


@admin.register(ProjectGroup)
class ProjectGroupAdmin(admin.ModelAdmin):
    """Groups of people: each person's project is an ordinary project (moderated as one)."""

    list_display = ["name", "owner", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username"]
    autocomplete_fields = ["owner"]
    inlines = [GroupPersonInline]

"""Moderation in the admin: projects with their crawl and detection progress, users, and
the withhold list (saving an entry cancels the pending edits it names, which are depicts').

The project list combines the projects app with the faces (progress) and pending edits
(resuming writes) of each project, so it lives with the site, above both.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TabbedTranslationAdmin

from depicts.models import DepictsEdit
from depicts.services.cancel import edits_cancel, users_deactivate
from depicts.services.resume import edits_resume
from faces.models import Face, Image, ProjectImage
from faces.services.withholding import withholding_apply, withholding_recrawl
from projects.models import Membership, Project, Sensitivity, Withholding

User = get_user_model()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(TabbedTranslationAdmin):
    list_display = [
        "__str__",
        "qid",
        "looks_in",
        "owner",
        "state",
        "writes_enabled",
        "moderation",
        "moderator_writes_stopped",
        "images_found",
        "images_processed",
        "image_errors",
        "faces_found",
        "created_at",
    ]
    list_filter = [
        "state",
        "scope",
        "writes_enabled",
        "moderation",
        "moderator_writes_stopped",
        "share_confirmed_faces",
        "created_at",
    ]
    search_fields = ["qid", "category", "search_query", "uploads_user", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    # A moderator's decisions change only through the actions below, which record who and when.
    readonly_fields = [
        "scope",  # a category, list, search or uploader is chosen once, on the new-project page
        "search_query",
        "uploads_user",
        "listed_count",
        "moderation",
        "moderator_writes_stopped",
        "moderated_by",
        "moderated_at",
        "crawl_cursor",
        "crawled_at",
        "created_at",
        "updated_at",
    ]
    inlines = [MembershipInline]
    actions = ["pause", "archive", "lift_moderation", "stop_writes", "resume_writes"]

    def get_queryset(self, request):
        return _with_progress(super().get_queryset(request))

    @admin.display(description=_("looks in"), ordering="scope")
    def looks_in(self, project):
        return project.scope_text

    @admin.display(description=_("images"), ordering="images_total")
    def images_found(self, project):
        return project.images_total

    @admin.display(description=_("processed"), ordering="images_done")
    def images_processed(self, project):
        return project.images_done

    @admin.display(description=_("errors"), ordering="images_failed")
    def image_errors(self, project):
        return project.images_failed

    @admin.display(description=_("faces"), ordering="faces_total")
    def faces_found(self, project):
        return project.faces_total

    @admin.action(description=_("Pause the selected projects"))
    def pause(self, request, queryset):
        count = queryset.moderate(by=request.user, moderation=Project.Moderation.PAUSED)
        self.message_user(
            request, ngettext("%d project paused.", "%d projects paused.", count) % count
        )

    @admin.action(description=_("Archive the selected projects"))
    def archive(self, request, queryset):
        count = queryset.moderate(by=request.user, moderation=Project.Moderation.ARCHIVED)
        self.message_user(
            request, ngettext("%d project archived.", "%d projects archived.", count) % count
        )

    @admin.action(description=_("Lift the moderator's pause or archive of the selected projects"))
    def lift_moderation(self, request, queryset):
        count = queryset.moderate(by=request.user, moderation=Project.Moderation.NONE)
        _resume_edits(queryset)
        self.message_user(
            request,
            ngettext(
                "Pause or archive lifted for %d project.",
                "Pause or archive lifted for %d projects.",
                count,
            )
            % count,
        )

    @admin.action(description=_("Stop all writes of the selected projects"))
    def stop_writes(self, request, queryset):
        count = queryset.moderate(by=request.user, moderator_writes_stopped=True)
        self.message_user(
            request,
            ngettext("Writes stopped for %d project.", "Writes stopped for %d projects.", count)
            % count,
            messages.WARNING,
        )

    @admin.action(description=_("Resume writes of the selected projects"))
    def resume_writes(self, request, queryset):
        count = queryset.moderate(by=request.user, moderator_writes_stopped=False)
        _resume_edits(queryset)
        self.message_user(
            request,
            ngettext("Writes resumed for %d project.", "Writes resumed for %d projects.", count)
            % count,
        )


def _resume_edits(projects) -> None:
    """Edits that waited while writes were off get their tasks again at once (those of a
    project still stopped by its owner, or by another hold, keep waiting)."""
    edits_resume(edits=DepictsEdit.objects.filter(project__in=projects.values("pk")), force=True)


def _count(queryset, *, of: str = "pk"):
    """A correlated COUNT subquery: no joins that would multiply the other counts."""
    counted = queryset.order_by().values(of).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _with_progress(projects):
    links = ProjectImage.objects.filter(project=OuterRef("pk"))
    faces = Face.objects.filter(
        superseded_by__isnull=True, image__project_links__project=OuterRef("pk")
    )
    finished = [Image.State.DONE, Image.State.ERROR]
    return projects.annotate(
        images_total=_count(links, of="project"),
        images_done=_count(links.filter(image__state__in=finished), of="project"),
        images_failed=_count(links.filter(image__state=Image.State.ERROR), of="project"),
        faces_total=_count(faces.annotate(one=Value(1)), of="one"),
    )


class ModeratorListAdmin(admin.ModelAdmin):
    """A list moderators keep (``projects.models.ModeratorListEntry``): who set an entry is
    who saved it."""

    list_display = ["value", "kind", "reason", "set_by", "set_at"]
    list_filter = ["kind", "set_at"]
    search_fields = ["value", "reason"]
    list_select_related = ["set_by"]
    fields = ["kind", "value", "reason", "set_by", "set_at"]
    readonly_fields = ["set_by", "set_at"]

    def save_model(self, request, obj, form, change):
        obj.set_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Withholding)
class WithholdingAdmin(ModeratorListAdmin):
    """The withhold list: saving an entry also takes what it names out of every queue."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        touched = withholding_apply(withholding=obj, by=request.user)
        recrawled = withholding_recrawl(withholding=obj)
        cancelled = edits_cancel(edits=_unsent_additions(obj))
        if obj.kind == Withholding.Kind.FILE:
            message = ngettext("The file left %d project.", "The file left %d projects.", touched)
        else:
            message = ngettext("%d project archived.", "%d projects archived.", touched)
        self.message_user(request, message % touched)
        if recrawled:
            text = ngettext(
                "%d project is crawled again: the files reached only through the category "
                "leave it, and their unsent additions are cancelled.",
                "%d projects are crawled again: the files reached only through the category "
                "leave them, and their unsent additions are cancelled.",
                recrawled,
            )
            self.message_user(request, text % recrawled)
        self.message_user(
            request,
            ngettext("%d unsent edit cancelled.", "%d unsent edits cancelled.", cancelled)
            % cancelled,
        )


def _unsent_additions(withholding: Withholding):
    """Statements not yet added about a withheld file or person; undos still go (they take
    a statement away), and a withheld category's projects are archived, which holds theirs."""
    if withholding.kind == Withholding.Kind.FILE:
        about = Q(image__title=withholding.value)
    elif withholding.kind == Withholding.Kind.PERSON:
        about = Q(qid=withholding.value) | Q(project__qid=withholding.value)
    else:
        return DepictsEdit.objects.none()
    additions = DepictsEdit.objects.filter(about, action=DepictsEdit.Action.ADD)
    return additions.exclude(state=DepictsEdit.State.REVERT_QUEUED)


@admin.register(Sensitivity)
class SensitivityAdmin(ModeratorListAdmin):
    """Sensitive categories and people: their faces are approved one at a time, never in
    bulk (the suggestion grid shows them apart, with a notice)."""


admin.site.unregister(User)


@admin.register(User)
class WikiVisageUserAdmin(UserAdmin):
    actions = ["deactivate"]

    @admin.action(description=_("Deactivate the selected users and cancel their queued edits"))
    def deactivate(self, request, queryset):
        count = users_deactivate(users=queryset)
        self.message_user(
            request, ngettext("%d user deactivated.", "%d users deactivated.", count) % count
        )

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Answer, Face, Image, Label, ProjectImage, ReviewLease


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["title", "pageid", "state", "attempts", "width", "height", "processed_at"]
    list_filter = ["state", "mime"]
    search_fields = ["title", "=pageid", "=sha1", "=uploader"]
    readonly_fields = ["created_at", "updated_at", "claimed_at", "processed_at", "uploader"]


@admin.register(ProjectImage)
class ProjectImageAdmin(admin.ModelAdmin):
    list_display = ["image", "project", "source", "depicts_person"]
    list_filter = ["source", "depicts_person"]
    list_select_related = ["image", "project"]
    raw_id_fields = ["image", "project"]


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "origin",
        "found_by",
        "encoder",
        "small",
        "left",
        "top",
        "width",
        "height",
    ]
    list_filter = ["origin", "found_by", "encoder", "small"]
    list_select_related = ["image"]
    raw_id_fields = ["image", "superseded_by", "created_by"]
    search_fields = ["image__title"]
    # Which detectors found the face, and which model encoded it: facts of detection.
    readonly_fields = ["found_by", "encoder"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["face", "project", "verdict", "source", "score", "user", "created_at"]
    list_filter = ["source", "verdict"]
    list_select_related = ["face__image", "project", "user"]
    raw_id_fields = ["face", "project", "user"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    """Every answer a reviewer gave: an audit trail, read here, never edited or deleted."""

    list_display = ["face", "project", "user", "verdict", "created_at", "undone_at"]
    list_filter = ["verdict"]
    list_select_related = ["face__image", "project", "user"]
    raw_id_fields = ["face", "project", "user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReviewLease)
class ReviewLeaseAdmin(admin.ModelAdmin):
    list_display = ["face", "project", "user", "expires_at"]
    raw_id_fields = ["face", "project", "user"]

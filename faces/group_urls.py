"""Routes of a group of people's pages, under ``projects/groups/<pk>/`` (mounted by
``wikivisage.urls`` in the ``projects`` namespace)."""

from django.urls import path

from . import group_views

urlpatterns = [
    path("", group_views.group_detail, name="group"),
    path("who/", group_views.who, name="who"),
    path("who/next.json", group_views.who_next, name="who-next"),
    path("who/answer.json", group_views.who_answer, name="who-answer"),
    path("who/undo.json", group_views.who_undo, name="who-undo"),
    path("who/shared.json", group_views.who_shared, name="who-shared"),
]

"""Routes of the review pages, under ``projects/<pk>/`` (mounted by ``wikivisage.urls``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("classify/", views.classify, name="classify"),
    path("classify/next.json", views.next_question, name="next"),
    path("classify/answer.json", views.answer, name="answer"),
    path("classify/pick.json", views.pick, name="pick"),
    path("classify/undo.json", views.undo, name="undo"),
    path("classify/draw.json", views.draw, name="draw"),
    path("classify/correct.json", views.correct, name="correct"),
]

"""The read API's addresses (``api:``), each documented in docs/openapi.yaml."""

from django.urls import path

from . import views

app_name = "api"
urlpatterns = [
    path("files/suggestions.json", views.file_suggestions, name="file-suggestions"),
    path(
        "projects/<int:pk>/suggestions.json",
        views.project_suggestions,
        name="project-suggestions",
    ),
]

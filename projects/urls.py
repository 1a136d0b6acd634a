from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/status.json", views.project_status, name="status"),
]

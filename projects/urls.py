from django.urls import include, path

from faces import urls as faces_urls

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.project_new, name="new"),
    path("people.json", views.person_search, name="people"),
    path("person.json", views.person_check, name="person"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/status.json", views.project_status, name="status"),
    path("<int:pk>/settings/", views.project_settings, name="settings"),
    path("<int:pk>/members/", views.member_invite, name="member-invite"),
    path("<int:pk>/members/<int:user_id>/remove/", views.member_remove, name="member-remove"),
    path("<int:pk>/export/answers.csv", views.export_answers, name="export-answers"),
    path("<int:pk>/export/edits.csv", views.export_edits, name="export-edits"),
    # The review pages live in the faces app; their names join this namespace.
    path("<int:pk>/", include(faces_urls.urlpatterns)),
]

"""Routes of the projects app's own pages, under ``projects/``.

``wikivisage.urls`` mounts them in the ``projects`` namespace, beside the site's project
pages (dashboard, project page, exports) and the review pages of faces.
"""

from django.urls import path

from . import depicted, group_views, views

urlpatterns = [
    path("new/", views.project_new, name="new"),
    path("groups/new/", group_views.group_new, name="group-new"),
    path("people.json", views.person_search, name="people"),
    path("person.json", views.person_check, name="person"),
    path("estimate.json", views.category_estimate, name="estimate"),
    path("search-estimate.json", views.search_estimate, name="search-estimate"),
    path("files.json", views.file_list_check, name="file-list-check"),
    path("depicted.json", depicted.depicted_people, name="depicted-people"),
    path("<int:pk>/archive/", views.project_archive, name="archive"),
    path("<int:pk>/restore/", views.project_restore, name="restore"),
    path("<int:pk>/delete/", views.project_delete, name="delete"),
    path("<int:pk>/members/", views.member_invite, name="member-invite"),
    path("<int:pk>/members/<int:user_id>/remove/", views.member_remove, name="member-remove"),
]

"""Routes of the pending edits.

``urlpatterns`` (namespace ``depicts``): the send page, included under
``projects/<int:project_pk>/edits/``. ``grid_urlpatterns``: the suggestion grid, included under
``projects/<int:pk>/``; its names join the ``projects`` namespace beside the review pages
(``projects:suggestions``), as the site's urls mount it. ``group_urlpatterns``: a group's send
page, included under ``projects/groups/<int:pk>/`` (``projects:group-send``).
"""

from django.urls import path

from . import group_views, views

app_name = "depicts"

urlpatterns = [
    path("", views.send_page, name="send"),
    path("send/", views.send_confirm, name="confirm"),
    path("states.json", views.edit_states, name="states"),
    path("<int:edit_pk>/approve/", views.removal_approve, name="approve-removal"),
    path(
        "contradicted/<int:face_pk>/remove/",
        views.contradiction_settle,
        {"remove": True},
        name="remove-contradicted",
    ),
    path(
        "contradicted/<int:face_pk>/keep/",
        views.contradiction_settle,
        {"remove": False},
        name="keep-contradicted",
    ),
    path("<int:edit_pk>/withdraw/", views.edit_withdraw, name="withdraw"),
    path("batches/<uuid:batch>/revert/", views.batch_revert, name="revert"),
]

grid_urlpatterns = [
    path("suggestions/", views.suggestions, name="suggestions"),
    path("suggestions/approve/", views.suggestions_approve, name="suggestions-approve"),
    path("suggestions/reject/", views.suggestions_reject, name="suggestions-reject"),
    path("suggestions/keep/", views.suggestions_keep, name="suggestions-keep"),
    path("suggestions/doubts/", views.suggestions_doubts, name="suggestions-doubts"),
]

group_urlpatterns = [
    path("send/", group_views.group_send, name="group-send"),
]

"""The send page of a project; included under ``projects/<int:project_pk>/edits/``."""

from django.urls import path

from . import views

app_name = "commons"

urlpatterns = [
    path("", views.send_page, name="send"),
    path("send/", views.send_confirm, name="confirm"),
    path("states.json", views.edit_states, name="states"),
    path("<int:edit_pk>/approve/", views.removal_approve, name="approve-removal"),
    path("<int:edit_pk>/withdraw/", views.edit_withdraw, name="withdraw"),
    path("batches/<uuid:batch>/revert/", views.batch_revert, name="revert"),
]

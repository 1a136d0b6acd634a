from functools import cached_property

from django.http import HttpRequest

from .models import Notification


class UnreadNotifications:
    """The bell's number: one query, only on a page that shows it, however often it is read."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def unread(self) -> int:
        return Notification.objects.shown_to(self.request.user).unread().count()


def notifications(request: HttpRequest) -> dict[str, object]:
    return {"notifications": UnreadNotifications(request)}

"""Worker health in the admin's pages: the banner of a stalled write queue."""

from __future__ import annotations

from django import template

from wikivisage.health.status import QueueStatus, write_queue_stalled

register = template.Library()


@register.simple_tag
def write_queue_stall() -> QueueStatus | None:
    """The write queue's status while it is stalled, else ``None`` (a database read only)."""
    return write_queue_stalled()

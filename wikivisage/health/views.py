"""The worker health pages: /health (people), /health.json (monitoring), the ping."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from core.ratelimit import over_limit, rate_limited, too_many

from . import services
from .models import Heartbeat
from .status import last_heartbeat, queue_statuses, stale_seconds


@require_safe
def health(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = last_heartbeat()
    # Worker host names, pids and failed tasks tell how the service is built: staff only.
    internals = request.user.is_staff
    data = {
        "database": "ok",
        "worker_seen": beat.answered_at.isoformat() if beat and beat.answered_at else None,
    }
    if internals:
        data["worker"] = beat.worker if beat else None
    if request.headers.get("Accept", "").startswith("application/json"):
        # The container's liveness check: the web app and its database, never the workers.
        return JsonResponse(data)
    if over_limit(request, "health", per_minute=60):  # the page asks the broker: bounded
        return too_many(request)
    context = {
        "health": data,
        "queues": queue_statuses(),
        "stale_after": stale_seconds(),
        "internals": internals,
    }
    return render(request, "health.html", context)


@require_safe
@rate_limited("health-json", per_minute=60)
def health_json(request: HttpRequest) -> HttpResponse:
    """For monitoring: every queue's health, and 503 while a queue has no worker answering."""
    queues = queue_statuses()
    stale = [status.queue for status in queues if status.stale]
    body = {
        "healthy": not stale,
        "stale_queues": stale,
        "stale_after_seconds": stale_seconds(),
        "queues": {
            status.queue: status.as_dict(internals=request.user.is_staff) for status in queues
        },
    }
    return JsonResponse(body, status=503 if stale else 200)


# A ping the workers have not answered within this is taken for lost: another may be sent.
PING_PENDING_SECONDS = 60


@require_POST
@rate_limited("health-ping", per_minute=10)
def health_ping(request: HttpRequest) -> HttpResponse:
    """Anyone may ping the workers, but only one ping (a row and a task) is out at a time."""
    if not _ping_pending():
        services.heartbeat_send()
    return redirect("health")


def _ping_pending() -> bool:
    # Two pings at the same instant may both go; the per-address limit bounds that.
    since = timezone.now() - timedelta(seconds=PING_PENDING_SECONDS)
    return Heartbeat.objects.filter(answered_at__isnull=True, sent_at__gte=since).exists()

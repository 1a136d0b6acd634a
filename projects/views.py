from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .access import project_for


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("projects:dashboard")
    return render(request, "home.html")


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = selectors.last_heartbeat()
    data = {
        "database": "ok",
        "worker_seen": beat.answered_at.isoformat() if beat and beat.answered_at else None,
        "worker": beat.worker if beat else None,
    }
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(data)
    return render(request, "health.html", {"health": data})


@require_POST
def health_ping(request: HttpRequest) -> HttpResponse:
    services.heartbeat_send()
    return redirect("health")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    projects = selectors.dashboard_projects(user=request.user)
    return render(request, "projects/dashboard.html", {"projects": projects})


@login_required
@require_GET
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_for(request, pk)
    progress = selectors.project_progress(project=project)
    return render(request, "projects/detail.html", {"project": project, "progress": progress})


@login_required
@require_GET
def project_status(request: HttpRequest, pk: int) -> JsonResponse:
    project = project_for(request, pk)
    progress = selectors.project_progress(project=project)
    return JsonResponse({"state": project.state, **progress.as_dict()})

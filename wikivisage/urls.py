from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from social_django import views as social_views

from core.ratelimit import rate_limited
from depicts import urls as depicts_urls
from faces import group_urls
from faces import urls as faces_urls
from projects import notification_views
from projects import urls as projects_urls

from . import views
from .health import views as health_views
from .uploads import views as uploads_views

# The pages that combine apps, under ``projects/`` beside the projects app's own pages.
project_pages = [
    path("", views.dashboard, name="dashboard"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/status.json", views.project_status, name="status"),
    path("<int:pk>/learner.json", views.project_learner, name="learner"),
    path("<int:pk>/settings/", views.project_settings, name="settings"),
    path("<int:pk>/export/answers.csv", views.export_answers, name="export-answers"),
    path("<int:pk>/export/edits.csv", views.export_edits, name="export-edits"),
    path(
        "<int:pk>/notifications/",
        notification_views.notification_settings,
        name="notification-settings",
    ),
]

# The reader's notifications, across their projects (the bell in the top bar).
notification_pages = [
    path("", notification_views.notification_list, name="list"),
    path("<int:pk>/open/", notification_views.notification_open, name="open"),
    path("read/", notification_views.notifications_read_all, name="read-all"),
    path("unread/", notification_views.notification_count, name="count"),
]


# Logging in, per address: each start of the Wikimedia login asks Wikimedia for a request
# token, and each password tried is a guess. The login page itself (GET) is not counted: an
# ended session sends every request of an open review page there.
login_limit = rate_limited("login", per_minute=20, methods=("POST",))


class FaviconRedirect(RedirectView):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's).

    Looked up per request, not at import: in production the hashed name comes from the
    manifest that collectstatic writes, which a management command may run without.
    """

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("favicon.svg")


urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", FaviconRedirect.as_view()),
    path("health", health_views.health, name="health"),
    path("health.json", health_views.health_json, name="health-json"),
    path("health/ping", health_views.health_ping, name="health-ping"),
    path("login/", login_limit(auth_views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # social-auth's login start, limited: resolved before the same address in its own urls
    # below, which still names it (social:begin).
    path("oauth/login/<str:backend>/", login_limit(social_views.auth)),
    path("oauth/", include("social_django.urls", namespace="social")),
    # One ``projects`` namespace for every page of a project, whichever app serves it: the
    # site's (projects:detail), the projects app's (projects:new), the review pages of
    # faces (projects:classify) and the suggestion grid of depicts (projects:suggestions).
    path(
        "projects/",
        include(
            (
                [
                    *project_pages,
                    *projects_urls.urlpatterns,
                    path("<int:pk>/", include(faces_urls.urlpatterns)),
                    path("groups/<int:pk>/", include(group_urls.urlpatterns)),
                    path("groups/<int:pk>/", include(depicts_urls.group_urlpatterns)),
                    path("<int:pk>/", include(depicts_urls.grid_urlpatterns)),
                ],
                "projects",
            )
        ),
    ),
    path("projects/<int:project_pk>/edits/", include("depicts.urls")),
    path("notifications/", include((notification_pages, "notifications"))),
    # An uploader's own view of the suggestions on their files, across projects.
    path("my-uploads/", uploads_views.my_uploads, name="uploads"),
    path("my-uploads/answer/", uploads_views.upload_answer, name="uploads-answer"),
    path("my-uploads/notices/", uploads_views.upload_notices, name="uploads-notices"),
    path("api/v1/", include("wikivisage.api.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "WikiVisage"
admin.site.site_title = "WikiVisage"
if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

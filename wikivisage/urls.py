from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from projects import views as project_views


class FaviconRedirect(RedirectView):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's).

    Looked up per request, not at import: in production the hashed name comes from the
    manifest that collectstatic writes, which a management command may run without.
    """

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("favicon.svg")


urlpatterns = [
    path("", project_views.home, name="home"),
    path("favicon.ico", FaviconRedirect.as_view()),
    path("health", project_views.health, name="health"),
    path("health/ping", project_views.health_ping, name="health-ping"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("projects/", include("projects.urls")),
    path("projects/<int:project_pk>/edits/", include("commons.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "WikiVisage"
admin.site.site_title = "WikiVisage"
if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

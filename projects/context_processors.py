from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {"oauth_enabled": settings.OAUTH_ENABLED}

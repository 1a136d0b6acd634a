"""What every page of the site shows, whichever app renders it."""

from django.http import HttpRequest

from commons.oauth import oauth_configured


def site(request: HttpRequest) -> dict[str, object]:
    return {"oauth_enabled": oauth_configured()}

"""The errors of a call to an outside service (Wikimedia, the face model service).

Each door raises its own subclasses (``commons.client.CommonsError``,
``faces.modelclient.ModelServiceUnavailable``); a caller that only needs to know whether to try
again later catches these two, whichever service failed (STYLE.md rule 6). Django-free.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request to an outside service failed; ``code`` names the failure (the API's own
    error code, or ``http-<status>``), ``retry_after`` the pause the service asked for."""

    def __init__(self, code: str, info: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {info}" if info else code)
        self.code = code
        self.info = info
        self.retry_after = retry_after


class TransientError(ServiceError):
    """The service refused for now (rate limit, overload, 5xx) or the network failed."""


class PermanentError(ServiceError):
    """Retrying the same request cannot succeed."""

"""The session engine without a shared cache: Django's database sessions, with the read every
request makes (the session by its key, not expired) compiled once per process
(``core.prepared``). With ``CACHE_URL`` the settings take ``cached_db`` instead, which reads
the database only on a miss."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import router
from django.db.models import QuerySet
from django.utils import timezone

from core.prepared import PreparedRead, adapt_datetime


def session_queryset(*, session_key: str, now: datetime) -> QuerySet[Session]:
    """What ``db.SessionStore._get_session_from_db`` reads (``get()``: no ordering, at most
    21 rows; the key is the primary key)."""
    return Session.objects.filter(session_key=session_key, expire_date__gt=now).order_by()[:21]


SESSION = PreparedRead(
    build=session_queryset,
    values=lambda connection, *, session_key, now: {
        "key": session_key,
        "now": adapt_datetime(connection, now),
    },
    shape=lambda **_inputs: (),
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if self.model is not Session or not isinstance(key, str) or not key:
            return super()._get_session_from_db()  # type: ignore[misc]  # not in the stubs
        sessions = SESSION.objects(
            using=router.db_for_read(Session), session_key=key, now=timezone.now()
        )
        if len(sessions) > 1:
            raise Session.MultipleObjectsReturned  # as get() would (never: the primary key)
        if sessions:
            return sessions[0]
        self._session_key = None  # as db.SessionStore does when there is none
        return None

"""Django's SQLite backend, which makes the database file's folder before it opens the file.

The settings create no folder at import (a build, ``manage.py check`` or a Redis-only process
writes nothing), and ``connection_created`` comes too late: the file is opened by then. So
the folder (``WIKIVISAGE_DATA_DIR`` by default) is made here, by whichever process opens the
database first: ``manage.py migrate``, the web app, a worker, or the test run's test database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        database = str(conn_params["database"])
        # ":memory:" and "file:…" URIs (in-memory test databases) name no folder.
        if database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return super().get_new_connection(conn_params)

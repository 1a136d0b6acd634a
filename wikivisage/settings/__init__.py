"""WikiVisage's settings, as every process loads them (manage.py, gunicorn, Celery): base.py.

The test suite selects ``wikivisage.settings.test`` instead, which extends them.
"""

from .base import *  # noqa: F403

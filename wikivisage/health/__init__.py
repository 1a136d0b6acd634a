"""Worker health, the site's: is every Celery queue answering, and is the write queue moving?

- ``models``: the web process's pings (``Heartbeat``) and one row per queue (``QueueHealth``);
- ``status``: the reads for /health, /health.json and the admin, and the write-stall watch;
- ``services``: send and answer a ping;
- ``tasks``: the heartbeats beat sends to each queue, the ping's answer, the stall watch;
- ``views``, ``admin``, ``templatetags.worker_health``: the pages.

``wikivisage/celery.py`` stamps each heartbeat when it leaves and counts failed tasks here.
"""

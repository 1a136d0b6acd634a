"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu writes a message into the queue folder under its final name, then locks and fills the
file. A worker polling the folder (every ``WIKIVISAGE_BROKER_POLL_SECONDS``) takes any file
with that name: its lock is advisory and the reader never takes it, so a file caught between
``open`` and ``write`` is read empty, and the message is lost (the worker cannot decode it).
At kombu's 1 s poll that was rare; at 0.02 s a project's crawl message was lost in one of a
few dozen runs. Here a message is written under a name no reader takes, then renamed into
place: a rename within one folder is atomic, so a reader sees the whole file or none.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# kombu's reader takes files named "<stamp>_<uuid>.<queue>.msg"; nothing else in the folder.
PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    # kombu's own filesystem Channel already differs from its base class's signature.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Put a message onto ``queue``, named as kombu names it, once it is complete."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f"{uuid.uuid4()}{PARTIAL_SUFFIX}")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self) -> dict[str, object]:
        """None: a folder has no host (kombu's default, "localhost", only had every connection
        log "No hostname was supplied")."""
        return {}


# What settings name as CELERY_BROKER_TRANSPORT for a filesystem:// broker URL.
TRANSPORT = f"{__name__}:Transport"

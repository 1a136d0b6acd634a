"""The embedded broker hands a worker whole messages only (wikivisage/broker.py).

A worker polls the queue folder while the web process writes into it. Each test reads the
folder with kombu's own reader at the worst moment: while the writer is filling the file.
"""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from packaging.requirements import Requirement

from wikivisage import broker
from wikivisage.settings.base import _filesystem_broker_options

MESSAGE = {"body": "crawl project 7"}


def channels(folder: Path, transport: str) -> tuple[filesystem.Channel, filesystem.Channel]:
    options = _filesystem_broker_options(folder)
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        Path(options[key]).mkdir(parents=True, exist_ok=True)
    writer = Connection("filesystem://", transport=transport, transport_options=options)
    reader = Connection("filesystem://", transport=transport, transport_options=options)
    return writer.channel(), reader.channel()


def read_while_writing(module, monkeypatch, reader) -> list[object]:
    """Make the writer's encoding step run one poll of the reader first."""
    seen: list[object] = []

    def encode_after_a_poll(value):
        try:
            seen.append(reader._get("crawl"))
        except filesystem.Empty:
            seen.append(None)
        except json.JSONDecodeError as error:
            seen.append(error)
        return str_to_bytes(value)

    monkeypatch.setattr(module, "str_to_bytes", encode_after_a_poll)
    return seen


def test_the_app_sends_through_the_whole_message_transport_on_the_embedded_broker():
    from wikivisage.celery import app

    embedded = settings.CELERY_BROKER_URL.startswith("filesystem://")
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport) == embedded


def test_a_worker_polling_while_a_message_is_written_does_not_take_it_half_written(
    tmp_path, monkeypatch
):
    writer, reader = channels(tmp_path, broker.TRANSPORT)
    seen = read_while_writing(broker, monkeypatch, reader)
    writer._put("crawl", MESSAGE)
    assert seen == [None]  # nothing to take yet, and nothing taken
    assert reader._get("crawl") == MESSAGE
    assert list((tmp_path / "queue").iterdir()) == []


def test_kombus_own_writer_loses_that_message(tmp_path, monkeypatch):
    """Why wikivisage/broker.py exists; when kombu fixes its writer, this fails: drop ours."""
    writer, reader = channels(tmp_path, "filesystem")
    seen = read_while_writing(filesystem, monkeypatch, reader)
    writer._put("crawl", MESSAGE)
    assert len(seen) == 1 and isinstance(seen[0], json.JSONDecodeError)
    with pytest.raises(filesystem.Empty):
        reader._get("crawl")  # gone: the reader removed the empty file it took


def test_each_message_reaches_its_own_queue_once(tmp_path):
    writer, reader = channels(tmp_path, broker.TRANSPORT)
    for number in range(3):
        writer._put("crawl", {"n": number})
    writer._put("detect", {"n": "other queue"})
    assert sorted(reader._get("crawl")["n"] for _ in range(3)) == [0, 1, 2]
    with pytest.raises(filesystem.Empty):
        reader._get("crawl")
    assert reader._get("detect") == {"n": "other queue"}


def test_an_embedded_connection_asks_for_no_host(tmp_path, caplog):
    """A folder has no host: kombu's default one only made each connection log a warning."""
    options = _filesystem_broker_options(tmp_path)
    connection = Connection("filesystem://", transport=broker.TRANSPORT, transport_options=options)
    with caplog.at_level("WARNING"):
        assert connection.info()["hostname"] is None
        connection.clone().release()
    assert not caplog.records


def test_kombu_is_pinned_to_the_version_whose_private_put_the_broker_overrides():
    """broker.Channel replaces kombu's private filesystem Channel._put: a new kombu may change
    it, so pyproject.toml pins one version (with the upstream issue), the one installed."""
    pyproject = tomllib.loads((Path(settings.BASE_DIR) / "pyproject.toml").read_text())
    (kombu,) = [
        r for r in map(Requirement, pyproject["project"]["dependencies"]) if r.name == "kombu"
    ]
    (pin,) = kombu.specifier
    assert pin.operator == "==" and pin.version == version("kombu")
    assert "_put" in vars(filesystem.Channel) and "_put" in vars(broker.Channel)

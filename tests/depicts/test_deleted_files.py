"""A file deleted on Commons after it was crawled is never written to: its edit fails with a
clear reason, once, and is not retried."""

from __future__ import annotations

import pytest

from commons.client import commons_client
from commons.files import fetch_file_infos
from commons.mediainfo import fetch_statements, set_depicts_claim
from commons.oauth import user_auth
from core.errors import PermanentError
from depicts.models import DepictsEdit
from depicts.services import sending
from depicts.tasks import write_edit
from tests.depicts.writing import (
    FRESH,
    NEVER_EDITED,
    PERSON,
    approve,
    depicts,
    no_sleep,
    queue,
    run_writes,
    send_all,
)

pytestmark = pytest.mark.django_db

pytest_plugins = ["tests.depicts.writing"]

State = DepictsEdit.State


def approved_then_deleted(commons, project, user, name: str) -> DepictsEdit:
    (edit,) = approve(commons, project, user, [name])
    commons.world.delete_file(name)
    return edit


def wbsetclaim_requests(commons) -> list:
    return commons.api_requests(site="commons", action="wbsetclaim")


def test_the_stand_in_can_delete_a_file(commons, sender):
    page = commons.world.file(FRESH[0])
    commons.world.delete_file(FRESH[0])
    with commons_client(auth=user_auth(sender)) as client:
        assert fetch_file_infos(client, pageids=[page.pageid]).missing_pageids == (page.pageid,)
        assert fetch_statements(client, pageids=[page.pageid], missing_as_empty=False) == {}
        with pytest.raises(PermanentError, match="no-such-entity"):
            set_depicts_claim(
                client,
                pageid=page.pageid,
                qid=PERSON,
                statement_id=f"{page.mid}$5e7c6d3a-0000-4000-8000-000000000000",
                region=None,
                summary="test",
            )
    assert commons.world.file(FRESH[0]) is None
    assert FRESH[0] not in [m.title for m in commons.world.members("Barack Obama")]
    assert commons.world.members("Barack Obama")  # the other files stay


@pytest.mark.parametrize("name", [FRESH[0], NEVER_EDITED])
def test_a_deleted_file_is_never_written(commons, project, sender, name):
    edit = approved_then_deleted(commons, project, sender, name)
    states = send_all(queue(project, sender, [edit]))
    edit.refresh_from_db()
    assert states == {edit.pk: State.FAILED}
    assert (edit.state, edit.error) == (State.FAILED, "the file no longer exists on Commons")
    assert commons.writes == [] and wbsetclaim_requests(commons) == []


def test_a_deleted_file_fails_once_and_is_not_retried(commons, project, sender, queued):
    edit = approved_then_deleted(commons, project, sender, FRESH[0])
    edit_ids = queue(project, sender, [edit])
    run_writes(queued)
    write_edit.apply(args=(edit.pk,), throw=True)  # a duplicate message
    edit.refresh_from_db()
    assert edit.state == State.FAILED and edit.attempts == 0
    assert [job for job in queued if job.task == "depicts.write.edit"] == []
    assert sending.edit_send(edit_id=edit_ids[0], sleep=no_sleep).state == State.FAILED
    assert commons.writes == [] and wbsetclaim_requests(commons) == []


def test_a_file_never_edited_is_still_written(commons, project, sender):
    (edit,) = approve(commons, project, sender, [NEVER_EDITED])
    send_all(queue(project, sender, [edit]))
    edit.refresh_from_db()
    assert edit.state == State.SENT
    assert depicts(commons, NEVER_EDITED) == [PERSON]

"""Counts that are true: a size estimate never says "more than 0 files"."""

from __future__ import annotations

import copy

import pytest

from commons.categories import CategoryInfo, FileEstimate
from projects.models import Project
from projects.views import estimate_text
from tests.ui.test_pages import create

pytestmark = pytest.mark.django_db


def test_a_category_whose_files_are_all_in_subcategories_is_not_said_to_hold_more_than_0(
    client_of, outsider, make_fake_commons, faces_world
):
    world = copy.deepcopy(faces_world)
    top = world["categories"]["Barack Obama"]
    world["categories"]["Barack Obama by year"] = {"files": top["files"], "subcats": []}
    world["categories"]["Barack Obama"] = {"files": [], "subcats": ["Barack Obama by year"]}
    make_fake_commons(world)
    body = create(client_of(outsider)).content.decode()
    assert Project.objects.filter(owner=outsider).exists()
    assert "more than 0" not in body
    assert "Project created. The category is being crawled now." in body


@pytest.mark.parametrize(
    ("files", "complete", "says"),
    [
        (0, False, "too many to count in a moment"),
        (12, False, "hold more than 12 files"),
        (0, True, "holds about 0 files"),
    ],
)
def test_an_estimate_says_only_what_it_counted(files, complete, says):
    root = CategoryInfo(title="Barack Obama", exists=True, files=files, subcats=3)
    estimate = FileEstimate(root=root, max_depth=2, files=files, categories=1, complete=complete)
    text = estimate_text(estimate)
    assert says in text and "more than 0" not in text
